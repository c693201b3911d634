// The operator: mirrors the chain into the database, relays signed consents and closes
// reward epochs, in a loop until SIGINT/SIGTERM. Every step is idempotent or resumes from
// what it stored, so a restart at any point (even SIGKILL) resumes cleanly.
import {
  createChainPublicClient,
  createSigningClient,
  readDeploymentManifest,
} from "@opencohort/chain";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { openDb } from "@opencohort/db";
import { loadOperatorEnv } from "./env";
import { ensureOpenEpoch } from "./epochs/clock";
import { createEpochOperator } from "./epochs/epochs";
import { relayPendingClaims, relayPendingConsents } from "./relay";

async function main(): Promise<void> {
  const env = loadOperatorEnv();
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

  const log = (line: string) => console.log(`operator: ${line}`);
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

  let running = true;
  let wake: (() => void) | undefined;
  const stop = () => {
    running = false;
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  log(
    `indexing chain ${manifest.chainId} from block ${manifest.startBlock}; epochs of ${env.epochSeconds} s`,
  );

  const report = (error: unknown) =>
    console.error(`operator: ${(error as Error).message.split("\n")[0]}`);
  while (running) {
    // A failing relay must not hold up indexing and epochs, so each has its own try.
    try {
      const relayed = await relayPendingConsents(db, signer, reader, manifest);
      if (relayed > 0) log(`relayed ${relayed} signed consent(s)`);
    } catch (error) {
      report(error);
    }
    try {
      const claimed = await relayPendingClaims(db, signer, reader, manifest, log);
      if (claimed > 0) log(`relayed ${claimed} reward claim(s)`);
    } catch (error) {
      report(error);
    }
    try {
      const sync = await indexer.syncOnce();
      if (sync.rolledBackTo !== undefined) log(`reorg, rolled back to block ${sync.rolledBackTo}`);
      if (sync.events > 0) log(`mirrored ${sync.events} event(s) up to block ${sync.toBlock}`);
      // After the sync, so an epoch closes over every purchase mirrored so far. Not when
      // the sync failed: purchases of the closing epoch may be missing.
      await epochs.tick();
    } catch (error) {
      report(error);
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, env.pollIntervalMs);
    });
  }
  await db.$disconnect();
  console.log("operator: stopped");
}

main().catch((error: unknown) => {
  console.error(`operator: ${(error as Error).message}`);
  process.exit(1);
});
