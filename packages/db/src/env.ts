import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DatabaseConfigError } from "./errors";
import { type DatabaseTarget, parseDatabaseUrl, sqliteUrl } from "./url";

/**
 * The repository root. Relative SQLite paths in DATABASE_URL are resolved against it, not
 * against the working directory, so `file:.devstack/opencohort.db` names one file whether
 * the dev stack, a package script (cwd packages/db) or a test opens it.
 */
// Not `new URL("../../../", import.meta.url)`: bundlers (Next's Turbopack) read that as an asset.
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The dev stack's database: SQLite inside the gitignored `.devstack/` state folder. */
export const DEFAULT_DATABASE_URL = sqliteUrl(join(REPO_ROOT, ".devstack", "opencohort.db"));

const envSchema = z.object({
  // Unset and empty both mean "use the default": an empty value is what a blank line in a
  // .env file or `DATABASE_URL= cmd` gives, and never a usable URL.
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === "" ? DEFAULT_DATABASE_URL : value)),
});

export type DbEnv = {
  /** Normalised: SQLite as `file:<absolute path>`, PostgreSQL as given. */
  databaseUrl: string;
  target: DatabaseTarget;
};

/**
 * Reads and validates the database settings. The only place in this package that reads
 * the environment; everything else takes a URL as a parameter. Throws a
 * DatabaseConfigError whose message is one sentence naming DATABASE_URL.
 */
export function loadDbEnv(source: Record<string, string | undefined> = process.env): DbEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) throw new DatabaseConfigError("DATABASE_URL must be a string.");
  return resolveDatabaseUrl(parsed.data.DATABASE_URL);
}

/** Validates a database URL given explicitly (same rules and errors as DATABASE_URL). */
export function resolveDatabaseUrl(url: string): DbEnv {
  const target = parseDatabaseUrl(url, REPO_ROOT);
  return {
    databaseUrl: target.provider === "sqlite" ? sqliteUrl(target.file) : target.url,
    target,
  };
}
