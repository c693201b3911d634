/**
 * A catalogue of many listed datasets, built through the real chain: each dataset is listed
 * on the local anvil by one of the demo stewards (#1-#3) with the canonical hash of its
 * metadata, the event indexer mirrors the listings, and each steward stores the metadata
 * through the API's `steward.updateMetadata` (which checks that hash). Registering the
 * Parquet files of 10,000 versions would hash 10,000 folders, so the size a registration
 * records (`personCount`, `registeredAt`) is written to the indexed DatasetVersion rows
 * directly, as `steward.registerVersion` writes them (without a manifest: no data card).
 */
import { createCaller, createContextInner } from "@opencohort/api";
import {
  type DatasetMetadata,
  datasetMetadataHash,
  datasetRegistryAbi,
  devAccountKey,
  LOCAL_CHAIN_ID,
} from "@opencohort/chain";
import type { LocalSystem } from "@opencohort/chain/testing/local-system";
import { createComputeEngine } from "@opencohort/compute";
import { encodeFunctionData, type Hex, keccak256, parseUnits, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const places = ["Northbridge", "Lakeside", "Coastal", "Highland", "Riverside", "Westfield"];
const kinds = ["Cohort", "Registry", "Panel", "Study", "Biobank"];
export const benchConditions = [
  { code: "ICD10:E11", label: "Type 2 diabetes mellitus" },
  { code: "ICD10:I10", label: "Essential hypertension" },
  { code: "ICD10:J45", label: "Asthma" },
  { code: "ICD10:J44", label: "Chronic obstructive pulmonary disease" },
  { code: "ICD10:F32", label: "Depressive episode" },
  { code: "ICD10:I50", label: "Heart failure" },
  { code: "ICD10:N18", label: "Chronic kidney disease" },
  { code: "ICD10:C50", label: "Malignant neoplasm of breast" },
  { code: "ICD10:G30", label: "Alzheimer disease" },
  { code: "ICD10:M05", label: "Rheumatoid arthritis" },
  { code: "ICD10:E66", label: "Obesity" },
  { code: "ICD10:I48", label: "Atrial fibrillation" },
] as const;
/** Sizes a registered version may have (a few per catalogue, like real cohorts). */
const personCounts = [250, 800, 1_500, 4_000, 12_000, 40_000];
const SCHEMA_VERSION = "omop-lite/2";

export interface BenchDataset {
  datasetId: Hex;
  steward: 1 | 2 | 3;
  metadata: DatasetMetadata;
  price: bigint;
  accessDays: number;
  persons: number;
}

/** The i-th dataset of the bench catalogue: deterministic, varied titles, conditions, prices, sizes. */
export function benchDataset(i: number): BenchDataset {
  const first = benchConditions[i % benchConditions.length];
  const second = benchConditions[(i * 7 + 3) % benchConditions.length];
  const conditions =
    i % 3 === 0 || !first || !second || first === second ? [first] : [first, second];
  const place = places[i % places.length];
  const kind = kinds[Math.floor(i / places.length) % kinds.length];
  return {
    datasetId: keccak256(stringToHex(`opencohort-bench-catalogue:${i}`)),
    steward: ((i % 3) + 1) as 1 | 2 | 3,
    metadata: {
      title: `${place} ${first?.label ?? "Health"} ${kind} ${i + 1}`,
      description: `Synthetic benchmark dataset ${i + 1}: outpatient records, ${SCHEMA_VERSION}.`,
      conditions: conditions.flatMap((condition) => (condition ? [{ ...condition }] : [])),
      schemaVersion: SCHEMA_VERSION,
    },
    price: parseUnits(String(10 + ((i * 37) % 490)), 18),
    accessDays: [7, 30, 90][i % 3] ?? 30,
    // Independent of the conditions (period 12) and the steward (period 3).
    persons: personCounts[(i * 5 + Math.floor(i / 12)) % personCounts.length] ?? 1_000,
  };
}

async function rpcBatch(rpcUrl: string, calls: { method: string; params: unknown[] }[]) {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(calls.map((call, id) => ({ jsonrpc: "2.0", id, ...call }))),
  });
  const answers = (await response.json()) as { error?: { message: string } }[];
  const failed = answers.find((answer) => answer.error);
  if (failed?.error) throw new Error(failed.error.message);
}

/** Waits until every steward's transactions up to `nonces` are mined. */
async function minedUpTo(
  system: LocalSystem,
  stewards: readonly { address: Hex }[],
  nonces: readonly number[],
) {
  for (const [index, account] of stewards.entries()) {
    for (;;) {
      const mined = await system.reader.getTransactionCount({ address: account.address });
      if (mined >= (nonces[index] ?? 0)) break;
      // Automine packs what fits in one block; what is left waits for the next block.
      await system.rpc("evm_mine");
    }
  }
}

export type Progress = (stage: string, done: number, total: number) => void;

/**
 * Lists `count` datasets on chain, indexes them, stores their metadata through the steward
 * router and their registered sizes. Returns the datasets.
 */
export async function seedCatalogue(
  system: LocalSystem,
  count: number,
  progress: Progress,
): Promise<BenchDataset[]> {
  const datasets = Array.from({ length: count }, (_, i) => benchDataset(i));
  const registry = system.manifest.contracts.DatasetRegistry;
  const stewards = ([1, 2, 3] as const).map((index) =>
    privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)),
  );
  const nonces = await Promise.all(
    stewards.map((account) => system.reader.getTransactionCount({ address: account.address })),
  );

  // Signed here with explicit nonces and gas, sent in JSON-RPC batches: anvil mines each.
  const BATCH = 250;
  for (let start = 0; start < count; start += BATCH) {
    const raw = await Promise.all(
      datasets.slice(start, start + BATCH).map((dataset) => {
        const index = dataset.steward - 1;
        const account = stewards[index];
        if (!account) throw new Error(`no steward #${dataset.steward}`);
        const nonce = nonces[index] ?? 0;
        nonces[index] = nonce + 1;
        return account.signTransaction({
          chainId: LOCAL_CHAIN_ID,
          type: "eip1559",
          to: registry,
          nonce,
          gas: 500_000n,
          maxFeePerGas: 50_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
          data: encodeFunctionData({
            abi: datasetRegistryAbi,
            functionName: "listDataset",
            args: [
              dataset.datasetId,
              datasetMetadataHash(dataset.metadata),
              keccak256(stringToHex(dataset.metadata.schemaVersion)),
              keccak256(stringToHex(`opencohort-bench-content:${dataset.datasetId}`)),
              dataset.price,
              BigInt(dataset.accessDays * 86_400),
            ],
          }),
        });
      }),
    );
    await rpcBatch(
      system.anvil.rpcUrl,
      raw.map((tx) => ({ method: "eth_sendRawTransaction", params: [tx] })),
    );
    // One batch in flight at a time (anvil slows to a crawl with thousands queued).
    await minedUpTo(system, stewards, nonces);
    progress("listing on chain", Math.min(count, start + BATCH), count);
  }

  progress("indexing", 0, 1);
  await system.indexer.syncOnce();
  const listed = await system.db.dataset.count({ where: { listed: true } });
  if (listed < count) throw new Error(`only ${listed} of ${count} datasets were indexed as listed`);
  progress("indexing", 1, 1);

  const compute = createComputeEngine({
    logger: { warn: () => {}, error: () => {} },
    // Storing metadata runs no query: one worker (started only if ever needed) is plenty.
    limits: { memoryMb: 256, threads: 1, timeoutMs: 10_000, workers: 1 },
    noiseSecret: "bench-noise-secret",
  });
  try {
    const services = {
      db: system.db,
      chain: {
        chainId: LOCAL_CHAIN_ID,
        client: system.reader,
        manifest: system.manifest,
        indexer: system.indexer,
      },
      compute,
      // Seeding lists datasets and writes metadata; it submits no query.
      queryJobs: {
        send: async () => {
          throw new Error("The catalogue seed runs no queries.");
        },
      },
      config: {
        siweDomain: "127.0.0.1",
        siweUri: "http://127.0.0.1",
        sessionTtlSeconds: 3_600,
        datasetRoot: null,
        sessionSecret: "bench-session-secret-0123456789",
      },
    };
    // The steward router checks roles and ownership against the database, not the session row.
    const stewardCallers = stewards.map(
      (account, index) =>
        createCaller(
          createContextInner({
            services,
            session: {
              id: `bench-steward-${index + 1}`,
              address: account.address.toLowerCase() as Hex,
            },
          }),
        ).steward,
    );
    for (const [i, dataset] of datasets.entries()) {
      const caller = stewardCallers[dataset.steward - 1];
      if (!caller) throw new Error(`no steward #${dataset.steward}`);
      await caller.updateMetadata({
        datasetId: dataset.datasetId,
        ...dataset.metadata,
        conditions: [...dataset.metadata.conditions],
      });
      if ((i + 1) % 250 === 0 || i + 1 === count) progress("storing metadata", i + 1, count);
    }
  } finally {
    await compute.close();
  }

  for (const [i, dataset] of datasets.entries()) {
    await system.db.datasetVersion.update({
      where: { datasetId_version: { datasetId: dataset.datasetId, version: 1 } },
      data: { personCount: dataset.persons, registeredAt: new Date() },
      select: { id: true },
    });
    if ((i + 1) % 500 === 0 || i + 1 === count) progress("registering sizes", i + 1, count);
  }
  return datasets;
}
