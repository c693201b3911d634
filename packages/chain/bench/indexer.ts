// Indexer throughput: a local chain holding ~20,000 mirrored events (relayed consents in
// batches of 100, as the operator sends them), mirrored from scratch into a fresh SQLite
// file. Prints figures; asserts nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, migrate } from "@opencohort/db";
import { keccak256, parseEther, stringToHex, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAnvil } from "../src/anvil";
import { createChainPublicClient, createSigningClient } from "../src/clients";
import { consentTypedData } from "../src/consent";
import { contractsDir, deployContracts } from "../src/deploy";
import { devAccountKey } from "../src/dev-accounts";
import { datasetRegistryAbi } from "../src/generated/abis";
import { createIndexer } from "../src/indexer/indexer";
import { CONSENT_BATCH_SIZE, type SignedConsent, submitConsentBatch } from "../src/relayer";

const TARGET_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const workDir = mkdtempSync(join(tmpdir(), "oc-indexer-bench-"));
const manifestPath = join(contractsDir, "deployments", `bench-indexer-${process.pid}.json`);
const anvil = await startAnvil();
try {
  const manifest = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    deployerKey: devAccountKey(31337, 0),
    manifestPath,
  });
  const env = { chainId: 31337, rpcUrl: anvil.rpcUrl };
  const reader = createChainPublicClient(env);
  const steward = createSigningClient(env, devAccountKey(31337, 1));
  const relayer = createSigningClient(env, devAccountKey(31337, 9));
  const datasetId = keccak256(stringToHex("bench"));
  await reader.waitForTransactionReceipt({
    hash: await steward.writeContract({
      address: manifest.contracts.DatasetRegistry,
      abi: datasetRegistryAbi,
      functionName: "listDataset",
      args: [
        datasetId,
        keccak256(stringToHex("m")),
        keccak256(stringToHex("omop-lite/1")),
        keccak256(stringToHex("c")),
        parseEther("1"),
        86_400n,
      ],
    }),
  });

  const filling = performance.now();
  for (let start = 0; start < TARGET_EVENTS; start += CONSENT_BATCH_SIZE) {
    const batch: SignedConsent[] = [];
    for (let i = start; i < Math.min(start + CONSENT_BATCH_SIZE, TARGET_EVENTS); i++) {
      const patient = privateKeyToAccount(keccak256(toHex(`bench-patient-${i}`)));
      const message = {
        patient: patient.address,
        datasetId,
        granted: true,
        nonce: 1n,
        deadline: 4_000_000_000n,
      };
      batch.push({
        ...message,
        signature: await patient.signTypedData(
          consentTypedData(31337, manifest.contracts.ConsentRegistry, message),
        ),
      });
    }
    await submitConsentBatch(relayer, reader, manifest.contracts.ConsentRegistry, batch);
    process.stdout.write(
      `\rfilling the chain: ${Math.min(start + CONSENT_BATCH_SIZE, TARGET_EVENTS)}/${TARGET_EVENTS} consents`,
    );
  }
  process.stdout.write(`\nfilled in ${((performance.now() - filling) / 1000).toFixed(1)} s\n`);

  const databaseUrl = `file:${join(workDir, "bench.db")}`;
  await migrate(databaseUrl);
  const db = createDb(databaseUrl);
  const indexer = createIndexer({ db, client: reader, manifest, batchSize: 2_000 });
  const started = performance.now();
  const report = await indexer.syncOnce();
  const seconds = (performance.now() - started) / 1000;
  const replayStarted = performance.now();
  await db.indexerCursor.deleteMany({});
  const replay = await indexer.syncOnce();
  const replaySeconds = (performance.now() - replayStarted) / 1000;
  console.log("\n| run | blocks | events | seconds | events/s |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(
    `| first sync | ${report.toBlock - report.fromBlock + 1n} | ${report.events} | ${seconds.toFixed(2)} | ${(report.events / seconds).toFixed(0)} |`,
  );
  console.log(
    `| replay (idempotent) | ${replay.toBlock - replay.fromBlock + 1n} | ${replay.events} | ${replaySeconds.toFixed(2)} | ${(replay.events / replaySeconds).toFixed(0)} |`,
  );
  console.log(
    `consent rows: ${await db.consentState.count()}, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  await db.$disconnect();
} finally {
  await anvil.stop();
  rmSync(workDir, { recursive: true, force: true });
  rmSync(manifestPath, { force: true });
}
