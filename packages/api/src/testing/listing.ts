/**
 * Test fixtures for the catalogue, steward and consent routers: a synthetic dataset listed on
 * chain by a steward with real metadata (its canonical hash on chain), but with nothing
 * registered off chain — the steward router does that in the tests, as a steward would.
 */
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type DatasetMetadata, datasetMetadataHash, datasetRegistryAbi } from "@opencohort/chain";
import { generateCohort } from "@opencohort/synth";
import type { DatasetManifest } from "@opencohort/validators";
import { type Hex, keccak256, stringToHex } from "viem";
import { type TestSystem, writeAs } from "./harness";

export interface CohortFolder {
  /** The folder's name in the dataset root (what stewards register). */
  folder: string;
  dir: string;
  manifest: DatasetManifest;
  /** Every person_id of person.parquet, ascending. */
  personIds: bigint[];
  /** concept_name by "VOCABULARY:CODE", read from the folder's concept table. */
  conceptNames: Map<string, string>;
}

/** Generates (once per seed and size in this system) a synthetic cohort folder. */
export async function cohortFolder(
  system: TestSystem,
  persons: number,
  seed: number,
): Promise<CohortFolder> {
  const folder = `${seed}-${persons}`;
  const dir = join(system.services.config.datasetRoot as string, folder);
  const manifest = await generateCohort({
    persons,
    seed,
    outDir: dir,
    createdAt: new Date("2026-11-01T00:00:00.000Z"),
    threads: 1,
  });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      "SELECT person_id FROM read_parquet($path) ORDER BY person_id",
      { path: join(dir, "person.parquet") },
    );
    const concepts = await connection.runAndReadAll(
      "SELECT vocabulary_id || ':' || concept_code, concept_name FROM read_parquet($path)",
      { path: join(dir, "concept.parquet") },
    );
    return {
      folder,
      dir,
      manifest,
      personIds: reader.getRows().map((row) => BigInt(row[0] as bigint)),
      conceptNames: new Map(concepts.getRows().map(([code, name]) => [String(code), String(name)])),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export interface ListedDataset {
  datasetId: Hex;
  metadata: DatasetMetadata;
  price: bigint;
}

/**
 * Lists a dataset on chain (steward #1-#3) for `contentHash` with `metadata`'s hash; indexes
 * unless `index: false` (what the API sees right after a steward's own transaction).
 */
export async function listOnChain(
  system: TestSystem,
  options: {
    slug: string;
    contentHash: string;
    metadata: DatasetMetadata;
    steward?: 1 | 2 | 3;
    price?: bigint;
    accessDays?: number;
    index?: boolean;
  },
): Promise<ListedDataset> {
  const datasetId = keccak256(stringToHex(`opencohort-api-test:${options.slug}`));
  const price = options.price ?? 100n * 10n ** 18n;
  await writeAs(system, options.steward ?? 1, {
    address: system.services.chain.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "listDataset",
    args: [
      datasetId,
      datasetMetadataHash(options.metadata),
      keccak256(stringToHex(options.metadata.schemaVersion)),
      options.contentHash as Hex,
      price,
      BigInt((options.accessDays ?? 30) * 24 * 60 * 60),
    ],
  });
  if (options.index !== false) await system.services.chain.indexer.syncOnce();
  return { datasetId, metadata: options.metadata, price };
}
