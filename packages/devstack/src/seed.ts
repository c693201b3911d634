/**
 * Demo data for the local marketplace, each step skipped when already done, so a second
 * `npm start` seeds nothing twice: synthetic cohorts on disk, their listing on chain, the
 * stewards' metadata and enrolment lists in the database, and most patients' consent signed
 * and relayed on chain (the same gasless path the web app uses).
 */
import { existsSync, rmSync } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  conditionNames,
  writeDatasetConditions,
} from "@opencohort/api/services/condition-concepts";
import {
  createChainPublicClient,
  createSigningClient,
  type DeploymentManifest,
  type DevAccountIndex,
  datasetMetadataHash,
  datasetRegistryAbi,
  deriveConsentIdentity,
  devAccountKey,
  LOCAL_CHAIN_ID,
  payoutAddressTypedData,
  schemaVersionHash,
  signAndRelayConsents,
  syntheticPatientKey,
} from "@opencohort/chain";
import type { Indexer } from "@opencohort/chain/indexer/indexer";
import { importOmop } from "@opencohort/dataset";
import { VENDORED_EUNOMIA } from "@opencohort/dataset/vendored-sample";
import { createEnrolments, type Db, sqlDialectOf } from "@opencohort/db";
import {
  generateCohort,
  readManifest,
  SCHEMA_VERSION,
  verifyDatasetFolder,
} from "@opencohort/synth";
import { type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type DemoDataset, demoDatasetId, demoDatasets, demoMetadata } from "./demo-datasets";
import { progressBar } from "./progress";

export interface SeedContext {
  db: Db;
  rpcUrl: string;
  manifest: DeploymentManifest;
  indexer: Indexer;
  stateDir: string;
  persons: number;
  /** Keys the pseudonyms of imported demo datasets (never their source ids). */
  stewardSecret: string;
  /** Where stewards import source exports from in the web app (the dev stack's import root). */
  importRoot: string;
  log: (line: string) => void;
}

/** Which demo patients (anvil #6 Maria, #7 Jonas, #8 Priya) are enrolled in which dataset. */
const demoEnrolments: Record<string, DevAccountIndex[]> = {
  "northbridge-cardiometabolic": [6, 8],
  "lakeside-respiratory": [7, 8],
  "coastal-primary-care": [6, 7, 8],
  "eunomia-gibleed": [7, 8],
};

/**
 * Priya has not visited yet: she is enrolled by wallet only, with no consent identity and no
 * consent, so the patient page shows the first visit (create identities, opt in).
 */
const FIRST_VISIT_PATIENT: DevAccountIndex = 8;

/** Nine in ten synthetic patients opt in; the demo patients always do (they can opt out in the app). */
function consentsByDefault(personId: bigint): boolean {
  return BigInt(keccak256(stringToHex(`consent:${personId}`))) % 10n !== 0n;
}

async function ensureCohortFiles(dataset: DemoDataset, ctx: SeedContext): Promise<string> {
  const dir = join(ctx.stateDir, "datasets", dataset.slug, "v1");
  const { source } = dataset;
  if (existsSync(join(dir, "manifest.json"))) {
    const verification = await verifyDatasetFolder(dir);
    const manifest = verification.ok ? await readManifest(dir) : undefined;
    // A synthetic folder of another size or an older schema version is generated afresh.
    const current =
      source.kind === "omop"
        ? manifest !== undefined
        : manifest?.personCount === ctx.persons && manifest.schemaVersion === SCHEMA_VERSION;
    if (current) return dir;
    rmSync(dir, { recursive: true, force: true });
  }
  const bar = progressBar(
    `${source.kind === "omop" ? "Importing" : "Generating"} ${dataset.title}`,
    100,
  );
  const onProgress = ({ done, total }: { done: number; total: number }) =>
    bar.update(Math.round((done / Math.max(total, 1)) * 100));
  if (source.kind === "omop") {
    // The steward's path: the same importer as `opencohort-dataset import omop`.
    await importOmop(source.folder, {
      outDir: dir,
      secret: ctx.stewardSecret,
      title: dataset.title,
      description: dataset.description,
      skipOrphans: source.skipOrphans,
      onProgress,
    });
  } else {
    await generateCohort({
      persons: ctx.persons,
      seed: source.seed,
      outDir: dir,
      title: dataset.title,
      onProgress,
    });
  }
  bar.done();
  return dir;
}

/**
 * The vendored Eunomia export, copied into the import root, so a steward can import (and
 * publish) it from the steward page as they would their own export.
 */
async function ensureImportSamples(ctx: SeedContext) {
  const target = join(ctx.importRoot, basename(VENDORED_EUNOMIA));
  if (existsSync(target)) return;
  await mkdir(ctx.importRoot, { recursive: true });
  await cp(VENDORED_EUNOMIA, target, { recursive: true });
  ctx.log(
    `Copied the Eunomia GiBleed OMOP export into ${ctx.importRoot} (import it from /steward)`,
  );
}

async function ensureListed(
  dataset: DemoDataset,
  manifest: { contentHash: string; schemaVersion: string },
  ctx: SeedContext,
): Promise<Hex> {
  const datasetId = demoDatasetId(dataset);
  const reader = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl: ctx.rpcUrl });
  const registry = {
    address: ctx.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
  } as const;
  if (await reader.readContract({ ...registry, functionName: "exists", args: [datasetId] }))
    return datasetId;
  const steward = createSigningClient(
    { chainId: LOCAL_CHAIN_ID, rpcUrl: ctx.rpcUrl },
    devAccountKey(LOCAL_CHAIN_ID, (dataset.stewardIndex + 1) as 1 | 2 | 3),
  );
  const hash = await steward.writeContract({
    ...registry,
    functionName: "listDataset",
    args: [
      datasetId,
      datasetMetadataHash(demoMetadata(dataset, manifest.schemaVersion)),
      schemaVersionHash(manifest.schemaVersion),
      manifest.contentHash as Hex,
      dataset.price,
      BigInt(dataset.accessDays * 24 * 60 * 60),
    ],
  });
  await reader.waitForTransactionReceipt({ hash });
  ctx.log(`Listed ${dataset.title} as ${datasetId}`);
  return datasetId;
}

async function registerMetadataAndFiles(
  dataset: DemoDataset,
  datasetId: Hex,
  dir: string,
  ctx: SeedContext,
): Promise<void> {
  const version = await ctx.db.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId, version: 1 } },
    select: { location: true, registeredAt: true, dataset: { select: { metadata: true } } },
  });
  // Done on an earlier start: rewriting it would only move the catalogue's update times.
  if (version?.registeredAt && version.location === dir && version.dataset.metadata !== null) {
    return;
  }
  const manifest = await readManifest(dir);
  const metadata = demoMetadata(dataset, manifest.schemaVersion);
  // Named from the dataset's vocabulary as the API names a steward's conditions (a code the
  // vocabulary lacks fails the seed, as it would fail a steward's registration).
  const names = await conditionNames(
    dir,
    manifest,
    metadata.conditions.map((condition) => condition.code),
  );
  await ctx.db.$transaction(async (tx) => {
    await tx.dataset.update({
      where: { id: datasetId },
      data: { title: metadata.title, description: metadata.description, metadata },
      select: { id: true },
    });
    await writeDatasetConditions(tx, datasetId, metadata, names);
    await tx.datasetVersion.update({
      where: { datasetId_version: { datasetId, version: 1 } },
      data: {
        location: dir,
        manifest,
        personCount: manifest.personCount,
        registeredAt: new Date(),
      },
      select: { id: true },
    });
  });
}

/** A catalogue condition code ("ICD10:E11", "SNOMED:74474003") as vocabulary and code prefix. */
function splitConditionCode(code: string): { vocabulary: string; prefix: string } {
  const [vocabulary = "", prefix = ""] = code.split(":", 2);
  return { vocabulary, prefix };
}

async function readPersonIds(dir: string, flagshipCondition: string) {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const all = await connection.runAndReadAll(
      "SELECT person_id FROM read_parquet($path) ORDER BY person_id",
      { path: join(dir, "person.parquet") },
    );
    const withCondition = await connection.runAndReadAll(
      `SELECT DISTINCT person_id FROM read_parquet($path)
       WHERE condition_vocabulary = $vocabulary AND starts_with(condition_code, $prefix)
       ORDER BY person_id LIMIT 3`,
      { path: join(dir, "condition_occurrence.parquet"), ...splitConditionCode(flagshipCondition) },
    );
    return {
      all: all.getRows().map((row) => BigInt(row[0] as bigint)),
      flagship: withCondition.getRows().map((row) => BigInt(row[0] as bigint)),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

interface PlannedEnrolment {
  personId: bigint;
  /** Lower-case consent identity (the address that consents on chain); null until bound. */
  identity: string | null;
  /** The identity's key (it signs the consent). */
  identityKey: Hex;
  /** Demo patients always opt in (they can opt out in the app); others nine times in ten. */
  consents: boolean;
}

/**
 * Enrols every person of the dataset under a consent identity. The demo patients (anvil #6-#8)
 * are enrolled by wallet and bound to the identity their wallet derives for this dataset, with
 * their wallet as payout address, exactly as the patient page does on their first visit.
 * Synthetic persons are enrolled by identity alone (as a steward imports identities its
 * patients gave it): the identity key is the synthetic key, and they have no wallet here.
 */
async function ensureEnrolments(
  dataset: DemoDataset,
  datasetId: Hex,
  dir: string,
  ctx: SeedContext,
): Promise<PlannedEnrolment[]> {
  const { all, flagship } = await readPersonIds(dir, dataset.conditions[0]?.code ?? ":");
  const demoWallets = new Map(
    (demoEnrolments[dataset.slug] ?? []).map((index, position) => [
      flagship[position] ?? all[position] ?? 0n,
      { index, account: privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)) },
    ]),
  );
  const firstVisit = new Map(
    [...demoWallets]
      .filter(([, wallet]) => wallet.index === FIRST_VISIT_PATIENT)
      .map(([personId, wallet]) => [personId, wallet.account.address.toLowerCase()]),
  );
  const demoIdentities = new Map<bigint, { wallet: string; key: Hex; address: string }>();
  for (const [personId, { index, account: wallet }] of demoWallets) {
    if (index === FIRST_VISIT_PATIENT) continue;
    const identity = await deriveConsentIdentity(wallet, LOCAL_CHAIN_ID, datasetId);
    demoIdentities.set(personId, {
      wallet: wallet.address.toLowerCase(),
      key: identity.privateKey,
      address: identity.address,
    });
  }
  // Deriving an address is an elliptic-curve multiplication per person: once, at enrolment;
  // later starts read the addresses back.
  const enrolled = new Map(
    (
      await ctx.db.enrolment.findMany({
        where: { datasetId },
        select: { personId: true, identityAddress: true },
      })
    ).map((row) => [row.personId, row.identityAddress]),
  );
  const planned = all.map((personId): PlannedEnrolment => {
    const demo = demoIdentities.get(personId);
    const identityKey = demo?.key ?? syntheticPatientKey(datasetId, personId);
    if (firstVisit.has(personId)) {
      return { personId, identityKey, identity: null, consents: false };
    }
    return {
      personId,
      identityKey,
      identity:
        enrolled.get(personId) ??
        demo?.address ??
        privateKeyToAccount(identityKey).address.toLowerCase(),
      consents: demo !== undefined || consentsByDefault(personId),
    };
  });
  if (enrolled.size === 0) {
    const now = new Date();
    const rows = planned.map((entry) => {
      const demo = demoIdentities.get(entry.personId);
      return {
        personId: entry.personId,
        identityAddress: entry.identity,
        patientAddress: demo?.wallet ?? firstVisit.get(entry.personId) ?? null,
        boundAt: demo ? now : null,
      };
    });
    await ctx.db.$transaction((tx) => createEnrolments(tx, sqlDialectOf(ctx.db), datasetId, rows), {
      timeout: 120_000,
    });
    await registerDemoPayouts([...demoIdentities.values()], ctx);
    ctx.log(
      `Enrolled ${rows.length.toLocaleString("en-US")} persons in ${dataset.title}, each under a consent identity of its own (${demoIdentities.size} demo patient(s) bound to their wallets, ${firstVisit.size} yet to visit)`,
    );
  }
  return planned;
}

/** The demo patients' identities name their wallet as payout address (signed by the identity). */
async function registerDemoPayouts(
  identities: { wallet: string; key: Hex; address: string }[],
  ctx: SeedContext,
) {
  const issuedAt = BigInt(Math.floor(Date.now() / 1000));
  for (const identity of identities) {
    const signer = privateKeyToAccount(identity.key);
    const signature = await signer.signTypedData(
      payoutAddressTypedData(LOCAL_CHAIN_ID, {
        identity: signer.address,
        payout: identity.wallet as Hex,
        issuedAt,
      }),
    );
    await ctx.db.payoutRegistration.upsert({
      where: { identityAddress: identity.address },
      create: {
        identityAddress: identity.address,
        payoutAddress: identity.wallet,
        signature,
        issuedAt,
      },
      update: {},
      select: { identityAddress: true },
    });
  }
}

async function ensureConsents(
  datasetId: Hex,
  planned: PlannedEnrolment[],
  ctx: SeedContext,
  title: string,
) {
  const already = new Set(
    (
      await ctx.db.consentState.findMany({ where: { datasetId }, select: { patientAddress: true } })
    ).map((row) => row.patientAddress),
  );
  const toSign = planned.filter(
    (entry) => entry.consents && entry.identity !== null && !already.has(entry.identity),
  );
  if (toSign.length === 0) return;
  const env = { chainId: LOCAL_CHAIN_ID, rpcUrl: ctx.rpcUrl };
  const bar = progressBar(`Signing and relaying consents for ${title}`, toSign.length);
  await signAndRelayConsents({
    signer: createSigningClient(env, devAccountKey(LOCAL_CHAIN_ID, 9)),
    reader: createChainPublicClient(env),
    chainId: LOCAL_CHAIN_ID,
    consentRegistry: ctx.manifest.contracts.ConsentRegistry,
    consents: toSign.map((entry) => ({
      patientKey: entry.identityKey,
      datasetId,
      granted: true,
      nonce: 1n,
    })),
    deadline: BigInt(Math.floor(Date.now() / 1000) + 24 * 60 * 60),
    onBatch: (relayed) => bar.update(relayed),
  });
  bar.done();
}

export async function seedDemo(ctx: SeedContext): Promise<void> {
  await ensureImportSamples(ctx);
  const listed: { dataset: DemoDataset; datasetId: Hex; dir: string }[] = [];
  for (const dataset of demoDatasets) {
    const dir = await ensureCohortFiles(dataset, ctx);
    const manifest = await readManifest(dir);
    listed.push({
      dataset,
      datasetId: await ensureListed(dataset, manifest, ctx),
      dir,
    });
  }
  await ctx.indexer.syncOnce();
  for (const { dataset, datasetId, dir } of listed) {
    await registerMetadataAndFiles(dataset, datasetId, dir, ctx);
    const planned = await ensureEnrolments(dataset, datasetId, dir, ctx);
    await ensureConsents(datasetId, planned, ctx, dataset.title);
  }
  await ctx.indexer.syncOnce();
}
