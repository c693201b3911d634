import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  datasetMetadataHash,
  datasetRegistryAbi,
  devAccountKey,
  syntheticPatientKey,
} from "@opencohort/chain";
import { importOmop } from "@opencohort/dataset";
import { VENDORED_EUNOMIA } from "@opencohort/dataset/vendored-sample";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stewardImportSecret } from "../services/dataset-import";
import { relayConsents, startTestSystem, type TestSystem, writeAs } from "../testing/harness";
import {
  type CohortFolder,
  cohortFolder,
  type ListedDataset,
  listOnChain,
} from "../testing/listing";

let system: TestSystem;
let folder: CohortFolder;
let other: CohortFolder;
let dataset: ListedDataset;
let steward: Awaited<ReturnType<TestSystem["signIn"]>>;
/** The Eunomia import, listed and registered by the test that publishes it. */
let eunomiaDatasetId: `0x${string}` | undefined;

const metadata = {
  title: "Riverside Diabetes Cohort",
  description: "Adults with type 2 diabetes followed in Riverside clinics.",
  conditions: [
    { code: "ICD10:E11", label: "Type 2 diabetes mellitus" },
    { code: "ICD10:I10", label: "Essential hypertension" },
  ],
  schemaVersion: "omop-lite/2",
};

/** A concept of an OMOP concept.csv by exact name, read with DuckDB. */
async function sourceConcept(path: string, name: string) {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      "SELECT VOCABULARY_ID, CONCEPT_CODE, CONCEPT_NAME FROM read_csv($path, header = true) WHERE CONCEPT_NAME = $name AND STANDARD_CONCEPT = 'S'",
      { path, name },
    );
    const [vocabulary, code, found] = reader.getRowsJS()[0] ?? [];
    return { vocabulary: String(vocabulary), code: String(code), name: String(found) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The steward (#1) puts another metadata hash of the dataset on chain. */
const setMetadataOnChain = (next: typeof metadata) =>
  writeAs(system, 1, {
    address: system.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "setMetadata",
    args: [dataset.datasetId, datasetMetadataHash(next)],
  });

const patient = (index: 6 | 7 | 8) =>
  privateKeyToAccount(devAccountKey(31337, index)).address.toLowerCase();

beforeAll(async () => {
  system = await startTestSystem();
  [folder, other] = await Promise.all([
    cohortFolder(system, 200, 11),
    cohortFolder(system, 60, 12),
  ]);
  dataset = await listOnChain(system, {
    slug: "steward-riverside",
    contentHash: folder.manifest.contentHash,
    metadata,
  });
  steward = await system.signIn(1);
});
afterAll(async () => {
  await system?.stop();
});

describe("steward", () => {
  it("is FORBIDDEN without a StewardBadge, and for another steward's dataset", async () => {
    const { caller: researcher } = await system.signIn(4);
    await expect(researcher.steward.myDatasets()).rejects.toMatchObject({ code: "FORBIDDEN" });
    const { caller: otherSteward } = await system.signIn(2);
    await expect(
      otherSteward.steward.registerVersion({
        datasetId: dataset.datasetId,
        version: 1,
        folder: folder.folder,
      }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("dataset-steward"),
    });
    await expect(system.anonymous().steward.myDatasets()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
  });

  it("refuses enrolments before the files are registered", async () => {
    await expect(
      steward.caller.steward.importEnrolments({
        datasetId: dataset.datasetId,
        entries: [{ personId: folder.personIds[0] as bigint, patientAddress: patient(6) }],
      } as never),
    ).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
  });

  it("registers a version only for a valid folder whose hash is the on-chain one", async () => {
    const register = (name: string, version = 1) =>
      steward.caller.steward.registerVersion({
        datasetId: dataset.datasetId,
        version,
        folder: name,
      });
    for (const outside of [folder.dir, "../cohorts", "a/../../etc", "./x"]) {
      await expect(register(outside)).rejects.toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringContaining("folder: must be a folder inside the dataset root"),
      });
    }
    await expect(register("nowhere")).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: 'There is no folder "nowhere" in the dataset root (rule dataset-folder).',
    });
    await expect(register(other.folder)).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule manifest-hash"),
    });
    await expect(register(folder.folder, 2)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      steward.caller.steward.registerVersion({
        datasetId: `0x${"ee".repeat(32)}`,
        version: 1,
        folder: folder.folder,
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });

    const registered = await register(folder.folder);
    expect(registered).toMatchObject({ version: 1, persons: 200 });
    const row = await system.db.datasetVersion.findUniqueOrThrow({
      where: { datasetId_version: { datasetId: dataset.datasetId, version: 1 } },
      select: { location: true, personCount: true, registeredAt: true, manifest: true },
    });
    expect(row).toMatchObject({ location: folder.dir, personCount: 200 });
    expect(row.registeredAt).toBeInstanceOf(Date);
    expect(row.manifest).toMatchObject({ contentHash: folder.manifest.contentHash });
  });

  it("lists and verifies the folders of the dataset root, and nothing outside it", async () => {
    const root = system.services.config.datasetRoot as string;
    // A symlink out of the root is refused as such, without reading what it points at.
    symlinkSync(system.workDir, join(root, "escape"));
    // A folder whose files changed after the manifest was written fails verification.
    const tampered = join(root, "tampered");
    cpSync(other.dir, tampered, { recursive: true });
    appendFileSync(join(tampered, "person.parquet"), "x");

    await expect(
      steward.caller.steward.inspectFolder({ folder: "escape/cohorts" }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: 'The folder "escape/cohorts" leads outside the dataset root (rule dataset-root).',
    });
    await expect(
      steward.caller.steward.inspectFolder({ folder: "tampered" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("content hash mismatch"),
    });
    const inspected = await steward.caller.steward.inspectFolder({ folder: other.folder });
    expect(inspected).toMatchObject({
      folder: other.folder,
      contentHash: other.manifest.contentHash,
      schemaVersion: "omop-lite/2",
      persons: 60,
    });
    expect(inspected.tables.map((table) => table.name)).toContain("person");

    const folders = await steward.caller.steward.datasetFolders();
    const names = folders.map((entry) => entry.folder);
    expect(names).toEqual(expect.arrayContaining([folder.folder, other.folder, "tampered"]));
    // Nothing under the symlinked escape (the work dir holds the system's database and more).
    expect(names.some((name) => name.startsWith("escape"))).toBe(false);
    expect(folders.find((entry) => entry.folder === folder.folder)?.registeredAs).toMatchObject({
      datasetId: dataset.datasetId,
      version: 1,
    });
    expect(folders.find((entry) => entry.folder === other.folder)?.registeredAs).toBeNull();
    const { caller: researcher } = await system.signIn(4);
    await expect(researcher.steward.datasetFolders()).rejects.toMatchObject({ code: "FORBIDDEN" });
    rmSync(join(root, "escape"));
    rmSync(tampered, { recursive: true });
  });

  it("stores metadata only when it hashes to the on-chain metadataHash", async () => {
    await expect(
      steward.caller.steward.updateMetadata({
        datasetId: dataset.datasetId,
        ...metadata,
        title: "Something else",
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule metadata-hash"),
    });
    await expect(
      steward.caller.steward.updateMetadata({
        datasetId: dataset.datasetId,
        ...metadata,
        conditions: [metadata.conditions[0], metadata.conditions[0]] as never,
      }),
    ).rejects.toMatchObject({ message: "conditions.1.code: is listed twice" });

    await steward.caller.steward.updateMetadata({ datasetId: dataset.datasetId, ...metadata });
    const stored = await system.db.dataset.findUniqueOrThrow({
      where: { id: dataset.datasetId },
      select: {
        title: true,
        searchText: true,
        metadata: true,
        conditions: { select: { code: true, label: true }, orderBy: { code: "asc" } },
      },
    });
    expect(stored.title).toBe(metadata.title);
    // Named from the registered files' concept table, not by the labels the steward typed.
    const named = (code: string) => ({ code, label: folder.conceptNames.get(code) });
    expect(folder.conceptNames.get("ICD10:I10")).not.toBe("Essential hypertension");
    expect(stored.conditions).toEqual([named("ICD10:E11"), named("ICD10:I10")]);
    expect(stored.searchText).toContain(
      `icd10:i10 ${folder.conceptNames.get("ICD10:I10")?.toLowerCase()}`,
    );

    // The steward changes the metadata on chain; the API follows (catching the mirror up).
    const updated = {
      ...metadata,
      conditions: [{ code: "ICD10:E11", label: "Type 2 diabetes" }],
    };
    await setMetadataOnChain(updated);
    await steward.caller.steward.updateMetadata({ datasetId: dataset.datasetId, ...updated });
    expect(
      await system.db.datasetCondition.findMany({
        where: { datasetId: dataset.datasetId },
        select: { code: true, label: true },
      }),
    ).toEqual([named("ICD10:E11")]);
  });

  it("refuses a declared condition that the dataset's vocabulary does not contain", async () => {
    const unknown = {
      ...metadata,
      conditions: [...metadata.conditions, { code: "ICD10:E11.99", label: "" }],
    };
    await expect(
      steward.caller.steward.inspectFolder({
        folder: folder.folder,
        conditions: ["ICD10:E11", "ICD10:E11.99"],
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(
        /^conditions\.1\.code: ICD10:E11\.99 is not a concept of the dataset's vocabulary .*rule condition-vocabulary/,
      ),
    });
    // Spelled otherwise than the concept table (the vocabulary's own spelling is ICD10).
    await expect(
      steward.caller.steward.inspectFolder({ folder: folder.folder, conditions: ["ICD10CM:E11"] }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule condition-vocabulary") });
    await expect(
      steward.caller.steward.inspectFolder({ folder: folder.folder, conditions: ["icd10:E11"] }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("OMOP vocabulary"),
    });
    expect(
      await steward.caller.steward.inspectFolder({
        folder: folder.folder,
        conditions: ["ICD10:I10"],
      }),
    ).toMatchObject({
      conditions: [{ code: "ICD10:I10", name: folder.conceptNames.get("ICD10:I10") }],
    });

    // On chain already: the metadata is refused and the stored conditions stay as they were.
    await setMetadataOnChain(unknown);
    const before = await system.db.datasetCondition.findMany({
      where: { datasetId: dataset.datasetId },
      select: { code: true, label: true },
    });
    await expect(
      steward.caller.steward.updateMetadata({ datasetId: dataset.datasetId, ...unknown }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("conditions.2.code: ICD10:E11.99 is not a concept"),
    });
    expect(
      await system.db.datasetCondition.findMany({
        where: { datasetId: dataset.datasetId },
        select: { code: true, label: true },
      }),
    ).toEqual(before);
    await setMetadataOnChain(metadata);
    await steward.caller.steward.updateMetadata({ datasetId: dataset.datasetId, ...metadata });
  });

  it("imports enrolments idempotently, refusing bad, unknown and conflicting entries", async () => {
    const [p0, p1, p2, p3] = folder.personIds as [bigint, bigint, bigint, bigint];
    const importing = (entries: { personId: bigint | string | number; patientAddress: string }[]) =>
      steward.caller.steward.importEnrolments({ datasetId: dataset.datasetId, entries } as never);

    await expect(
      importing([
        { personId: p0, patientAddress: patient(6) },
        { personId: p0, patientAddress: patient(7) },
      ]),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "entries.1.personId: is listed twice",
    });
    await expect(importing([{ personId: p0, patientAddress: "0x1234" }])).rejects.toMatchObject({
      message: "entries.0.patientAddress: must be a 0x-prefixed 20-byte address",
    });
    // The EIP-55 checksum of Maria's address with the case of its first letter flipped.
    const checksummed = privateKeyToAccount(devAccountKey(31337, 6)).address;
    const letter = checksummed.slice(2).search(/[a-fA-F]/) + 2;
    const flipped = checksummed[letter] as string;
    const badChecksum = `${checksummed.slice(0, letter)}${flipped === flipped.toLowerCase() ? flipped.toUpperCase() : flipped.toLowerCase()}${checksummed.slice(letter + 1)}`;
    await expect(importing([{ personId: p0, patientAddress: badChecksum }])).rejects.toMatchObject({
      message: "entries.0.patientAddress: is not a valid wallet address (bad checksum or zero)",
    });
    await expect(
      importing([{ personId: 999_999_999_999n, patientAddress: patient(6) }]),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule unknown-person"),
    });

    const first = await importing([
      { personId: p0, patientAddress: patient(6) },
      { personId: p1.toString(), patientAddress: patient(7) },
    ]);
    expect(first).toMatchObject({ inserted: 2, skipped: 0, enrolled: 2 });
    const again = await importing([
      { personId: p0, patientAddress: patient(6) },
      { personId: p2, patientAddress: patient(8) },
    ]);
    expect(again).toMatchObject({ inserted: 1, skipped: 1, enrolled: 3 });
    await expect(importing([{ personId: p3, patientAddress: patient(6) }])).rejects.toMatchObject({
      message: expect.stringContaining("rule enrolment-conflict"),
    });
    await expect(
      importing([{ personId: p0, patientAddress: `0x${"ab".repeat(20)}` }]),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule enrolment-conflict") });
    expect(await system.db.enrolment.count({ where: { datasetId: dataset.datasetId } })).toBe(3);

    const { caller: maria } = await system.signIn(6);
    expect((await maria.auth.session())?.roles.patient).toBe(true);
  });

  it("lists my datasets with versions, enrolment and consent counts", async () => {
    const mine = await steward.caller.steward.myDatasets();
    expect(mine).toHaveLength(1); // (the next test lists a second one)
    expect(mine[0]).toMatchObject({
      id: dataset.datasetId,
      title: metadata.title,
      hasMetadata: true,
      enrolments: 3,
      consented: 0,
      versions: [{ version: 1, registered: true, persons: 200 }],
    });
    const { caller: lakeside } = await system.signIn(2);
    expect(await lakeside.steward.myDatasets()).toEqual([]);
  });

  it("imports consent identities, never an address enrolled as the other kind", async () => {
    const [p0, , , p3, p4, p5] = folder.personIds as [
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const identity = (personId: bigint) => {
      const identityKey = syntheticPatientKey(dataset.datasetId, personId);
      return { identityKey, identity: privateKeyToAccount(identityKey).address };
    };
    const importing = (
      addressKind: "wallet" | "identity",
      entries: { personId: bigint; patientAddress: string }[],
    ) =>
      steward.caller.steward.importEnrolments({
        datasetId: dataset.datasetId,
        addressKind,
        entries,
      });
    const [id3, id4] = [identity(p3), identity(p4)];

    expect(
      await importing("identity", [
        { personId: p3, patientAddress: id3.identity },
        { personId: p4, patientAddress: id4.identity },
      ]),
    ).toMatchObject({ inserted: 2, skipped: 0, enrolled: 5 });
    // Enrolled by identity alone: no wallet until the patient binds one.
    expect(
      await system.db.enrolment.findUniqueOrThrow({
        where: { datasetId_personId: { datasetId: dataset.datasetId, personId: p3 } },
        select: { patientAddress: true, identityAddress: true, boundAt: true },
      }),
    ).toEqual({ patientAddress: null, identityAddress: id3.identity.toLowerCase(), boundAt: null });
    expect(
      await importing("identity", [{ personId: p3, patientAddress: id3.identity }]),
    ).toMatchObject({ inserted: 0, skipped: 1, enrolled: 5 });

    const conflict = (message: string) => ({
      code: "BAD_REQUEST",
      message: expect.stringMatching(new RegExp(`${message}.*rule enrolment-conflict`)),
    });
    await expect(
      importing("identity", [{ personId: p5, patientAddress: id3.identity }]),
    ).rejects.toMatchObject(conflict("this identity is already enrolled as another person"));
    await expect(
      importing("identity", [{ personId: p3, patientAddress: identity(p5).identity }]),
    ).rejects.toMatchObject(conflict(`person ${p3} is already enrolled to another identity`));
    // Maria (#6) was enrolled by wallet: her identity is bound by her own signature only.
    await expect(
      importing("identity", [{ personId: p0, patientAddress: identity(p0).identity }]),
    ).rejects.toMatchObject(conflict(`person ${p0} is already enrolled by wallet`));
    // Jonas's wallet as a consent identity would count his wallet's public consent; an
    // identity imported as a wallet would let him sign in as the identity.
    await expect(
      importing("identity", [
        { personId: p5, patientAddress: privateKeyToAccount(devAccountKey(31337, 7)).address },
      ]),
    ).rejects.toMatchObject(conflict("enrolled in this dataset as a wallet"));
    await expect(
      importing("wallet", [{ personId: p5, patientAddress: id4.identity }]),
    ).rejects.toMatchObject(conflict("enrolled in this dataset as a consent identity"));
    expect(await system.db.enrolment.count({ where: { datasetId: dataset.datasetId } })).toBe(5);

    // The identity's consent is what counts for the steward; not Maria's wallet's own (before
    // identities), nor that of an address nobody enrolled.
    await relayConsents(
      system,
      dataset.datasetId,
      [
        id3,
        { identity: patient(6) as `0x${string}`, identityKey: devAccountKey(31337, 6) },
        identity(p5),
      ],
      true,
    );
    await system.services.chain.indexer.syncOnce();
    const [mine] = await steward.caller.steward.myDatasets();
    expect(mine).toMatchObject({ id: dataset.datasetId, enrolments: 5, consented: 1 });
  });

  it("registers files and metadata right after the listing mined, before any indexing", async () => {
    const fresh = { ...metadata, title: "Riverside, listed a moment ago" };
    const listed = await listOnChain(system, {
      slug: "steward-fresh",
      contentHash: other.manifest.contentHash,
      metadata: fresh,
      index: false,
    });
    const registered = await steward.caller.steward.registerVersion({
      datasetId: listed.datasetId,
      version: 1,
      folder: other.folder,
    });
    expect(registered).toMatchObject({ version: 1, persons: 60 });
    await expect(
      steward.caller.steward.updateMetadata({ datasetId: listed.datasetId, ...fresh }),
    ).resolves.toMatchObject({ title: fresh.title });
  });
  it("publishes a dataset imported from an OMOP CDM export (Eunomia) like any folder", async (context) => {
    const eunomia = resolve(import.meta.dirname, "../../../../../shared/data/eunomia-gibleed-omop");
    if (!existsSync(eunomia)) {
      context.skip(`the shared samples are not at ${eunomia}`);
      return;
    }
    const report = await importOmop(eunomia, {
      outDir: join(system.services.config.datasetRoot as string, "eunomia"),
      secret: "test-steward-secret-0123456789",
      title: "Eunomia GiBleed",
      skipOrphans: true,
    });
    expect(await steward.caller.steward.inspectFolder({ folder: "eunomia" })).toMatchObject({
      schemaVersion: "omop-lite/2",
      contentHash: report.manifest.contentHash,
      persons: report.manifest.personCount,
    });
    // The GI bleed concept as the source's own concept.csv spells and names it.
    const source = await sourceConcept(join(eunomia, "concept.csv"), "Gastrointestinal hemorrhage");
    const code = `${source.vocabulary}:${source.code}`;
    const gibleed = {
      ...metadata,
      title: "Eunomia GiBleed",
      conditions: [{ code, label: "GI bleed" }],
      schemaVersion: "omop-lite/2",
    };
    const listed = await listOnChain(system, {
      slug: "steward-eunomia",
      contentHash: report.manifest.contentHash,
      metadata: gibleed,
    });
    // Described before its files are registered: no name yet, never the typed label.
    await steward.caller.steward.updateMetadata({ datasetId: listed.datasetId, ...gibleed });
    const conditions = () =>
      system.db.datasetCondition.findMany({
        where: { datasetId: listed.datasetId },
        select: { code: true, label: true },
      });
    expect(await conditions()).toEqual([{ code, label: "" }]);
    const registered = await steward.caller.steward.registerVersion({
      datasetId: listed.datasetId,
      version: 1,
      folder: "eunomia",
    });
    expect(registered).toMatchObject({ version: 1, persons: report.manifest.personCount });
    expect(await conditions()).toEqual([{ code, label: source.name }]);
    eunomiaDatasetId = listed.datasetId;

    // Files whose vocabulary lacks a declared condition (Eunomia has no ICD10 E11) are refused.
    const diabetes = await listOnChain(system, {
      slug: "steward-eunomia-diabetes",
      contentHash: report.manifest.contentHash,
      metadata: { ...gibleed, title: "Eunomia as diabetes", conditions: metadata.conditions },
    });
    await steward.caller.steward.updateMetadata({
      datasetId: diabetes.datasetId,
      ...gibleed,
      title: "Eunomia as diabetes",
      conditions: metadata.conditions,
    });
    await expect(
      steward.caller.steward.registerVersion({
        datasetId: diabetes.datasetId,
        version: 1,
        folder: "eunomia",
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("conditions.0.code: ICD10:E11 is not a concept"),
    });
    expect(
      await system.db.datasetVersion.findUniqueOrThrow({
        where: { datasetId_version: { datasetId: diabetes.datasetId, version: 1 } },
        select: { registeredAt: true },
      }),
    ).toEqual({ registeredAt: null });
  });
});

describe("dataset.concepts", () => {
  const eunomiaConcepts = resolve(
    import.meta.dirname,
    "../../../../../shared/data/eunomia-gibleed-omop/concept.csv",
  );

  /** The source concept.csv's concepts whose name contains every word, by DuckDB. */
  async function sourceMatches(words: string[]) {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `SELECT CONCEPT_ID, CONCEPT_NAME, VOCABULARY_ID, CONCEPT_CODE, DOMAIN_ID
         FROM read_csv($path, header = true)
         WHERE ${words.map((_, i) => `contains(lower(CONCEPT_NAME), $w${i})`).join(" AND ")}
         ORDER BY CONCEPT_ID`,
        { path: eunomiaConcepts, ...Object.fromEntries(words.map((w, i) => [`w${i}`, w])) },
      );
      return reader.getRowsJS().map(([conceptId, name, vocabulary, code, domain]) => ({
        conceptId: Number(conceptId),
        name: String(name),
        vocabulary: String(vocabulary),
        code: String(code),
        domain: String(domain),
      }));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it("searches the shipped vocabulary of imported Eunomia by name, code and id, for anyone", async (context) => {
    if (!eunomiaDatasetId) {
      context.skip("the Eunomia dataset was not published (shared samples missing)");
      return;
    }
    const datasetId = eunomiaDatasetId;
    const concepts = system.anonymous().dataset.concepts;
    const expected = await sourceMatches(["hemorrhage"]);
    expect(expected.length).toBeGreaterThan(1);
    const found = await concepts({ datasetId, search: "Hemorrhage", limit: 50 });
    expect(found.shipped).toBe(true);
    expect([...found.concepts].sort((a, b) => a.conceptId - b.conceptId)).toEqual(expected);

    const bleed = expected.find((c) => c.name === "Gastrointestinal hemorrhage");
    expect(bleed).toBeDefined();
    for (const search of [`${bleed?.vocabulary}:${bleed?.code}`, String(bleed?.conceptId)]) {
      expect((await concepts({ datasetId, search, limit: 1 })).concepts[0]).toEqual(bleed);
    }
    const drugs = await concepts({ datasetId, search: "", domain: "Drug", limit: 5 });
    expect(drugs.concepts).toHaveLength(5);
    expect(drugs.concepts.every((c) => c.domain === "Drug")).toBe(true);
    expect(drugs.nextOffset).toBe(5);
    expect(Object.keys(drugs).sort()).toEqual(["concepts", "nextOffset", "shipped"]);

    await expect(concepts({ datasetId, search: "", limit: 51 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    await expect(
      concepts({ datasetId: `0x${"0".repeat(64)}`, search: "hemorrhage" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("has no vocabulary to show before files are registered", async () => {
    const unregistered = await listOnChain(system, {
      slug: "steward-concepts-unregistered",
      contentHash: other.manifest.contentHash,
      metadata: { ...metadata, title: "Not registered yet" },
    });
    expect(
      await system
        .anonymous()
        .dataset.concepts({ datasetId: unregistered.datasetId, search: "E11" }),
    ).toEqual({ shipped: false, concepts: [], nextOffset: null });
  });
});

describe("steward imports an export from the web", () => {
  type Caller = typeof steward.caller;
  const importRoot = () => system.services.config.datasetImport?.root as string;
  const datasetRoot = () => system.services.config.datasetRoot as string;
  /** The vendored sample's table as text (gunzipped). */
  const table = (name: string) =>
    gunzipSync(readFileSync(join(VENDORED_EUNOMIA, `${name}.csv.gz`))).toString("utf8");
  /** An export in the import root made of some of the sample's tables, as plain CSV. */
  const exportOf = (name: string, tables: Record<string, string>) => {
    const dir = join(importRoot(), name);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(tables)) writeFileSync(join(dir, file), text);
  };
  const finished = async (caller: Caller, jobId: string) => {
    for (let i = 0; i < 600; i++) {
      const status = await caller.steward.importStatus({ jobId });
      if (status.state !== "running") return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the import did not finish");
  };
  /** Nothing of a failed import is left in the dataset root: no folder, no hidden work folder. */
  const leftovers = (folder: string) =>
    readdirSync(datasetRoot()).filter((entry) => entry === folder || entry.includes(`.${folder}.`));

  beforeAll(() => {
    cpSync(VENDORED_EUNOMIA, join(importRoot(), "eunomia-gibleed"), { recursive: true });
  });

  it("imports Eunomia from the import root with the CLI's importer, reports, and it publishes like any folder", async () => {
    expect(await steward.caller.steward.importSources()).toContainEqual({
      folder: "eunomia-gibleed",
      format: "omop",
    });
    const started = await steward.caller.steward.startImport({
      format: "omop",
      source: "eunomia-gibleed",
      folder: "web/eunomia",
      title: "Eunomia GiBleed, imported from the web",
      skipOrphans: true,
    });
    expect(started).toMatchObject({ state: "running", folder: "web/eunomia" });
    // One import at a time on a server.
    await expect(
      steward.caller.steward.startImport({
        format: "omop",
        source: "eunomia-gibleed",
        folder: "web/eunomia-again",
        title: "Again",
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("rule import-busy"),
    });
    // Another steward cannot follow it.
    const { caller: otherSteward } = await system.signIn(2);
    await expect(otherSteward.steward.importStatus({ jobId: started.jobId })).rejects.toMatchObject(
      { message: expect.stringContaining("rule import-job") },
    );

    const status = await finished(steward.caller, started.jobId);
    expect(status.error).toBeNull();
    const sourcePersons = table("person").trim().split("\n").length - 1;
    expect(status).toMatchObject({ state: "done", report: { persons: sourcePersons } });
    expect(status.report?.dropped).toContainEqual(
      expect.objectContaining({ reason: "skipOrphans", count: expect.any(Number) }),
    );
    expect(status.report?.dropped).toContainEqual(
      expect.objectContaining({ what: "person.person_source_value", reason: "identifier" }),
    );

    // The publish flow sees it as a new folder, verifies it, and registers it once listed.
    const folders = await steward.caller.steward.datasetFolders();
    expect(folders.find((f) => f.folder === "web/eunomia")).toMatchObject({
      persons: sourcePersons,
      schemaVersion: "omop-lite/2",
      registeredAs: null,
    });
    const inspected = await steward.caller.steward.inspectFolder({ folder: "web/eunomia" });
    expect(inspected.contentHash).toBe(status.report?.contentHash);
    const listed = await listOnChain(system, {
      slug: "steward-web-eunomia",
      contentHash: inspected.contentHash,
      metadata: { ...metadata, title: "Eunomia GiBleed, imported from the web" },
    });
    await expect(
      steward.caller.steward.registerVersion({
        datasetId: listed.datasetId,
        version: 1,
        folder: "web/eunomia",
      }),
    ).resolves.toMatchObject({ persons: sourcePersons });
  }, 120_000);

  it("shows the importer's message with file and line for bad input, and leaves nothing half-written", async () => {
    const person = table("person");
    const concept = table("concept");
    const lines = person.split("\n");
    lines[2] = "not-a-number,8507,1950"; // the file's third line
    exportOf("no-person", { "concept.csv": concept });
    exportOf("malformed", { "person.csv": lines.join("\n"), "concept.csv": concept });
    // A concept the drug eras use, in a vocabulary this system does not know.
    const drugEra = table("drug_era");
    const usedConcept = drugEra.split("\n")[1]?.split(",")[2] as string;
    exportOf("unknown-vocabulary", {
      "person.csv": person,
      "drug_era.csv": drugEra,
      "concept.csv": concept
        .split("\n")
        .map((line) =>
          line.startsWith(`${usedConcept},`) ? line.replace(",RxNorm,", ",LocalDrugs,") : line,
        )
        .join("\n"),
    });
    const cases = [
      ["no-person", /^required table person is missing/],
      [
        "malformed",
        /^person\.csv:3: malformed line: column person_id does not hold a valid bigint$/,
      ],
      ["unknown-vocabulary", /^concept\.csv:\d+: unknown vocabulary "LocalDrugs"/],
    ] as const;
    for (const [source, message] of cases) {
      const started = await steward.caller.steward.startImport({
        format: "omop",
        source,
        folder: `bad-${source}`,
        title: source,
        skipOrphans: true,
      });
      const status = await finished(steward.caller, started.jobId);
      expect({ source, state: status.state, report: status.report }).toEqual({
        source,
        state: "failed",
        report: null,
      });
      expect(status.error).toMatch(message);
      // No server path in the message, and no trace of the import in the dataset root.
      expect(status.error).not.toContain(system.workDir);
      expect(leftovers(`bad-${source}`)).toEqual([]);
    }
  }, 60_000);

  it("refuses paths outside the roots, an existing target, and callers without a StewardBadge", async () => {
    const start = (source: string, folder = "web/new") =>
      steward.caller.steward.startImport({ format: "omop", source, folder, title: "x" });
    await expect(start("../cohorts")).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("source: must be a folder inside the dataset root"),
    });
    await expect(start("nowhere")).rejects.toMatchObject({
      message: 'There is no folder "nowhere" in the import root (rule import-folder).',
    });
    symlinkSync(system.workDir, join(importRoot(), "escape"));
    await expect(start("escape/cohorts")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: 'The folder "escape/cohorts" leads outside the import root (rule import-root).',
    });
    await expect(start("eunomia-gibleed", "web/eunomia")).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("already exists in the dataset root"),
    });
    symlinkSync(system.workDir, join(datasetRoot(), "outside"));
    await expect(start("eunomia-gibleed", "outside/elsewhere")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: 'The folder "outside/elsewhere" leads outside the dataset root (rule dataset-root).',
    });
    rmSync(join(datasetRoot(), "outside"));
    const { caller: researcher } = await system.signIn(4);
    await expect(researcher.steward.importSources()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      researcher.steward.startImport({
        format: "omop",
        source: "eunomia-gibleed",
        folder: "x",
        title: "x",
      }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("keys each steward's pseudonyms apart, from the server's import secret", () => {
    const secret = "test-import-secret-0123456789";
    expect(stewardImportSecret(secret, "0xAB")).toBe(stewardImportSecret(secret, "0xab"));
    expect(stewardImportSecret(secret, "0xab")).not.toBe(stewardImportSecret(secret, "0xcd"));
    expect(stewardImportSecret(secret, "0xab")).not.toContain(secret);
  });
});
