/**
 * A configuration or connectivity problem the operator can fix. The message is exactly one
 * sentence naming the value at fault (usually DATABASE_URL) and never includes a password,
 * so entry points print `error.message` alone instead of a stack trace.
 */
export class DatabaseConfigError extends Error {
  override name = "DatabaseConfigError";
}

export function isDatabaseConfigError(error: unknown): error is DatabaseConfigError {
  return error instanceof DatabaseConfigError;
}
