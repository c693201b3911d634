// The operator: mirrors the chain into the database, relays signed consents and closes
// reward epochs, in a loop until SIGINT/SIGTERM. Every step is idempotent or resumes from
// what it stored, so a restart at any point (even SIGKILL) resumes cleanly. The first signal
// lets the current turn finish, then closes the health server and the database; a second one
// exits at once.
import {
  createChainPublicClient,
  createSigningClient,
  readDeploymentManifest,
} from "@opencohort/chain";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { openDb } from "@opencohort/db";
import { createLogger, type Logger } from "@opencohort/log";
import { loadOperatorEnv } from "./env";
import { ensureOpenEpoch } from "./epochs/clock";
import { createEpochOperator } from "./epochs/epochs";
import { createLoopHealth, type HealthServer, startHealthServer } from "./health";
import { relayPendingClaims, relayPendingConsents } from "./relay";

let logger: Logger | undefined;

async function main(): Promise<void> {
  const env = loadOperatorEnv();
  logger = createLogger({ name: "operator", ...env.log });
  const operatorLog = logger;
  const manifest = readDeploymentManifest(env.chain.deploymentPath);
  const db = await openDb(env.databaseUrl);
  const reader = createChainPublicClient(env.chain);
  const signer = createSigningClient(env.chain, env.operatorKey);
  const indexer = createIndexer({
    db,
    client: reader,
    manifest,
    confirmations: env.chain.confirmations,
  });

  const log = (line: string) => operatorLog.info(line);
  const epochs = createEpochOperator({
    db,
    reader,
    signer,
    manifest,
    epochSeconds: env.epochSeconds,
    epochSettleSeconds: env.epochSettleSeconds,
    log,
  });
  // Before the first sync: a purchase is assigned the epoch open when it is first indexed.
  const opened = await ensureOpenEpoch(db, new Date());
  if (opened !== null) log(`epoch ${opened} opened`);

  const health = createLoopHealth(env.pollIntervalMs);
  let healthServer: HealthServer | undefined;
  if (env.healthPort !== null) {
    healthServer = await startHealthServer(health, { port: env.healthPort });
    log(`health on :${healthServer.port}/health and /ready`);
  }

  let running = true;
  let wake: (() => void) | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (!running) {
      // Safe: every step resumes from what it stored.
      operatorLog.warn(`${signal} again: exiting without finishing the turn`);
      process.exit(1);
    }
    running = false;
    log(`${signal}: finishing the current turn`);
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  log(
    `indexing chain ${manifest.chainId} from block ${manifest.startBlock}; epochs of ${env.epochSeconds} s`,
  );

  // The first line only: later lines of a viem error name the RPC URL, which may hold a key.
  const report = (step: string, error: unknown) =>
    operatorLog.error({ step }, (error as Error).message.split("\n")[0] ?? "failed");
  while (running) {
    // A failing relay must not hold up indexing and epochs, so each has its own try.
    try {
      const relayed = await relayPendingConsents(db, signer, reader, manifest);
      if (relayed > 0) log(`relayed ${relayed} signed consent(s)`);
    } catch (error) {
      report("relay-consents", error);
    }
    try {
      const claimed = await relayPendingClaims(db, signer, reader, manifest, log);
      if (claimed > 0) log(`relayed ${claimed} reward claim(s)`);
    } catch (error) {
      report("relay-claims", error);
    }
    let indexerOk = true;
    try {
      const sync = await indexer.syncOnce().catch((error: unknown) => {
        indexerOk = false;
        throw error;
      });
      if (sync.rolledBackTo !== undefined) log(`reorg, rolled back to block ${sync.rolledBackTo}`);
      if (sync.events > 0) log(`mirrored ${sync.events} event(s) up to block ${sync.toBlock}`);
      // After the sync, so an epoch closes over every purchase mirrored so far. Not when
      // the sync failed: purchases of the closing epoch may be missing.
      await epochs.tick();
    } catch (error) {
      report(indexerOk ? "epochs" : "index", error);
    }
    health.turnFinished(indexerOk);
    if (!running) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, env.pollIntervalMs);
    });
  }
  await healthServer?.close();
  await db.$disconnect();
  log("stopped");
}

main().catch((error: unknown) => {
  const message = (error as Error).message;
  if (logger) logger.fatal(message);
  else console.error(`operator: ${message}`);
  process.exit(1);
});
