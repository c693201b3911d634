/**
 * A compute worker: takes researchers' queries from the job queue on the app database and
 * runs them in its compute sandbox pool. Run any number of them, on any machines that reach
 * the same database and the same dataset storage (docs/deploy.md).
 *
 * SIGTERM/SIGINT: stop taking jobs, let the queries in hand finish (up to WORKER_DRAIN_MS),
 * then exit 0. A query still running then (or on SIGKILL) is taken over by another worker
 * when its lease ends.
 */
import { createServer, type Server } from "node:http";
import { computeEngineLogger } from "@opencohort/api/services/log";
import {
  QUERY_QUEUE,
  type QueryJobPayload,
  startQueryWorker,
} from "@opencohort/api/services/query-execution";
import { createComputeEngine } from "@opencohort/compute";
import { isDatabaseConfigError, openDb } from "@opencohort/db";
import { openJobQueue } from "@opencohort/jobs";
import { createLogger, describeError } from "@opencohort/log";
import { loadWorkerEnv, WorkerEnvError } from "./env";

async function main(): Promise<void> {
  const env = loadWorkerEnv();
  const logger = createLogger({ name: "compute-worker", ...env.log });
  const db = await openDb(env.db.databaseUrl);
  const compute = createComputeEngine({
    logger: computeEngineLogger(logger),
    limits: {
      memoryMb: env.query.memoryMb,
      threads: 1,
      timeoutMs: env.query.timeoutMs,
      workers: env.query.workers,
    },
    noiseSecret: env.noiseSecret,
    ...(env.query.sandboxWorkerPath === undefined
      ? {}
      : { sandboxWorkerPath: env.query.sandboxWorkerPath }),
  });
  const queue = await openJobQueue<QueryJobPayload>(env.db.databaseUrl, db, {
    name: QUERY_QUEUE,
    leaseSeconds: env.jobs.leaseSeconds,
    maxAttempts: env.jobs.maxAttempts,
    workerId: env.jobs.workerId,
  });
  await startQueryWorker({ db, compute, chainId: env.chainId, logger }, queue, {
    concurrency: env.query.workers,
  });
  const health = env.healthPort === undefined ? undefined : await serveHealth(env.healthPort, db);
  logger.info(
    {
      event: "worker-started",
      workerId: env.jobs.workerId,
      queue: queue.provider,
      concurrency: env.query.workers,
      leaseSeconds: env.jobs.leaseSeconds,
      ...(health ? { healthPort: health.port } : {}),
    },
    "compute worker taking queries",
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: "worker-stopping", signal }, "draining the queries in hand");
    void (async () => {
      await queue.stop({ drainMs: env.drainMs });
      await health?.close();
      await compute.close();
      await db.$disconnect();
      logger.info({ event: "worker-stopped" }, "compute worker stopped");
      process.exit(0);
    })();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** /health while the process runs; /ready while the database answers. No detail is served. */
async function serveHealth(
  port: number,
  db: Awaited<ReturnType<typeof openDb>>,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://worker").pathname;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, {
        "content-type": "application/json",
        "cache-control": "no-store",
      });
      response.end(JSON.stringify(body));
    };
    if (path === "/health") return send(200, { status: "ok" });
    if (path !== "/ready") return send(404, { status: "not found" });
    db.$queryRaw`SELECT 1`.then(
      () => send(200, { status: "ready" }),
      () => send(503, { status: "not ready", checks: { database: "failing" } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

main().catch((error: unknown) => {
  // Our own sentences (env, database URL redacted) print as they are; anything else briefly.
  const known = error instanceof WorkerEnvError || isDatabaseConfigError(error);
  console.error(
    known
      ? (error as Error).message
      : `The compute worker could not start: ${JSON.stringify(describeError(error))}`,
  );
  process.exit(1);
});
