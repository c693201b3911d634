// Indexer throughput: a local chain holding ~20,000 mirrored events (relayed consents in
// batches of 100, as the operator sends them), mirrored from scratch into a fresh SQLite
// file. Prints figures; asserts nothing.
import { keccak256, parseEther, stringToHex, toHex } from "viem";
import { datasetRegistryAbi } from "../src/generated/abis";
import { createIndexer } from "../src/indexer/indexer";
import { signAndRelayConsents } from "../src/relayer";
import { startLocalSystem } from "../src/testing/local-system";

const TARGET_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const system = await startLocalSystem("indexer-bench");
try {
  const { manifest, reader, db } = system;
  const datasetId = keccak256(stringToHex("bench"));
  await reader.waitForTransactionReceipt({
    hash: await system.signer(1).writeContract({
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
  await signAndRelayConsents({
    signer: system.signer(9),
    reader,
    chainId: manifest.chainId,
    consentRegistry: manifest.contracts.ConsentRegistry,
    consents: Array.from({ length: TARGET_EVENTS }, (_, i) => ({
      patientKey: keccak256(toHex(`bench-patient-${i}`)),
      datasetId,
      granted: true,
      nonce: 1n,
    })),
    deadline: 4_000_000_000n,
    onBatch: (relayed) =>
      process.stdout.write(`\rfilling the chain: ${relayed}/${TARGET_EVENTS} consents`),
  });
  process.stdout.write(`\nfilled in ${((performance.now() - filling) / 1000).toFixed(1)} s\n`);

  // A fresh indexer over the (still empty) database: the fixture's own has not synced.
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
} finally {
  await system.close();
}
