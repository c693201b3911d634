import { datasetRegistryAbi, syntheticPatientKey } from "@opencohort/chain";
import { toDbUint } from "@opencohort/db";
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetRemaining } from "../services/budget-ledger";
import { relayConsents, startTestSystem, type TestSystem, writeAs } from "../testing/harness";
import {
  type CohortFolder,
  cohortFolder,
  type ListedDataset,
  listOnChain,
} from "../testing/listing";

let system: TestSystem;
let large: CohortFolder;
let small: CohortFolder;
/** Registered, described, 1,500 persons enrolled, nine in ten consenting. */
let cardio: ListedDataset;
/** Registered and described, 100 persons, nobody enrolled. */
let asthma: ListedDataset;
/** Listed with metadata but no files registered. */
let panel: ListedDataset;
/** Delisted by its steward. */
let gone: ListedDataset;
let consented = 0;

const tokens = (n: bigint) => n * 10n ** 18n;
const schemaVersion = "omop-lite/2";
const cardioMeta = {
  title: "Northshore Cardiometabolic Cohort",
  description: "Type 2 diabetes and hypertension in outpatient care.",
  conditions: [
    // The steward's own words: the catalogue names conditions from the shipped vocabulary.
    { code: "ICD10:E11", label: "T2DM" },
    { code: "ICD10:I10", label: "High blood pressure" },
  ],
  schemaVersion,
};
const asthmaMeta = {
  title: "Lakeview Asthma Registry",
  description: "Asthma patients with inhaler prescriptions.",
  conditions: [{ code: "ICD10:J45", label: "Asthma" }],
  schemaVersion,
};
const panelMeta = {
  title: "Coastal Primary Care Panel",
  description: "General practice panel.",
  conditions: [{ code: "ICD10:F32", label: "Depressive episode" }],
  schemaVersion,
};

/** A condition's name in a folder's shipped concept table. */
const shippedName = (folder: CohortFolder, code: string) => {
  const name = folder.conceptNames.get(code);
  if (name === undefined) throw new Error(`${code} is not in ${folder.folder}'s concept table`);
  return name;
};

const diabetesBySex = {
  inclusion: [{ domain: "condition" as const, codes: ["E11*"] }],
  output: { groupBy: ["sex" as const] },
};

beforeAll(async () => {
  system = await startTestSystem();
  [large, small] = await Promise.all([
    cohortFolder(system, 1_500, 31),
    cohortFolder(system, 100, 32),
  ]);
  cardio = await listOnChain(system, {
    slug: "catalogue-cardio",
    contentHash: large.manifest.contentHash,
    metadata: cardioMeta,
    price: tokens(250n),
  });
  asthma = await listOnChain(system, {
    slug: "catalogue-asthma",
    contentHash: small.manifest.contentHash,
    metadata: asthmaMeta,
    steward: 2,
    price: tokens(50n),
  });
  panel = await listOnChain(system, {
    slug: "catalogue-panel",
    contentHash: small.manifest.contentHash,
    metadata: panelMeta,
    steward: 3,
    price: tokens(80n),
  });
  gone = await listOnChain(system, {
    slug: "catalogue-gone",
    contentHash: small.manifest.contentHash,
    metadata: { ...panelMeta, title: "Withdrawn" },
    steward: 3,
    price: tokens(10n),
  });
  await writeAs(system, 3, {
    address: system.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "delist",
    args: [gone.datasetId],
  });
  await system.services.chain.indexer.syncOnce();

  const stewards = await Promise.all([system.signIn(1), system.signIn(2), system.signIn(3)]);
  const [northshore, lakeview, coastal] = stewards.map((s) => s.caller.steward) as [
    (typeof stewards)[0]["caller"]["steward"],
    (typeof stewards)[0]["caller"]["steward"],
    (typeof stewards)[0]["caller"]["steward"],
  ];
  await northshore.registerVersion({
    datasetId: cardio.datasetId,
    version: 1,
    folder: large.folder,
  });
  await northshore.updateMetadata({ datasetId: cardio.datasetId, ...cardioMeta });
  await lakeview.registerVersion({ datasetId: asthma.datasetId, version: 1, folder: small.folder });
  await lakeview.updateMetadata({ datasetId: asthma.datasetId, ...asthmaMeta });
  await coastal.updateMetadata({ datasetId: panel.datasetId, ...panelMeta });

  // Every person of the large cohort enrolled under a consent identity of its own; nine in
  // ten consent.
  const patients = large.personIds.map((personId) => {
    const identityKey = syntheticPatientKey(cardio.datasetId, personId);
    return { personId, identityKey, identity: privateKeyToAccount(identityKey).address };
  });
  await northshore.importEnrolments({
    datasetId: cardio.datasetId,
    addressKind: "identity",
    entries: patients.map(({ personId, identity }) => ({ personId, patientAddress: identity })),
  });
  const consenting = patients.filter((_, index) => index % 10 !== 0);
  consented = consenting.length;
  await relayConsents(system, cardio.datasetId, consenting, true);
  await system.services.chain.indexer.syncOnce();
});
afterAll(async () => {
  await system?.stop();
});

describe("dataset.list", () => {
  const ids = (page: { items: { id: string }[] }) => page.items.map((item) => item.id);

  it("lists listed datasets as cards, newest first", async () => {
    const page = await system.anonymous().dataset.list();
    expect(ids(page)).toEqual([panel.datasetId, asthma.datasetId, cardio.datasetId]);
    expect(page).toMatchObject({ total: 3, nextCursor: null, page: 1, pageCount: 1 });
    expect(page.items[2]).toEqual({
      id: cardio.datasetId,
      title: cardioMeta.title,
      description: cardioMeta.description,
      steward: privateKeyToAccount(
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
      ).address.toLowerCase(),
      price: tokens(250n).toString(),
      priceFormatted: "250",
      accessDurationSeconds: 30 * 24 * 60 * 60,
      persons: 1_500,
      consented,
      conditions: [
        { code: "ICD10:E11", label: shippedName(large, "ICD10:E11") },
        { code: "ICD10:I10", label: shippedName(large, "ICD10:I10") },
      ],
      latestVersion: 1,
      schemaVersion,
      schemaVersionHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      listed: true,
    });
    expect(page.items[0]?.persons).toBeNull();
  });

  it("searches words in title, description and conditions, and filters by condition code", async () => {
    const list = system.anonymous().dataset.list;
    expect(ids(await list({ search: "DIABETES" }))).toEqual([cardio.datasetId]);
    expect(ids(await list({ search: "asthma registry" }))).toEqual([asthma.datasetId]);
    expect(ids(await list({ search: "asthma diabetes" }))).toEqual([]);
    expect(ids(await list({ search: "icd10:f32" }))).toEqual([panel.datasetId]);
    // Conditions are searched by their vocabulary names, not by the steward's labels.
    expect(shippedName(large, "ICD10:I10").toLowerCase()).toContain("essential");
    expect(ids(await list({ search: "essential" }))).toEqual([cardio.datasetId]);
    expect(ids(await list({ search: "blood pressure" }))).toEqual([]);
    expect(ids(await list({ conditions: ["ICD10:J45", "ICD10:E11"], sort: "oldest" }))).toEqual([
      cardio.datasetId,
      asthma.datasetId,
    ]);
  });

  it("filters by price, size of the latest version and schema version", async () => {
    const list = system.anonymous().dataset.list;
    expect(ids(await list({ minPrice: "80", sort: "price-asc" }))).toEqual([
      panel.datasetId,
      cardio.datasetId,
    ]);
    expect(ids(await list({ maxPrice: "79.99" }))).toEqual([asthma.datasetId]);
    expect(ids(await list({ minPersons: 1_000 }))).toEqual([cardio.datasetId]);
    // A dataset without registered files has no size: a size filter leaves it out.
    expect(ids(await list({ maxPersons: 500 }))).toEqual([asthma.datasetId]);
    expect((await list({ schemaVersion })).total).toBe(3);
    expect((await list({ schemaVersion: "omop-full/2" })).total).toBe(0);
  });

  it("sorts and pages by cursor or by page number", async () => {
    const list = system.anonymous().dataset.list;
    expect(ids(await list({ sort: "price-desc" }))).toEqual([
      cardio.datasetId,
      panel.datasetId,
      asthma.datasetId,
    ]);
    expect(ids(await list({ sort: "persons-desc" }))).toEqual([
      cardio.datasetId,
      asthma.datasetId,
      panel.datasetId,
    ]);
    expect(ids(await list({ sort: "title" }))).toEqual([
      panel.datasetId,
      asthma.datasetId,
      cardio.datasetId,
    ]);
    const first = await list({ sort: "price-asc", limit: 2 });
    expect(ids(first)).toEqual([asthma.datasetId, panel.datasetId]);
    expect(first.pageCount).toBe(2);
    const second = await list({ sort: "price-asc", limit: 2, cursor: first.nextCursor as string });
    expect(ids(second)).toEqual([cardio.datasetId]);
    expect(second).toMatchObject({ nextCursor: null, page: 2 });
    expect(ids(await list({ sort: "price-asc", limit: 2, page: 2 }))).toEqual([cardio.datasetId]);
  });

  it("names the bad field of a bad filter", async () => {
    const list = system.anonymous().dataset.list;
    await expect(list({ limit: 0 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^limit: /),
    });
    await expect(list({ minPersons: 10, maxPersons: 5 })).rejects.toMatchObject({
      message: "maxPersons: is below minPersons",
    });
    await expect(list({ minPrice: "-1" })).rejects.toMatchObject({
      message: expect.stringMatching(/^minPrice: /),
    });
    const { nextCursor } = await list({ sort: "title", limit: 1 });
    await expect(list({ sort: "newest", cursor: nextCursor as string })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^cursor: /),
    });
  });
});

describe("dataset.list at scale paths", () => {
  const ids = (page: { items: { id: string }[] }) => page.items.map((item) => item.id);
  // A schema version filter that every dataset passes sends the list down the in-memory path;
  // without it, the newest/oldest/price sorts are ordered and paged by the database.
  const inMemory = { schemaVersion };

  it("orders and pages column sorts in the database exactly as in memory", async () => {
    const list = system.anonymous().dataset.list;
    for (const sort of ["newest", "oldest", "price-asc", "price-desc"] as const) {
      const database = await list({ sort });
      const memory = await list({ sort, ...inMemory });
      expect(ids(database), sort).toEqual(ids(memory));
      expect(database.total).toBe(3);

      // Cursor by cursor, one item a page: the same items, page numbers and last page.
      const walk = async (extra: object) => {
        const pages: { id: string | undefined; page: number; last: boolean }[] = [];
        let cursor: string | undefined;
        do {
          const page = await list({ sort, limit: 1, ...extra, ...(cursor ? { cursor } : {}) });
          pages.push({ id: page.items[0]?.id, page: page.page, last: page.nextCursor === null });
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return pages;
      };
      const walked = await walk({});
      expect(walked.map((page) => page.id)).toEqual(ids(database));
      expect(walked.map((page) => page.page)).toEqual([1, 2, 3]);
      expect(walked.map((page) => page.last)).toEqual([false, false, true]);
      expect(await walk(inMemory)).toEqual(walked);

      const second = await list({ sort, limit: 2, page: 2 });
      expect(ids(second)).toEqual(ids(database).slice(2));
      expect(second).toMatchObject({ page: 2, pageCount: 2, nextCursor: null });
    }
  });

  it("filters by text, condition and price in the database, and pages past the end to nothing", async () => {
    const list = system.anonymous().dataset.list;
    const filtered = await list({ maxPrice: "100", sort: "price-desc" });
    expect(ids(filtered)).toEqual([panel.datasetId, asthma.datasetId]);
    expect(ids(await list({ conditions: ["ICD10:E11", "ICD10:F32"], sort: "oldest" }))).toEqual([
      cardio.datasetId,
      panel.datasetId,
    ]);
    expect(await list({ sort: "newest", page: 5, limit: 2 })).toMatchObject({
      items: [],
      total: 3,
      page: 5,
      pageCount: 2,
      nextCursor: null,
    });
  });

  it("refuses a cursor whose key is not the sort's column", async () => {
    const forged = Buffer.from(
      JSON.stringify(["newest", ["drop table"], cardio.datasetId]),
    ).toString("base64url");
    await expect(system.anonymous().dataset.list({ cursor: forged })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^cursor: /),
    });
  });
});

describe("dataset.facets", () => {
  it("offers the conditions, schema versions, sizes and prices of listed datasets only", async () => {
    const facets = await system.anonymous().dataset.facets();
    expect(facets).toEqual({
      total: 3,
      // Names from each dataset's shipped concept table; the panel has no files yet, so its
      // condition has no name (a code alone), never the label its steward typed.
      conditions: [
        { code: "ICD10:F32", label: "", datasets: 1 },
        ...[
          { code: "ICD10:J45", label: shippedName(small, "ICD10:J45"), datasets: 1 },
          { code: "ICD10:I10", label: shippedName(large, "ICD10:I10"), datasets: 1 },
          { code: "ICD10:E11", label: shippedName(large, "ICD10:E11"), datasets: 1 },
        ].sort((a, b) => a.label.localeCompare(b.label, "en")),
      ],
      schemaVersions: [
        { hash: keccak256(stringToHex(schemaVersion)), label: schemaVersion, datasets: 3 },
      ],
      persons: { min: 100, max: 1_500 },
      unsized: 1,
      // The delisted dataset (10 tokens) is not on offer.
      price: { min: "50", max: "250" },
    });
  });

  it("advertises for each option the number of datasets its filter finds", async () => {
    const anonymous = system.anonymous();
    const facets = await anonymous.dataset.facets();
    for (const condition of facets.conditions) {
      expect((await anonymous.dataset.list({ conditions: [condition.code] })).total).toBe(
        condition.datasets,
      );
    }
    for (const schema of facets.schemaVersions) {
      for (const value of [schema.hash, schema.label ?? schema.hash]) {
        expect((await anonymous.dataset.list({ schemaVersion: value })).total).toBe(
          schema.datasets,
        );
      }
    }
    const sized = await anonymous.dataset.list({
      minPersons: facets.persons?.min,
      maxPersons: facets.persons?.max,
    });
    expect(sized.total).toBe(facets.total - facets.unsized);
    const priced = await anonymous.dataset.list({
      minPrice: facets.price?.min,
      maxPrice: facets.price?.max,
    });
    expect(priced.total).toBe(facets.total);
  });
  it("follows the catalogue: a delisting changes the next answer", async () => {
    const facets = system.anonymous().dataset.facets;
    expect((await facets()).total).toBe(3);
    // Asthma (steward #2) is not used by the tests after this one.
    await writeAs(system, 2, {
      address: system.manifest.contracts.DatasetRegistry,
      abi: datasetRegistryAbi,
      functionName: "delist",
      args: [asthma.datasetId],
    });
    await system.services.chain.indexer.syncOnce();
    const after = await facets();
    expect(after).toMatchObject({
      total: 2,
      persons: { min: 1_500, max: 1_500 },
      price: { min: "80", max: "250" },
    });
    expect(after.conditions.map((condition) => condition.code)).not.toContain("ICD10:J45");
  });
});

describe("dataset.byId", () => {
  it("shows the data card of the registered version and the governed privacy parameters", async () => {
    const dataset = await system.anonymous().dataset.byId({ datasetId: cardio.datasetId });
    expect(dataset).toMatchObject({
      id: cardio.datasetId,
      title: cardioMeta.title,
      persons: 1_500,
      versions: [{ version: 1, contentHash: large.manifest.contentHash, registered: true }],
      privacy: {
        minCellSize: 11,
        roundingBase: 5,
        epsilonPerQuery: 0.1,
        epsilonBudget: 5,
        feasibility: {
          minCellSize: 22,
          roundingBase: 10,
          epsilonPerQuery: 0.1,
          epsilonBudget: 10,
          budgetShared: true,
        },
      },
    });
    const person = dataset.dataCard?.tables.find((table) => table.name === "person");
    expect(person?.rowCount).toBe(1_500);
    expect(person?.columns).toContainEqual(
      expect.objectContaining({
        name: "year_of_birth",
        type: "INTEGER",
        bounds: expect.any(Object),
      }),
    );
    // Where the files live is the server's business only.
    const json = JSON.stringify(dataset, (_, value) =>
      typeof value === "bigint" ? value.toString() : value,
    );
    expect(json).not.toContain(large.dir);
    expect(json).not.toContain(".parquet");
  });

  it("has no data card before registration, shows delisted datasets and 404s unknown ids", async () => {
    const byId = system.anonymous().dataset.byId;
    expect((await byId({ datasetId: panel.datasetId })).dataCard).toBeNull();
    expect(await byId({ datasetId: gone.datasetId })).toMatchObject({ listed: false });
    await expect(byId({ datasetId: `0x${"ee".repeat(32)}` })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("dataset.feasibility", () => {
  it("needs a session but no pass, and names a bad cohort field", async () => {
    await expect(
      system
        .anonymous()
        .dataset.feasibility({ datasetId: cardio.datasetId, cohort: diabetesBySex }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const { caller } = await system.signIn(4);
    await expect(
      caller.dataset.feasibility({
        datasetId: cardio.datasetId,
        cohort: { inclusion: [{ domain: "condition", codes: ["E11; DROP"] }] },
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^cohort\.inclusion\.0\.codes\.0: /),
    });
    await expect(
      caller.dataset.feasibility({ datasetId: panel.datasetId, cohort: diabetesBySex }),
    ).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    await expect(
      caller.dataset.feasibility({ datasetId: gone.datasetId, cohort: diabetesBySex }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("gives coarse noisy counts over consented persons from one budget shared per dataset", async () => {
    const { caller, address } = await system.signIn(5);
    const first = await caller.dataset.feasibility({
      datasetId: cardio.datasetId,
      cohort: diabetesBySex,
    });
    expect(first.columns.map((column) => column.kind)).toEqual(["dimension", "persons"]);
    expect(first.rows.length).toBeGreaterThan(0);
    for (const row of first.rows) {
      const count = Number(row[1]);
      expect(count % 10).toBe(0);
      expect(count).toBeLessThanOrEqual(consented);
    }
    expect(first).toMatchObject({
      epsilonSpent: 0.1,
      repeated: false,
      parameters: { minCellSize: 22, roundingBase: 10 },
    });
    // The shared budget: 10 epsilon per dataset by default.
    expect(first.budgetRemaining).toBeCloseTo(9.9, 9);
    expect(JSON.stringify(first.rows)).not.toMatch(/person_id/);
    // Each noisy count comes with its uncertainty (from the public scale), stored with it.
    expect(first.uncertainty?.map((u) => u[0])).toEqual(first.rows.map(() => null));
    for (const u of first.uncertainty ?? []) expect(u[1]?.hi).toBeGreaterThan(u[1]?.lo ?? 0);

    // Asking the same count again returns the stored answer and spends nothing.
    for (let i = 0; i < 3; i++) {
      const again = await caller.dataset.feasibility({
        datasetId: cardio.datasetId,
        cohort: diabetesBySex,
      });
      expect(again).toMatchObject({
        rows: first.rows,
        uncertainty: first.uncertainty,
        epsilonSpent: 0,
        repeated: true,
      });
      expect(again.budgetRemaining).toBeCloseTo(9.9, 9);
    }
    // Different counts each spend from the same budget, whoever asks.
    const { caller: other } = await system.signIn(4);
    const theirs = await other.dataset.feasibility({
      datasetId: cardio.datasetId,
      cohort: { ...diabetesBySex, age: { min: 40 } },
    });
    expect(theirs).toMatchObject({ epsilonSpent: 0.1, repeated: false });
    expect(theirs.budgetRemaining).toBeCloseTo(9.8, 9);
    // Feasibility never touches the governed query budget.
    expect(await budgetRemaining(system.db, address, cardio.datasetId, "query", 5)).toBe(5);
    // Once spent, the refusal names the rule and says the budget is shared.
    await system.db.privacyBudgetEntry.create({
      data: {
        researcherAddress: address,
        datasetId: cardio.datasetId,
        epsilon: toDbUint(98n * 10n ** 17n),
        queryId: (
          await system.db.query.create({
            data: {
              researcherAddress: address,
              datasetId: cardio.datasetId,
              datasetVersionId: (
                await system.db.datasetVersion.findFirstOrThrow({
                  where: { datasetId: cardio.datasetId },
                  select: { id: true },
                })
              ).id,
              kind: "FEASIBILITY",
              sql: "",
              status: "REJECTED",
            },
            select: { id: true },
          })
        ).id,
      },
      select: { id: true },
    });
    await expect(
      caller.dataset.feasibility({
        datasetId: cardio.datasetId,
        cohort: { ...diabetesBySex, age: { min: 50 } },
      }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(/shared by all researchers.*rule feasibility-budget/),
    });
    // Each count is a FEASIBILITY query row without inclusions or receipt.
    const rows = await system.db.query.findMany({
      where: { researcherAddress: address, kind: "FEASIBILITY" },
      select: {
        status: true,
        receiptHash: true,
        epoch: true,
        inclusionSet: { select: { queryId: true } },
      },
    });
    // One fresh count by this address (repeats make no row), one filler, one refused.
    expect(rows.filter((row) => row.status === "SUCCEEDED")).toHaveLength(1);
    expect(rows.filter((row) => row.status === "REJECTED")).toHaveLength(2);
    expect(rows.every((row) => row.receiptHash === null && row.epoch === null)).toBe(true);
    expect(rows.every((row) => row.inclusionSet === null)).toBe(true);
  });
});
