/**
 * What a steward does off chain for the datasets they listed on chain: register the files
 * of a published version, supply the metadata whose hash is on chain, import the enrolment
 * list (person_id -> patient wallet), and see their datasets. Every procedure needs the
 * steward role (a StewardBadge), and acts only on datasets whose on-chain steward is the
 * caller.
 */
import {
  canonicalDatasetMetadata,
  datasetMetadataHash,
  schemaVersionHash,
} from "@opencohort/chain";
import { createEnrolments, type Prisma, sqlDialectOf } from "@opencohort/db";
import {
  datasetFolderInputSchema,
  datasetManifestSchema,
  datasetMetadataFields,
  importEnrolmentsInputSchema,
  importStatusInputSchema,
  registerVersionInputSchema,
  startImportInputSchema,
  updateMetadataInputSchema,
} from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { isAddress, zeroAddress } from "viem";
import type { ApiContext } from "../context";
import {
  conditionNames,
  latestRegisteredVersion,
  writeDatasetConditions,
} from "../services/condition-concepts";
import { enrolledConsentCounts } from "../services/consent-set";
import {
  listDatasetFolders,
  resolveDatasetFolder,
  verifiedDatasetFolder,
} from "../services/dataset-folders";
import { importStatus, listImportSources, startImport } from "../services/dataset-import";
import { personIdsMissingFrom } from "../services/dataset-persons";
import { syncIndexer } from "../services/indexer-sync";
import { refusal } from "../services/refusal";
import { roleProcedure } from "../trpc";

const stewardProcedure = roleProcedure("steward");

/**
 * Rows per bulk statement. Prisma refuses a statement with more bound values than the
 * provider allows (P2029; SQLite's limit is 999): a lookup binds two lists of this size, an
 * insert three values per row.
 */
const CHUNK = 300;

const chunks = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) =>
    items.slice(i * CHUNK, (i + 1) * CHUNK),
  );

/**
 * The dataset, if it exists and the caller is its on-chain steward. `refresh` first brings
 * the mirror up to the chain head (after a transaction the steward just sent); an unknown id
 * does so too before it is refused.
 */
async function ownedDataset(
  ctx: Pick<ApiContext, "db" | "chain"> & { session: { address: string } },
  datasetId: string,
  refresh = false,
) {
  if (refresh) await syncIndexer(ctx.chain);
  const read = () =>
    ctx.db.dataset.findUnique({
      where: { id: datasetId },
      select: { id: true, steward: true, metadataHash: true, latestVersion: true },
    });
  let dataset = await read();
  if (!dataset && !refresh) {
    // Listed a moment ago (the steward's transaction just mined): catch the mirror up once.
    await syncIndexer(ctx.chain);
    dataset = await read();
  }
  if (!dataset) {
    throw new TRPCError({ code: "NOT_FOUND", message: "There is no dataset with this id." });
  }
  if (dataset.steward !== ctx.session.address.toLowerCase()) {
    throw refusal(
      "FORBIDDEN",
      "dataset-steward",
      "Only the steward who listed this dataset may change it (rule dataset-steward).",
    );
  }
  return dataset;
}

function readVersion(ctx: Pick<ApiContext, "db">, datasetId: string, version: number) {
  return ctx.db.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId, version } },
    select: { id: true, manifestHash: true, schemaVersion: true },
  });
}

export const stewardRouter = {
  /**
   * The dataset folders in the server's dataset root, with what their manifests claim and
   * which published version (if any) each is registered as: what a steward picks from to
   * publish a dataset or a new version.
   */
  datasetFolders: stewardProcedure.query(async ({ ctx }) => {
    const folders = await listDatasetFolders(ctx.config.datasetRoot);
    const registered = await ctx.db.datasetVersion.findMany({
      where: { location: { in: folders.map((folder) => folder.location) } },
      select: {
        location: true,
        version: true,
        datasetId: true,
        dataset: { select: { title: true } },
      },
    });
    const byLocation = new Map(registered.map((row) => [row.location, row]));
    return folders.map(({ location, ...folder }) => {
      const version = byLocation.get(location);
      return {
        ...folder,
        registeredAs: version
          ? { datasetId: version.datasetId, version: version.version, title: version.dataset.title }
          : null,
      };
    });
  }),

  /** The exports in the server's import root a steward may import, with the format each looks like. */
  importSources: stewardProcedure.query(({ ctx }) => listImportSources(ctx.config)),

  /**
   * Imports an export from the import root into a new folder of the dataset root, with the
   * CLI's importers (pseudonyms keyed per steward); answers at once with a job to poll
   * (steward.importStatus). The new folder is then published like any other (datasetFolders,
   * inspectFolder, list on chain, registerVersion).
   */
  startImport: stewardProcedure
    .input(startImportInputSchema)
    .mutation(({ ctx, input }) => startImport(ctx.config, ctx.session.address, input)),

  /** How the caller's import is going: its stage, then the import report or the importer's error. */
  importStatus: stewardProcedure
    .input(importStatusInputSchema)
    .query(({ ctx, input }) => importStatus(ctx.config, ctx.session.address, input.jobId)),

  /**
   * Verifies a folder in the dataset root as registerVersion will (content hash recomputed
   * from the bytes), before the steward commits its hash on chain; with `conditions`, also
   * that each is a concept of the folder's vocabulary (rule condition-vocabulary), and names
   * them from it.
   */
  inspectFolder: stewardProcedure
    .input(datasetFolderInputSchema)
    .mutation(async ({ ctx, input }) => {
      const location = await resolveDatasetFolder(ctx.config.datasetRoot, input.folder);
      const { manifest } = await verifiedDatasetFolder(location);
      const names = await conditionNames(location, manifest, input.conditions ?? []);
      return {
        /** The declared conditions as the catalogue will name them (from the vocabulary). */
        conditions: (input.conditions ?? []).map((code) => ({ code, name: names.get(code) ?? "" })),
        folder: input.folder,
        contentHash: manifest.contentHash,
        schemaVersion: manifest.schemaVersion,
        schemaVersionHash: schemaVersionHash(manifest.schemaVersion),
        title: manifest.title,
        description: manifest.description,
        persons: manifest.personCount,
        tables: manifest.tables.map((table) => ({ name: table.name, rowCount: table.rowCount })),
      };
    }),

  /**
   * Points a published on-chain version at its folder (manifest.json + Parquet files) in the
   * dataset root. The folder must verify (manifest valid, files present, content hash
   * recomputed from the bytes, openable by compute), its manifest's contentHash must be the
   * one published on chain for this version, and its schema version the one published with it.
   */
  registerVersion: stewardProcedure
    .input(registerVersionInputSchema)
    .mutation(async ({ ctx, input }) => {
      await ownedDataset(ctx, input.datasetId);
      const location = await resolveDatasetFolder(ctx.config.datasetRoot, input.folder);
      const { manifest } = await verifiedDatasetFolder(location);

      let version = await readVersion(ctx, input.datasetId, input.version);
      if (!version || version.manifestHash !== manifest.contentHash) {
        // Perhaps published a moment ago: catch the mirror up once before refusing.
        await syncIndexer(ctx.chain);
        version = await readVersion(ctx, input.datasetId, input.version);
      }
      if (!version) {
        throw new TRPCError({
          code: "NOT_FOUND",
          message: `Version ${input.version} of this dataset is not published on chain.`,
        });
      }
      if (version.manifestHash !== manifest.contentHash) {
        throw refusal(
          "BAD_REQUEST",
          "manifest-hash",
          `The folder's content hash ${manifest.contentHash} is not the hash published on chain for version ${input.version} (${version.manifestHash}) (rule manifest-hash).`,
        );
      }
      if (schemaVersionHash(manifest.schemaVersion) !== version.schemaVersion) {
        throw refusal(
          "BAD_REQUEST",
          "schema-version",
          `The folder's schema version "${manifest.schemaVersion}" is not the one published on chain for version ${input.version} (rule schema-version).`,
        );
      }
      // The declared conditions must be concepts of the vocabulary the catalogue will name
      // them from: the version that becomes the latest registered one.
      const [described, latest] = await Promise.all([
        ctx.db.dataset.findUnique({
          where: { id: input.datasetId },
          select: { title: true, description: true, metadata: true },
        }),
        latestRegisteredVersion(ctx.db, input.datasetId),
      ]);
      const metadata = datasetMetadataFields.safeParse(described?.metadata);
      const becomesLatest = !latest || latest.version <= input.version;
      const names =
        metadata.success && becomesLatest
          ? await conditionNames(
              location,
              manifest,
              metadata.data.conditions.map((condition) => condition.code),
            )
          : undefined;
      const registeredAt = new Date();
      await ctx.db.datasetVersion.update({
        where: { id: version.id },
        data: {
          location,
          manifest: datasetManifestSchema.parse(manifest) as Prisma.InputJsonValue,
          personCount: manifest.personCount,
          registeredAt,
        },
        select: { id: true },
      });
      if (names && metadata.success) {
        const declared = metadata.data;
        await ctx.db.$transaction((tx) =>
          writeDatasetConditions(tx, input.datasetId, declared, names),
        );
      }
      return {
        datasetId: input.datasetId,
        version: input.version,
        contentHash: manifest.contentHash,
        persons: manifest.personCount,
        tables: manifest.tables.map((table) => ({ name: table.name, rowCount: table.rowCount })),
        registeredAt,
      };
    }),

  /**
   * Stores the dataset's metadata (title, description, conditions, schema version) for the
   * catalogue and its search. Accepted only if keccak256 of its canonical JSON (see
   * @opencohort/chain `datasetMetadataHash`) equals the metadataHash on chain.
   */
  updateMetadata: stewardProcedure
    .input(updateMetadataInputSchema)
    .mutation(async ({ ctx, input }) => {
      const { datasetId, ...fields } = input;
      const metadata = canonicalDatasetMetadata(fields);
      const hash = datasetMetadataHash(metadata);
      let dataset = await ownedDataset(ctx, datasetId);
      if (dataset.metadataHash !== hash) dataset = await ownedDataset(ctx, datasetId, true);
      if (dataset.metadataHash !== hash) {
        throw refusal(
          "BAD_REQUEST",
          "metadata-hash",
          `This metadata hashes to ${hash}, but the dataset's metadataHash on chain is ${dataset.metadataHash} (rule metadata-hash). The hash is keccak256 of JSON.stringify({ title, description, conditions: [{ code, label }], schemaVersion }), exactly in that order.`,
        );
      }
      const latest = await readVersion(ctx, datasetId, dataset.latestVersion);
      if (latest && schemaVersionHash(metadata.schemaVersion) !== latest.schemaVersion) {
        throw refusal(
          "BAD_REQUEST",
          "schema-version",
          `The schema version "${metadata.schemaVersion}" is not the one published on chain for the latest version (rule schema-version).`,
        );
      }
      // Named from the latest registered files' vocabulary (refused if it lacks a code); with
      // no files registered yet, named when they are (registerVersion).
      const registered = await latestRegisteredVersion(ctx.db, datasetId);
      const names = registered
        ? await conditionNames(
            registered.location,
            registered.manifest,
            metadata.conditions.map((condition) => condition.code),
          )
        : new Map<string, string>();
      await ctx.db.$transaction(async (tx) => {
        await tx.dataset.update({
          where: { id: datasetId },
          data: { title: metadata.title, description: metadata.description, metadata },
          select: { id: true },
        });
        await writeDatasetConditions(tx, datasetId, metadata, names);
      });
      return {
        datasetId,
        metadataHash: hash,
        ...metadata,
        /** The conditions as the catalogue names them: from the vocabulary, "" until files are registered. */
        conditionNames: metadata.conditions.map(({ code }) => ({
          code,
          name: names.get(code) ?? "",
        })),
      };
    }),

  /**
   * Adds enrolments (person_id -> the patient's wallet, or their consent identity with
   * `addressKind: "identity"`) to a dataset. Idempotent: entries already enrolled exactly so
   * are skipped. Refused as a whole (nothing stored) when an entry is malformed, names a
   * person the registered files do not hold, or conflicts with an existing enrolment (that
   * person to another address, or that address to another person).
   */
  importEnrolments: stewardProcedure
    .input(importEnrolmentsInputSchema)
    .mutation(async ({ ctx, input }) => {
      const { datasetId } = input;
      await ownedDataset(ctx, datasetId);
      const column = input.addressKind === "identity" ? "identityAddress" : "patientAddress";
      const entries = input.entries.map((entry) => ({
        personId: entry.personId,
        patientAddress: entry.patientAddress.toLowerCase(),
      }));
      input.entries.forEach((entry, index) => {
        if (
          !isAddress(entry.patientAddress, { strict: true }) ||
          entry.patientAddress.toLowerCase() === zeroAddress
        ) {
          throw new TRPCError({
            code: "BAD_REQUEST",
            message: `entries.${index}.patientAddress: is not a valid wallet address (bad checksum or zero)`,
          });
        }
      });

      const version = await ctx.db.datasetVersion.findFirst({
        where: { datasetId, location: { not: null } },
        orderBy: { version: "desc" },
        select: { version: true, location: true, manifest: true },
      });
      const manifest = datasetManifestSchema.safeParse(version?.manifest);
      const personTable = manifest.success
        ? manifest.data.tables.find((table) => table.name === "person")
        : undefined;
      if (!version?.location || !personTable) {
        throw refusal(
          "PRECONDITION_FAILED",
          "dataset-files",
          "Register the dataset's files first (steward.registerVersion): enrolments are checked against its person table.",
        );
      }
      const missing = new Set(
        await personIdsMissingFrom(
          version.location,
          personTable.file,
          entries.map((entry) => entry.personId),
        ),
      );
      const unknown = entries.findIndex((entry) => missing.has(entry.personId));
      if (unknown !== -1) {
        throw refusal(
          "BAD_REQUEST",
          "unknown-person",
          `entries.${unknown}.personId: person ${entries[unknown]?.personId} is not in the person table of version ${version.version} (${missing.size} unknown in all; rule unknown-person).`,
        );
      }

      // The other kind of address in this dataset: a wallet imported as an identity (or an
      // identity as a wallet) would let the wallet's own public consent count for the person.
      const otherColumn = column === "identityAddress" ? "patientAddress" : "identityAddress";
      const otherKind = input.addressKind === "identity" ? "wallet" : "consent identity";
      const existing: { personId: bigint; address: string | null }[] = [];
      const usedAsOtherKind = new Set<string>();
      for (const part of chunks(entries)) {
        const addresses = part.map((entry) => entry.patientAddress);
        const rows = await ctx.db.enrolment.findMany({
          where: {
            datasetId,
            OR: [
              { personId: { in: part.map((entry) => entry.personId) } },
              { [column]: { in: addresses } },
              { [otherColumn]: { in: addresses } },
            ],
          },
          select: { personId: true, patientAddress: true, identityAddress: true },
        });
        existing.push(...rows.map((row) => ({ personId: row.personId, address: row[column] })));
        for (const row of rows) {
          const other = row[otherColumn];
          if (other !== null) usedAsOtherKind.add(other);
        }
      }
      const addressOfPerson = new Map(existing.map((row) => [row.personId, row.address]));
      const personOfAddress = new Map(existing.map((row) => [row.address, row.personId]));
      const fresh: typeof entries = [];
      for (const [index, entry] of entries.entries()) {
        if (usedAsOtherKind.has(entry.patientAddress)) {
          throw refusal(
            "BAD_REQUEST",
            "enrolment-conflict",
            `entries.${index}.patientAddress: this address is enrolled in this dataset as a ${otherKind}; a consent identity and a wallet must differ (rule enrolment-conflict).`,
          );
        }
        const enrolledTo = addressOfPerson.get(entry.personId);
        const enrolledAs = personOfAddress.get(entry.patientAddress);
        if (enrolledTo === entry.patientAddress) continue; // already enrolled exactly so
        if (enrolledTo !== undefined || enrolledAs !== undefined) {
          throw refusal(
            "BAD_REQUEST",
            "enrolment-conflict",
            enrolledTo === null
              ? `entries.${index}.personId: person ${entry.personId} is already enrolled by ${otherKind}; the patient binds the other address by signing it themselves (rule enrolment-conflict).`
              : enrolledTo !== undefined
                ? `entries.${index}.personId: person ${entry.personId} is already enrolled to another ${input.addressKind} (rule enrolment-conflict).`
                : `entries.${index}.patientAddress: this ${input.addressKind} is already enrolled as another person (rule enrolment-conflict).`,
          );
        }
        fresh.push(entry);
      }

      try {
        // New enrolments get new ordinals, which no stored inclusion set holds: there is no
        // "who used my data" to back-fill (the binding of an enrolment made earlier by
        // identity back-fills, consent.ts).
        await ctx.db.$transaction(
          (tx) =>
            createEnrolments(
              tx,
              sqlDialectOf(ctx.db),
              datasetId,
              fresh.map((entry) => ({ personId: entry.personId, [column]: entry.patientAddress })),
            ),
          { timeout: 120_000 },
        );
      } catch (error) {
        if ((error as { code?: unknown }).code === "P2002") {
          throw refusal(
            "CONFLICT",
            "enrolment-conflict",
            "Another import changed these enrolments at the same time; import the list again.",
          );
        }
        throw error;
      }
      const enrolled = await ctx.db.enrolment.count({ where: { datasetId } });
      return {
        datasetId,
        inserted: fresh.length,
        skipped: entries.length - fresh.length,
        enrolled,
      };
    }),

  /** The datasets I listed, with their versions, enrolment and consent counts. */
  myDatasets: stewardProcedure.query(async ({ ctx }) => {
    const datasets = await ctx.db.dataset.findMany({
      where: { steward: ctx.session.address.toLowerCase() },
      orderBy: { listedBlock: "desc" },
      select: {
        id: true,
        title: true,
        listed: true,
        delistedByGovernance: true,
        latestVersion: true,
        metadataHash: true,
        metadata: true,
        versions: {
          orderBy: { version: "desc" },
          select: {
            version: true,
            manifestHash: true,
            personCount: true,
            registeredAt: true,
            publishedAt: true,
          },
        },
        _count: { select: { enrolments: true } },
      },
    });
    const consented = await enrolledConsentCounts(
      ctx.db,
      datasets.map((dataset) => dataset.id),
    );
    return datasets.map((dataset) => ({
      id: dataset.id,
      title: dataset.title,
      listed: dataset.listed,
      delistedByGovernance: dataset.delistedByGovernance,
      latestVersion: dataset.latestVersion,
      metadataHash: dataset.metadataHash,
      /** Whether metadata matching the on-chain hash was supplied. */
      hasMetadata: dataset.metadata !== null,
      versions: dataset.versions.map((version) => ({
        version: version.version,
        contentHash: version.manifestHash,
        publishedAt: version.publishedAt,
        registered: version.registeredAt !== null,
        registeredAt: version.registeredAt,
        persons: version.personCount,
      })),
      enrolments: dataset._count.enrolments,
      consented: consented.get(dataset.id) ?? 0,
    }));
  }),
} satisfies TRPCRouterRecord;
