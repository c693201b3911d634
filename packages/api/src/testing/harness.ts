import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  cohortTokenAbi,
  consentRegistryAbi,
  createSigningClient,
  type DeploymentManifest,
  type DevAccountIndex,
  datasetRegistryAbi,
  deriveConsentIdentity,
  devAccountKey,
  LOCAL_CHAIN_ID,
  marketplaceAbi,
  researcherCredentialAbi,
  schemaVersionHash,
  signAndRelayConsents,
  stewardGovernorAbi,
  syntheticPatientKey,
} from "@opencohort/chain";
import type { RunningAnvil } from "@opencohort/chain/anvil";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { startLocalSystem } from "@opencohort/chain/testing/local-system";
import { type ComputeEngine, createComputeEngine } from "@opencohort/compute";
import { createDb, createEnrolments, type Db, migrate, sqlDialectOf } from "@opencohort/db";
import { openJobQueue } from "@opencohort/jobs";
import { generateCohort } from "@opencohort/synth";
import { type Abi, type Address, encodeFunctionData, type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
// The db package's throwaway-cluster helper (not exported: it is test tooling).
import { startTestPostgres } from "../../../db/test/postgres";
import { type ApiServices, type CookieJar, createContextInner } from "../context";
import { createCaller } from "../root";
import { resolveSession } from "../router/auth";
import { syncIndexer } from "../services/indexer-sync";
import {
  QUERY_QUEUE,
  type QueryJobPayload,
  type QueryJobQueue,
  startQueryWorker,
} from "../services/query-execution";
import type { RateLimitConfig } from "../services/rate-limit";

export interface TestSystem {
  services: ApiServices;
  db: Db;
  /** The app database (SQLite file or PostgreSQL database), for worker processes. */
  databaseUrl: string;
  /** The query queue on it (submit sends here; the in-process worker, if any, takes). */
  queryJobs: QueryJobQueue;
  manifest: DeploymentManifest;
  anvil: RunningAnvil;
  compute: ComputeEngine;
  workDir: string;
  /** A caller with no session. */
  anonymous(): ReturnType<typeof createCaller>;
  /** Signs in through auth.nonce + auth.verify with anvil account `index`. */
  signIn(
    index: DevAccountIndex,
  ): Promise<{ caller: ReturnType<typeof createCaller>; address: Address; token: string }>;
  stop(): Promise<void>;
}

export type TestDatabase = "sqlite" | "postgresql";

/**
 * The databases a suite can run against: SQLite always, PostgreSQL when server binaries
 * (Debian's postgresql) or OPENCOHORT_TEST_POSTGRES_URL are there; otherwise that case is
 * skipped.
 */
export function testDatabases(): { database: TestDatabase; skip: boolean }[] {
  const postgres =
    Boolean(process.env.OPENCOHORT_TEST_POSTGRES_URL) || existsSync("/usr/lib/postgresql");
  return [
    { database: "sqlite", skip: false },
    { database: "postgresql", skip: !postgres },
  ];
}

/**
 * Anvil with the contracts, the indexer and compute over a migrated database: SQLite (the
 * local system's file) by default, or a fresh database on a throwaway PostgreSQL cluster
 * (packages/db/test/postgres.ts) with its own indexer.
 */
export async function startTestSystem(
  options: {
    database?: TestDatabase;
    /** false: no query worker in this process (a test starts worker processes itself). */
    queryWorker?: boolean;
    /** Replaces default rules (a benchmark's load would otherwise be the limiter's). */
    rateLimits?: Partial<RateLimitConfig>;
  } = {},
): Promise<TestSystem> {
  const local = await startLocalSystem("api");
  const { anvil, manifest, workDir } = local;
  const client = local.reader;
  let db = local.db;
  let indexer = local.indexer;
  let stopPostgres = async () => {};
  let databaseUrl = local.databaseUrl;
  if (options.database === "postgresql") {
    const server = await startTestPostgres();
    if (server.url === undefined) {
      await local.close();
      throw new Error(`PostgreSQL is not available: ${server.skipReason}`);
    }
    const url = new URL(server.url);
    url.pathname = `/oc_api_${randomBytes(6).toString("hex")}`;
    databaseUrl = url.toString();
    await migrate(databaseUrl);
    const pg = createDb(databaseUrl);
    db = pg;
    indexer = createIndexer({ db: pg, client, manifest });
    stopPostgres = async () => {
      await pg.$disconnect();
      await server.stop();
    };
  }
  const compute = createComputeEngine({
    logger: { warn: () => {}, error: () => {} },
    // Two sandbox workers, as in production: one researcher's query never blocks another's.
    limits: { memoryMb: 1_024, threads: 1, timeoutMs: 20_000, workers: 2 },
    noiseSecret: "test-noise-secret",
  });
  // Queries run as in production: queued on the app database, taken by a worker (here in
  // this process, on the same compute engine).
  const queryJobs = await openJobQueue<QueryJobPayload>(databaseUrl, db, {
    name: QUERY_QUEUE,
    leaseSeconds: 120,
    maxAttempts: 3,
    pollIntervalMs: 20,
  });
  const services: ApiServices = {
    db,
    queryJobs,
    chain: {
      chainId: LOCAL_CHAIN_ID,
      client,
      manifest,
      indexer,
    },
    compute,
    config: {
      siweDomain: "127.0.0.1:3000",
      siweUri: "http://127.0.0.1:3000",
      sessionTtlSeconds: 3_600,
      datasetRoot: join(workDir, "cohorts"),
      datasetImport: { root: join(workDir, "imports"), secret: "test-import-secret-0123456789" },
      sessionSecret: "test-session-secret-0123456789",
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    },
  };
  if (options.queryWorker !== false) {
    await startQueryWorker(
      { db, compute, chainId: LOCAL_CHAIN_ID, logger: services.logger },
      queryJobs,
      { concurrency: 2 },
    );
  }
  const anonymous = () => createCaller(createContextInner({ services }));

  async function signIn(index: DevAccountIndex) {
    let token = "";
    const cookies: CookieJar = {
      setSession(value) {
        token = value;
      },
      clearSession() {
        token = "";
      },
    };
    const account = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
    const caller = createCaller(createContextInner({ services, cookies }));
    const request = await caller.auth.nonce();
    const message = createSiweMessage({
      address: account.address,
      chainId: request.chainId,
      domain: request.domain,
      uri: request.uri,
      nonce: request.nonce,
      version: request.version,
      statement: request.statement,
    });
    await caller.auth.verify({ message, signature: await account.signMessage({ message }) });
    const session = await resolveSession(db, token);
    return {
      caller: createCaller(createContextInner({ services, session, cookies })),
      address: account.address.toLowerCase() as Address,
      token,
    };
  }

  return {
    services,
    db,
    databaseUrl,
    queryJobs,
    manifest,
    anvil,
    compute,
    workDir,
    anonymous,
    signIn,
    async stop() {
      await queryJobs.stop({ drainMs: 5_000 });
      await compute.close();
      await stopPostgres();
      await local.close();
    },
  };
}

// ─── Test datasets and chain writes (shared by the query, reward and governance tests) ───

/** Sends one contract write as anvil dev account `index` and waits for a successful receipt. */
export async function writeAs(
  system: TestSystem,
  index: DevAccountIndex,
  request: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  const signer = createSigningClient(
    { chainId: LOCAL_CHAIN_ID, rpcUrl: system.anvil.rpcUrl },
    devAccountKey(LOCAL_CHAIN_ID, index),
  );
  const txHash = await signer.writeContract(request as never);
  const receipt = await system.services.chain.client.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== "success") throw new Error(`${request.functionName} reverted`);
  return { txHash, blockNumber: receipt.blockNumber };
}

/** Moves the test chain's clock (governance counts seconds) and mines a block at the new time. */
export async function advanceChainTime(system: TestSystem, seconds: number): Promise<void> {
  await anvilRpc(system, "evm_increaseTime", [seconds]);
  await anvilRpc(system, "evm_mine", []);
}

export interface ProposalActions {
  targets: readonly Address[];
  values: readonly bigint[];
  calldatas: readonly Hex[];
  description: string;
}

/**
 * Runs a proposal through the real governor: steward #1 proposes, stewards #1-#3 vote for
 * (a majority of all badges, also after one more steward was admitted), then it is queued
 * and, past the timelock, executed.
 */
export async function passProposal(system: TestSystem, actions: ProposalActions): Promise<void> {
  const governor = { address: system.manifest.contracts.StewardGovernor, abi: stewardGovernorAbi };
  const { targets, values, calldatas, description } = actions;
  const { txHash } = await writeAs(system, 1, {
    ...governor,
    functionName: "propose",
    args: [targets, values, calldatas, description],
  });
  await system.services.chain.client.waitForTransactionReceipt({ hash: txHash });
  const proposalId = await system.services.chain.client.readContract({
    ...governor,
    functionName: "hashProposal",
    args: [targets, values, calldatas, keccak256(stringToHex(description))],
  });
  await advanceChainTime(system, 2);
  for (const voter of [1, 2, 3] as const) {
    await writeAs(system, voter, { ...governor, functionName: "castVote", args: [proposalId, 1] });
  }
  // Past the voting period and any late-quorum extension (20 s + 5 s on the local chain).
  await advanceChainTime(system, 30);
  const args = [targets, values, calldatas, keccak256(stringToHex(description))] as const;
  await writeAs(system, 1, { ...governor, functionName: "queue", args });
  await advanceChainTime(system, 5);
  await writeAs(system, 3, { ...governor, functionName: "execute", args });
  await syncIndexer(system.services.chain);
}

/** Accredits dev account `index` as a researcher through governance (as stewards would). */
export async function accredit(system: TestSystem, index: DevAccountIndex): Promise<void> {
  const holder = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)).address;
  await passProposal(system, {
    targets: [system.manifest.contracts.ResearcherCredential],
    values: [0n],
    calldatas: [
      encodeFunctionData({
        abi: researcherCredentialAbi,
        functionName: "issue",
        args: [holder, keccak256(stringToHex("test accreditation")), 0n],
      }),
    ],
    description: `Accredit ${holder}`,
  });
}

/** A JSON-RPC call to the test anvil (anvil_mine, evm_increaseTime, ...). */
export async function anvilRpc(system: TestSystem, method: string, params: unknown[] = []) {
  const response = await fetch(system.anvil.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

export interface SeededPatient {
  personId: bigint;
  /** Lower-case consent identity: the address that consents for this person on chain. */
  identity: Address;
  /** The identity's key (it signs the person's consent messages). */
  identityKey: Hex;
  /** Lower-case wallet of a dev patient (#6-#8), bound to `identity`; none for the others. */
  wallet?: Address;
  /** Anvil account index for dev patients (#6-#8). */
  devIndex?: DevAccountIndex;
  consented: boolean;
}

export interface SeededDataset {
  datasetId: Hex;
  dir: string;
  contentHash: Hex;
  price: bigint;
  /** Every person of the cohort, ascending by person id, with the identity it is enrolled to. */
  patients: SeededPatient[];
  /** Person ids whose consent was relayed (granted) on chain. */
  consentedPersonIds: bigint[];
}

export interface SeedDatasetOptions {
  persons: number;
  seed: number;
  title?: string;
  /** The listing steward, anvil #1-#3 (default #1). */
  steward?: 1 | 2 | 3;
  /** Price of a pass in token units (18 decimals; default 100 tokens). */
  price?: bigint;
  accessDays?: number;
  /** Dev patients enrolled as the first persons (ascending person id); default [6]. */
  devPatients?: DevAccountIndex[];
}

/** Nine in ten synthetic persons consent (deterministically); dev patients always do. */
function consentsByDefault(personId: bigint): boolean {
  return BigInt(keccak256(stringToHex(`consent:${personId}`))) % 10n !== 0n;
}

async function readPersonIds(dir: string): Promise<bigint[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      "SELECT person_id FROM read_parquet($path) ORDER BY person_id",
      { path: join(dir, "person.parquet") },
    );
    return reader.getRows().map((row) => BigInt(row[0] as bigint));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Signs `granted` with each patient's consent identity (nonce = on-chain nonce + 1) and relays
 * it with operator #9.
 */
export async function relayConsents(
  system: TestSystem,
  datasetId: Hex,
  patients: readonly Pick<SeededPatient, "identity" | "identityKey">[],
  granted: boolean,
): Promise<void> {
  const { client, manifest } = system.services.chain;
  const registry = manifest.contracts.ConsentRegistry;
  const latest = await client.getBlock();
  const consents = [];
  for (const patient of patients) {
    const current = await client.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "nonceOf",
      args: [patient.identity, datasetId],
    });
    consents.push({
      patientKey: patient.identityKey,
      datasetId,
      granted,
      nonce: BigInt(current) + 1n,
    });
  }
  await signAndRelayConsents({
    signer: createSigningClient(
      { chainId: LOCAL_CHAIN_ID, rpcUrl: system.anvil.rpcUrl },
      devAccountKey(LOCAL_CHAIN_ID, 9),
    ),
    reader: client,
    chainId: LOCAL_CHAIN_ID,
    consentRegistry: registry,
    consents,
    deadline: latest.timestamp + 24n * 60n * 60n,
  });
}

/**
 * Lists a dataset folder (files and manifest written by synth or an importer) on chain as
 * `steward`, waits for the indexer, and registers the folder on version 1 as the steward's
 * registration does.
 */
export async function listDatasetFolder(
  system: TestSystem,
  options: {
    datasetId: Hex;
    dir: string;
    manifest: { contentHash: string; schemaVersion: string; personCount: number };
    title: string;
    steward: 1 | 2 | 3;
    price?: bigint;
    accessDays?: number;
  },
): Promise<{ contentHash: Hex; price: bigint }> {
  const { datasetId, dir, manifest, title } = options;
  const contentHash = manifest.contentHash as Hex;
  const price = options.price ?? 100n * 10n ** 18n;
  const { manifest: deployment } = system.services.chain;
  await writeAs(system, options.steward, {
    address: deployment.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "listDataset",
    args: [
      datasetId,
      keccak256(stringToHex(title)),
      schemaVersionHash(manifest.schemaVersion),
      contentHash,
      price,
      BigInt((options.accessDays ?? 30) * 24 * 60 * 60),
    ],
  });
  await syncIndexer(system.services.chain);
  await system.db.dataset.update({
    where: { id: datasetId },
    data: { title, searchText: title.toLowerCase() },
    select: { id: true },
  });
  await system.db.datasetVersion.update({
    where: { datasetId_version: { datasetId, version: 1 } },
    data: {
      location: dir,
      manifest: JSON.parse(JSON.stringify(manifest)),
      personCount: manifest.personCount,
      registeredAt: new Date(),
    },
    select: { id: true },
  });
  return { contentHash, price };
}

/**
 * A small synthetic dataset, as a steward and the relayer would set it up (the same path as
 * the devstack's demo seed): cohort files in `system.workDir`, listed on chain by a steward,
 * indexed, its files registered on the DatasetVersion row, every person enrolled under a consent
 * identity (dev patients first: enrolled by wallet and bound to the identity their wallet
 * derives, as the patient page does; the others by identity alone, keys derived per person),
 * and consent signed by the identities and relayed for the dev patients and nine in ten of the
 * others. No payout address is registered. The indexer is synced at the end.
 */
export async function seedDataset(
  system: TestSystem,
  options: SeedDatasetOptions,
): Promise<SeededDataset> {
  const title = options.title ?? `Test cohort ${options.seed}`;
  const dir = join(system.workDir, "datasets", `seed-${options.seed}`);
  const manifest = await generateCohort({
    persons: options.persons,
    seed: options.seed,
    outDir: dir,
    title,
    createdAt: new Date("2026-11-01T00:00:00.000Z"),
  });
  const datasetId = keccak256(stringToHex(`opencohort-test-dataset:${options.seed}:${title}`));
  const { contentHash, price } = await listDatasetFolder(system, {
    datasetId,
    dir,
    manifest,
    title,
    steward: options.steward ?? 1,
    ...(options.price === undefined ? {} : { price: options.price }),
    ...(options.accessDays === undefined ? {} : { accessDays: options.accessDays }),
  });

  const devPatients = options.devPatients ?? [6];
  const personIds = await readPersonIds(dir);
  const patients: SeededPatient[] = [];
  for (const [position, personId] of personIds.entries()) {
    const devIndex = devPatients[position];
    const consented = devIndex !== undefined || consentsByDefault(personId);
    if (devIndex === undefined) {
      const identityKey = syntheticPatientKey(datasetId, personId);
      const identity = privateKeyToAccount(identityKey).address.toLowerCase() as Address;
      patients.push({ personId, identity, identityKey, consented });
      continue;
    }
    const wallet = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, devIndex));
    const derived = await deriveConsentIdentity(wallet, LOCAL_CHAIN_ID, datasetId);
    patients.push({
      personId,
      identity: derived.address,
      identityKey: derived.privateKey,
      wallet: wallet.address.toLowerCase() as Address,
      devIndex,
      consented,
    });
  }
  const boundAt = new Date();
  await system.db.$transaction((tx) =>
    createEnrolments(
      tx,
      sqlDialectOf(system.db),
      datasetId,
      patients.map((patient) => ({
        personId: patient.personId,
        identityAddress: patient.identity,
        patientAddress: patient.wallet ?? null,
        boundAt: patient.wallet ? boundAt : null,
      })),
    ),
  );
  const consenting = patients.filter((patient) => patient.consented);
  await relayConsents(system, datasetId, consenting, true);
  await syncIndexer(system.services.chain);
  return {
    datasetId,
    dir,
    contentHash,
    price,
    patients,
    consentedPersonIds: consenting.map((patient) => patient.personId),
  };
}

/** Researcher `index` approves the Marketplace and buys a pass for `dataset`; then indexes. */
export async function buyAccess(
  system: TestSystem,
  index: DevAccountIndex,
  dataset: Pick<SeededDataset, "datasetId" | "price">,
): Promise<{ txHash: Hex }> {
  const { contracts } = system.services.chain.manifest;
  await writeAs(system, index, {
    address: contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "approve",
    args: [contracts.Marketplace, dataset.price],
  });
  const { txHash } = await writeAs(system, index, {
    address: contracts.Marketplace,
    abi: marketplaceAbi,
    functionName: "purchaseAccess",
    args: [dataset.datasetId, dataset.price, 0n],
  });
  await syncIndexer(system.services.chain);
  return { txHash };
}
