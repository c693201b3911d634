// The operator: mirrors the chain into the database and relays signed consents, in a loop
// until SIGINT/SIGTERM. Every step is idempotent, so a restart at any point resumes cleanly.
import {
  createChainPublicClient,
  createSigningClient,
  readDeploymentManifest,
} from "@opencohort/chain";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { openDb } from "@opencohort/db";
import { loadOperatorEnv } from "./env";
import { relayPendingConsents } from "./relay";

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

  let running = true;
  let wake: (() => void) | undefined;
  const stop = () => {
    running = false;
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  console.log(`operator: indexing chain ${manifest.chainId} from block ${manifest.startBlock}`);

  while (running) {
    try {
      const relayed = await relayPendingConsents(db, signer, reader, manifest);
      if (relayed > 0) console.log(`operator: relayed ${relayed} signed consent(s)`);
      const report = await indexer.syncOnce();
      if (report.rolledBackTo !== undefined)
        console.log(`operator: reorg, rolled back to block ${report.rolledBackTo}`);
      if (report.events > 0)
        console.log(`operator: mirrored ${report.events} event(s) up to block ${report.toBlock}`);
    } catch (error) {
      console.error(`operator: ${(error as Error).message.split("\n")[0]}`);
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
