/**
 * The web app's configuration, validated once per server process. The only place in
 * apps/web that reads `process.env`; a bad value fails with one sentence naming it.
 */
import "server-only";
import { isAbsolute, join } from "node:path";
import { type ChainEnv, LOCAL_CHAIN_ID, parseChainEnv } from "@opencohort/chain";
import { LOCAL_DEV_NOISE_SECRET } from "@opencohort/compute";
import { type DbEnv, loadDbEnv } from "@opencohort/db";
import { type LogEnv, loadLogEnv } from "@opencohort/log";
import { z } from "zod";

/** Used only on the local chain, where nothing is secret anyway. */
const DEV_SESSION_SECRET = "opencohort-local-dev-session-secret";
const DEV_IMPORT_SECRET = "opencohort-local-dev-import-secret";

const webEnvSchema = z.object({
  /** Where browsers reach the app; SIWE messages must name this origin. */
  OPENCOHORT_WEB_ORIGIN: z
    .string()
    .default("http://127.0.0.1:3000")
    .pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) origin" })),
  /** Keys the compute engine's sticky noise; required on any chain but the local one. */
  OPENCOHORT_NOISE_SECRET: z.string().min(16, "must have at least 16 characters").optional(),
  /** Keys the HMAC of sign-in nonces; required on any chain but the local one. */
  OPENCOHORT_SESSION_SECRET: z.string().min(16, "must have at least 16 characters").optional(),
  /**
   * Proxies in front of the app whose X-Forwarded-For entry is trusted for the client IP
   * (per-IP rate limits). 1: Next's own (it sets the header from the socket only when the
   * request has none, so without a proxy that appends it a client can pick its IP); 0: no
   * client IP, per-IP limits off.
   */
  OPENCOHORT_TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(1),
  OPENCOHORT_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  OPENCOHORT_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(30_000),
  OPENCOHORT_QUERY_MEMORY_MB: z.coerce.number().int().min(64).default(1_024),
  /**
   * Compute sandbox worker processes: one researcher's long query delays only that researcher
   * while another is free. Each worker loads the datasets it serves into memory.
   */
  OPENCOHORT_QUERY_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  /** The compute sandbox's worker script (the bundle moves the engine away from it). */
  OPENCOHORT_SANDBOX_WORKER: z.string().min(1).optional(),
  /** Where dataset folders live on this host; stewards register folders inside it only. */
  OPENCOHORT_DATASET_ROOT: z
    .string()
    .refine((path) => isAbsolute(path), "must be an absolute path")
    .optional(),
  /**
   * Where source exports (OMOP CDM CSVs, FHIR Bulk NDJSON) sit for stewards to import from
   * the steward page; paths they type are resolved inside it only. Unset: no web imports.
   */
  OPENCOHORT_IMPORT_ROOT: z
    .string()
    .refine((path) => isAbsolute(path), "must be an absolute path")
    .optional(),
  /** Keys the pseudonyms of web imports (a key per steward is derived from it). */
  OPENCOHORT_IMPORT_SECRET: z.string().min(16, "must have at least 16 characters").optional(),
  /** /api/ready: how long each check (database, RPC) may take before it counts as failing. */
  OPENCOHORT_READY_TIMEOUT_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(100, "must be between 100 and 30000")
    .max(30_000, "must be between 100 and 30000")
    .default(2_000),
  /** /api/ready: how many blocks the mirrored tables may lag the (confirmed) chain head. */
  OPENCOHORT_READY_MAX_LAG_BLOCKS: z.coerce
    .number({ error: "must be a number of blocks" })
    .int("must be a whole number of blocks")
    .min(0, "must not be negative")
    .default(50),
});

export class WebEnvError extends Error {
  override name = "WebEnvError";
}

export interface WebEnv {
  chain: ChainEnv;
  db: DbEnv;
  /** e.g. "http://127.0.0.1:3000" */
  origin: string;
  /** e.g. "127.0.0.1:3000" (EIP-4361 domain) */
  host: string;
  noiseSecret: string;
  sessionSecret: string;
  trustedProxyHops: number;
  sessionTtlSeconds: number;
  /** Null: stewards cannot register dataset files through this server. */
  datasetRoot: string | null;
  /** Null: stewards cannot import exports through this server. */
  datasetImport: { root: string; secret: string } | null;
  query: { timeoutMs: number; memoryMb: number; workers: number; sandboxWorkerPath: string };
  /** /api/ready's bounds (packages/api/src/services/readiness.ts). */
  readiness: { timeoutMs: number; maxIndexerLagBlocks: number };
  /** LOG_FORMAT (human by default, json in production) and LOG_LEVEL. */
  log: LogEnv;
}

export function parseWebEnv(source: Record<string, string | undefined>): WebEnv {
  const parsed = webEnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WebEnvError(`${String(issue?.path[0])} ${issue?.message}.`);
  }
  const env = parsed.data;
  const chain = parseChainEnv(source);
  const origin = new URL(env.OPENCOHORT_WEB_ORIGIN);
  let noiseSecret = env.OPENCOHORT_NOISE_SECRET;
  if (noiseSecret === undefined) {
    if (chain.chainId !== LOCAL_CHAIN_ID) {
      throw new WebEnvError(
        `OPENCOHORT_NOISE_SECRET is required on any chain but the local one (${LOCAL_CHAIN_ID}).`,
      );
    }
    noiseSecret = LOCAL_DEV_NOISE_SECRET;
  }
  let sessionSecret = env.OPENCOHORT_SESSION_SECRET;
  if (sessionSecret === undefined) {
    if (chain.chainId !== LOCAL_CHAIN_ID) {
      throw new WebEnvError(
        `OPENCOHORT_SESSION_SECRET is required on any chain but the local one (${LOCAL_CHAIN_ID}).`,
      );
    }
    sessionSecret = DEV_SESSION_SECRET;
  }
  let datasetImport: WebEnv["datasetImport"] = null;
  if (env.OPENCOHORT_IMPORT_ROOT !== undefined) {
    const secret =
      env.OPENCOHORT_IMPORT_SECRET ??
      (chain.chainId === LOCAL_CHAIN_ID ? DEV_IMPORT_SECRET : undefined);
    if (secret === undefined) {
      throw new WebEnvError(
        `OPENCOHORT_IMPORT_SECRET is required with OPENCOHORT_IMPORT_ROOT on any chain but the local one (${LOCAL_CHAIN_ID}).`,
      );
    }
    datasetImport = { root: env.OPENCOHORT_IMPORT_ROOT, secret };
  }
  return {
    chain,
    db: loadDbEnv(source),
    origin: origin.origin,
    host: origin.host,
    noiseSecret,
    sessionSecret,
    trustedProxyHops: env.OPENCOHORT_TRUSTED_PROXY_HOPS,
    sessionTtlSeconds: env.OPENCOHORT_SESSION_TTL_SECONDS,
    datasetRoot: env.OPENCOHORT_DATASET_ROOT ?? null,
    datasetImport,
    readiness: {
      timeoutMs: env.OPENCOHORT_READY_TIMEOUT_MS,
      maxIndexerLagBlocks: env.OPENCOHORT_READY_MAX_LAG_BLOCKS,
    },
    log: loadLogEnv(source),
    query: {
      timeoutMs: env.OPENCOHORT_QUERY_TIMEOUT_MS,
      memoryMb: env.OPENCOHORT_QUERY_MEMORY_MB,
      workers: env.OPENCOHORT_QUERY_WORKERS,
      // `next start` runs in apps/web, whose node_modules links the workspace package.
      sandboxWorkerPath:
        env.OPENCOHORT_SANDBOX_WORKER ??
        join(
          process.cwd(),
          "node_modules",
          "@opencohort",
          "compute",
          "src",
          "sandbox",
          "worker.mjs",
        ),
    },
  };
}

let cached: WebEnv | undefined;

/** This process's configuration (parsed on first use). */
export function webEnv(): WebEnv {
  cached ??= parseWebEnv(process.env);
  return cached;
}
