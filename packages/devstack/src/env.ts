import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export const defaultStateDir = join(repoRoot, ".devstack");

const portSchema = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int(`${name} must be a whole port number`)
    .min(1024, `${name} must be between 1024 and 65535`)
    .max(65535, `${name} must be between 1024 and 65535`)
    .default(fallback);

const devstackEnvSchema = z.object({
  // Absolute, so the dataset locations stored in the database do not depend on the cwd.
  OPENCOHORT_STATE_DIR: z
    .string()
    .default(defaultStateDir)
    .transform((path) => resolve(path)),
  OPENCOHORT_ANVIL_PORT: portSchema("OPENCOHORT_ANVIL_PORT", 8545),
  OPENCOHORT_WEB_PORT: portSchema("OPENCOHORT_WEB_PORT", 3000),
  /** Use an already running chain instead of starting anvil (it must be chain 31337 with the dev accounts funded). */
  OPENCOHORT_RPC_URL: z
    .url({
      protocol: /^https?$/,
      error: "OPENCOHORT_RPC_URL must be an http(s) URL such as http://127.0.0.1:8545",
    })
    .optional(),
  DATABASE_URL: z.string().optional(),
  /** Persons per demo dataset; small by default so the first start is quick. */
  OPENCOHORT_DEMO_PERSONS: z.coerce
    .number({ error: "OPENCOHORT_DEMO_PERSONS must be a number" })
    .int("OPENCOHORT_DEMO_PERSONS must be a whole number")
    .min(100, "OPENCOHORT_DEMO_PERSONS must be at least 100")
    .max(2_000_000, "OPENCOHORT_DEMO_PERSONS must be at most 2,000,000")
    .default(4_000),
  /** Compute worker processes taking researchers' queries (each runs its own sandbox pool). */
  OPENCOHORT_WORKERS: z.coerce
    .number({ error: "OPENCOHORT_WORKERS must be a number" })
    .int("OPENCOHORT_WORKERS must be a whole number")
    .min(1, "OPENCOHORT_WORKERS must be at least 1")
    .max(16, "OPENCOHORT_WORKERS must be at most 16")
    .default(1),
  /**
   * Keys the person pseudonyms of datasets imported here (the demo's Eunomia and the
   * steward page's imports). Local only: a real steward keeps their own secret.
   */
  OPENCOHORT_STEWARD_SECRET: z
    .string()
    .min(16, "OPENCOHORT_STEWARD_SECRET must have at least 16 characters")
    .default("opencohort-local-dev-steward-secret"),
});

export type DevstackEnv = z.infer<typeof devstackEnvSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseDevstackEnv(source: Record<string, string | undefined>): DevstackEnv {
  const parsed = devstackEnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue?.message ?? "Invalid configuration"}.`);
  }
  if (!existsSync(join(repoRoot, "pnpm-workspace.yaml"))) {
    throw new ConfigError(
      `The dev stack must run from the OpenCohort repository (looked in ${repoRoot}).`,
    );
  }
  return parsed.data;
}
