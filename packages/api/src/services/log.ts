/**
 * What the API writes to the server log, and what it never writes. Refusals are logged with
 * the rule that refused and the reference the researcher sees (a query id, a compute
 * reference id); unexpected errors with their class, code and stack frames only
 * (describeError). Never SQL text, a row value, a DuckDB or database error message, a
 * session, or the caller's address: the log is for operating the service, and is read by
 * more people than the data may be.
 */
import type { EngineLogger } from "@opencohort/compute";
import { createLogger, describeError, errorTypeOfMessage, type Logger } from "@opencohort/log";
import { TRPCError } from "@trpc/server";
import type { ApiServices } from "../context";
import { RuleError } from "../trpc";

let fallback: Logger | undefined;

/** The services' logger, or human lines on stdout/stderr when none was given (tests). */
export function apiLogger(services: Pick<ApiServices, "logger">): Logger {
  if (services.logger) return services.logger;
  fallback ??= createLogger({ name: "api", format: "human" });
  return fallback;
}

/** An unexpected failure the caller was told about by reference (e.g. a failed feasibility count). */
export class ReferencedFailure extends Error {
  constructor(readonly referenceId: string) {
    super("failed (see the reference in the log)");
    this.name = "ReferencedFailure";
  }
}

/**
 * Logs an error a procedure returned: a refusal that names a rule (budget, privacy, rate
 * limit, token scope...) at info with its code and rule; other expected answers (sign in
 * first, not found, bad input) at debug, so a signed-out page does not fill the log; anything
 * else at error with describeError of its cause.
 */
export function logProcedureError(
  logger: Logger,
  { procedure, error }: { procedure: string | undefined; error: unknown },
): void {
  const trpc = error instanceof TRPCError ? error : undefined;
  const cause = trpc?.cause ?? error;
  if (trpc && trpc.code !== "INTERNAL_SERVER_ERROR") {
    if (cause instanceof RuleError) {
      logger.info(
        { event: "refused", procedure, code: trpc.code, rule: cause.rule },
        "request refused",
      );
    } else {
      logger.debug({ event: "refused", procedure, code: trpc.code }, "request refused");
    }
    return;
  }
  logger.error(
    {
      event: "failed",
      procedure,
      ...(cause instanceof ReferencedFailure
        ? { referenceId: cause.referenceId }
        : { error: describeError(cause) }),
    },
    "request failed",
  );
}

/**
 * The compute engine's log (its reference id, stage and kind) without DuckDB's message: the
 * engine hands it over as `detail`, and it can quote the value a cast failed on. Only the
 * error class at its start ("Conversion Error") is kept.
 */
export function computeEngineLogger(logger: Logger): EngineLogger {
  const compute = logger.child({ component: "compute" });
  const safe = ({ detail, ...fields }: Record<string, unknown>) => ({
    ...fields,
    ...(typeof detail === "string" ? { detailType: errorTypeOfMessage(detail) ?? "other" } : {}),
  });
  return {
    warn: (message, detail) => compute.warn(safe(detail), message),
    error: (message, detail) => compute.error(safe(detail), message),
  };
}
