/**
 * The compute worker's configuration, validated once at start. The only place in this app
 * that reads the environment; a bad value fails with one sentence naming it.
 */
import { hostname } from "node:os";
import { LOCAL_CHAIN_ID } from "@opencohort/chain";
import { LOCAL_DEV_NOISE_SECRET } from "@opencohort/compute";
import { type DbEnv, loadDbEnv } from "@opencohort/db";
import { type LogEnv, loadLogEnv } from "@opencohort/log";
import { z } from "zod";

const port = (name: string) =>
  z.coerce
    .number()
    .int(`${name} must be a whole number`)
    .min(1, `must be between 1 and 65535`)
    .max(65_535, `must be between 1 and 65535`);

const workerEnvSchema = z.object({
  /** The chain whose mirrored consents and standards queries run under. */
  OPENCOHORT_CHAIN_ID: z.coerce.number().int().positive().default(LOCAL_CHAIN_ID),
  /** Keys the sticky noise; the same value on every worker. Required off the local chain. */
  OPENCOHORT_NOISE_SECRET: z.string().min(16, "must have at least 16 characters").optional(),
  /** Wall-clock limit of one sandbox request. */
  OPENCOHORT_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(30_000),
  OPENCOHORT_QUERY_MEMORY_MB: z.coerce.number().int().min(64).default(1_024),
  /** Sandbox processes of this worker, and so the queries it runs at once. */
  OPENCOHORT_QUERY_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  /** The compute sandbox's worker script (default: the compute package's own). */
  OPENCOHORT_SANDBOX_WORKER: z.string().min(1).optional(),
  /**
   * How long one attempt may hold a query before another worker takes it over. Above the
   * longest run: by default three sandbox time limits and half a minute.
   */
  OPENCOHORT_JOB_LEASE_SECONDS: z.coerce.number().int().min(1).max(86_400).optional(),
  /** Attempts of one query (a worker killed each time) before it ends as failed. */
  OPENCOHORT_JOB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  /** Names this process in logs and in the SQLite queue's lock column. */
  OPENCOHORT_WORKER_ID: z.string().trim().min(1).max(100).optional(),
  /** Serves /health and /ready here when set (a process supervisor, a load balancer). */
  WORKER_HEALTH_PORT: port("WORKER_HEALTH_PORT").optional(),
  /** How long SIGTERM waits for the queries in hand before the process exits. */
  WORKER_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
});

export interface WorkerEnv {
  chainId: number;
  noiseSecret: string;
  db: DbEnv;
  log: LogEnv;
  query: { timeoutMs: number; memoryMb: number; workers: number; sandboxWorkerPath?: string };
  jobs: { leaseSeconds: number; maxAttempts: number; workerId: string };
  healthPort?: number;
  drainMs: number;
}

export class WorkerEnvError extends Error {
  override name = "WorkerEnvError";
}

export function loadWorkerEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  const parsed = workerEnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkerEnvError(`${String(issue?.path[0])} ${issue?.message}.`);
  }
  const env = parsed.data;
  let noiseSecret = env.OPENCOHORT_NOISE_SECRET;
  if (noiseSecret === undefined) {
    if (env.OPENCOHORT_CHAIN_ID !== LOCAL_CHAIN_ID) {
      throw new WorkerEnvError(
        `OPENCOHORT_NOISE_SECRET is required on any chain but the local one (${LOCAL_CHAIN_ID}).`,
      );
    }
    noiseSecret = LOCAL_DEV_NOISE_SECRET;
  }
  const timeoutSeconds = Math.ceil(env.OPENCOHORT_QUERY_TIMEOUT_MS / 1_000);
  return {
    chainId: env.OPENCOHORT_CHAIN_ID,
    noiseSecret,
    db: loadDbEnv(source),
    log: loadLogEnv(source),
    query: {
      timeoutMs: env.OPENCOHORT_QUERY_TIMEOUT_MS,
      memoryMb: env.OPENCOHORT_QUERY_MEMORY_MB,
      workers: env.OPENCOHORT_QUERY_WORKERS,
      ...(env.OPENCOHORT_SANDBOX_WORKER === undefined
        ? {}
        : { sandboxWorkerPath: env.OPENCOHORT_SANDBOX_WORKER }),
    },
    jobs: {
      leaseSeconds: env.OPENCOHORT_JOB_LEASE_SECONDS ?? 3 * timeoutSeconds + 30,
      maxAttempts: env.OPENCOHORT_JOB_MAX_ATTEMPTS,
      workerId: env.OPENCOHORT_WORKER_ID ?? `${hostname()}-${process.pid}`,
    },
    ...(env.WORKER_HEALTH_PORT === undefined ? {} : { healthPort: env.WORKER_HEALTH_PORT }),
    drainMs: env.WORKER_DRAIN_MS,
  };
}
