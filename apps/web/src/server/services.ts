/**
 * The API's services, built once per server process from the validated environment:
 * database, chain client + deployment manifest + indexer, compute engine (catalogue and
 * feasibility counts; queries go to the compute workers through the job queue), config.
 */
import "server-only";
import { existsSync } from "node:fs";
import type { ApiServices } from "@opencohort/api";
import { computeEngineLogger } from "@opencohort/api/services/log";
import { QUERY_QUEUE, type QueryJobPayload } from "@opencohort/api/services/query-execution";
import { createChainPublicClient, readDeploymentManifest } from "@opencohort/chain";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { createComputeEngine } from "@opencohort/compute";
import { openDb } from "@opencohort/db";
import { openJobSender } from "@opencohort/jobs";
import { createLogger, type Logger } from "@opencohort/log";
import { erc20Abi } from "viem";
import { webEnv } from "~/env";

async function buildServices(): Promise<ApiServices> {
  const env = webEnv();
  const manifest = readDeploymentManifest(env.chain.deploymentPath);
  if (manifest.chainId !== env.chain.chainId) {
    throw new Error(
      `The deployment manifest ${env.chain.deploymentPath} is for chain ${manifest.chainId}, not OPENCOHORT_CHAIN_ID ${env.chain.chainId}.`,
    );
  }
  if (!existsSync(env.query.sandboxWorkerPath)) {
    throw new Error(
      `The compute sandbox worker ${env.query.sandboxWorkerPath} does not exist (set OPENCOHORT_SANDBOX_WORKER).`,
    );
  }
  const db = await openDb(env.db.databaseUrl);
  const client = createChainPublicClient(env.chain);
  const logger = createLogger({ name: "web", ...env.log });
  const compute = createComputeEngine({
    logger: computeEngineLogger(logger),
    limits: {
      memoryMb: env.query.memoryMb,
      threads: 1,
      timeoutMs: env.query.timeoutMs,
      workers: env.query.workers,
    },
    noiseSecret: env.noiseSecret,
    sandboxWorkerPath: env.query.sandboxWorkerPath,
  });
  // Queries are queued here and run by the compute workers (apps/compute-worker).
  const queryJobs = await openJobSender<QueryJobPayload>(env.db.databaseUrl, db, QUERY_QUEUE);
  return {
    db,
    queryJobs,
    chain: {
      chainId: manifest.chainId,
      client,
      manifest,
      indexer: createIndexer({ db, client, manifest }),
    },
    compute,
    logger,
    config: {
      siweDomain: env.host,
      siweUri: env.origin,
      sessionTtlSeconds: env.sessionTtlSeconds,
      datasetRoot: env.datasetRoot,
      datasetImport: env.datasetImport,
      sessionSecret: env.sessionSecret,
    },
  };
}

let startup: Logger | undefined;

/** Logs why the services could not be built (the env itself may be what is wrong). */
function startupLogger(): Logger {
  let log: ReturnType<typeof webEnv>["log"] = { format: "human", level: "info" };
  try {
    log = webEnv().log;
  } catch {
    // keep the default format
  }
  startup ??= createLogger({ name: "web", ...log });
  return startup;
}

// One instance per process, also across the module reloads of `next dev`.
const holder = globalThis as typeof globalThis & { __opencohortServices?: Promise<ApiServices> };

export function getServices(): Promise<ApiServices> {
  if (!holder.__opencohortServices) {
    const pending = buildServices();
    holder.__opencohortServices = pending;
    // A failed start (chain down, bad manifest) is retried on the next request.
    pending.catch((error: unknown) => {
      startupLogger().error(
        { event: "services-failed" },
        // Our own sentences (env, manifest, database with its URL redacted): the first line.
        (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "failed",
      );
      if (holder.__opencohortServices === pending) holder.__opencohortServices = undefined;
    });
  }
  return holder.__opencohortServices;
}

// The token's symbol does not change: read once per server process (retried after a failure).
let symbol: Promise<string> | undefined;

/** CohortToken's symbol, e.g. "COHORT"; "tokens" while the chain cannot say. */
export async function tokenSymbol(): Promise<string> {
  symbol ??= getServices()
    .then(({ chain }) =>
      chain.client.readContract({
        address: chain.manifest.contracts.CohortToken,
        abi: erc20Abi,
        functionName: "symbol",
      }),
    )
    .catch(() => {
      symbol = undefined;
      return "tokens";
    });
  return symbol;
}
