import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { providerCases } from "../test/helpers";
import { type SqlDialect, sqlDialectOf } from "./bulk";
import { createDb, type Db } from "./client";
import { createEnrolments, enrolmentOrdinals, ordinalsOf } from "./enrolments";
import { EnrolmentOrdinalSet } from "./inclusion-bitmap";
import {
  BACKFILL_PAGE,
  backfillPatientQueryUses,
  queriesThatUsedPatient,
  recordQueryInclusions,
} from "./inclusions";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";
import { toDbUint } from "./uint";

const hex = (n: number, bytes = 32) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;
const wallet = (n: number) => hex(n, 20);

/** Persons of the tests: beyond 2^32, negative, small; enrolled in this order (ordinals 1–4). */
const P = {
  walletA: 2n ** 40n + 3n,
  walletB: 5n,
  identityOnly: 6n,
  unbound: -(2n ** 62n),
};

const APP_SCHEMA = "oc_app";
const cases = providerCases().flatMap((c) =>
  c.name === "postgresql"
    ? [
        { ...c, label: "postgresql", schema: undefined },
        { ...c, label: "postgresql ?schema=", schema: APP_SCHEMA },
      ]
    : [{ ...c, label: c.name, schema: undefined }],
);

async function asAdmin(url: string, sql: string): Promise<void> {
  const admin = new pg.Client(pgConfigFromUrl(url));
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

describe.each(cases)("inclusion sets on $label", ({ name, url: newUrl, skip, schema }) => {
  let db: Db;
  let url: string;
  let dialect: SqlDialect;
  let seq = 0;

  beforeAll(async () => {
    if (skip) return;
    url = newUrl();
    await migrate(url);
    if (schema !== undefined) {
      // Tables moved under `schema` and an empty `public`: a statement ignoring it fails.
      await asAdmin(url, `ALTER SCHEMA public RENAME TO ${schema}; CREATE SCHEMA public;`);
      const withSchema = new URL(url);
      withSchema.searchParams.set("schema", schema);
      url = withSchema.toString();
    }
    db = createDb(url);
    dialect = sqlDialectOf(db);
  });

  afterAll(async () => {
    if (skip) return;
    await db.$disconnect();
    if (name === "postgresql") {
      await asAdmin(
        inject("postgresUrl"),
        `DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`,
      );
    }
  });

  /** A dataset with the persons of P enrolled (a wallet, an identity only, nothing yet). */
  async function newDataset() {
    seq += 1;
    const datasetId = hex(1_000 + seq);
    await db.dataset.create({
      data: {
        id: datasetId,
        steward: wallet(1),
        price: toDbUint(1n),
        accessDurationSeconds: 60,
        metadataHash: hex(1),
        listedBlock: 1n,
        listedTxHash: hex(2),
        updatedBlock: 1n,
        versions: {
          create: {
            version: 1,
            manifestHash: hex(3),
            schemaVersion: hex(4),
            publishedAt: new Date(),
            publishedBlock: 1n,
            publishedTxHash: hex(2),
          },
        },
      },
      select: { id: true },
    });
    await db.$transaction((tx) =>
      createEnrolments(tx, dialect, datasetId, [
        { personId: P.walletA, patientAddress: wallet(10 + seq * 10) },
        { personId: P.walletB, patientAddress: wallet(11 + seq * 10) },
        { personId: P.identityOnly, identityAddress: wallet(12 + seq * 10) },
        { personId: P.unbound },
      ]),
    );
    const { id: versionId } = await db.datasetVersion.findFirstOrThrow({
      where: { datasetId },
      select: { id: true },
    });
    return { datasetId, versionId, walletA: wallet(10 + seq * 10), walletB: wallet(11 + seq * 10) };
  }

  async function newQuery(
    dataset: { datasetId: string; versionId: string },
    status: "SUCCEEDED" | "RUNNING" = "SUCCEEDED",
  ) {
    seq += 1;
    const row = await db.query.create({
      data: {
        researcherAddress: wallet(2),
        datasetId: dataset.datasetId,
        datasetVersionId: dataset.versionId,
        kind: "SQL",
        sql: `SELECT ${seq}`,
        status,
        epoch: 3,
        finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
      },
      select: { id: true },
    });
    return row.id;
  }

  /** The ordinals of `personIds` in `datasetId`, as the query worker maps them. */
  const ordinalsIn = async (datasetId: string, personIds: bigint[]) =>
    ordinalsOf(await enrolmentOrdinals(db, datasetId, personIds), personIds);

  const record = async (datasetId: string, queryId: string, personIds: bigint[]) => {
    const ordinals = await ordinalsIn(datasetId, personIds);
    await db.$transaction((tx) =>
      recordQueryInclusions(tx, dialect, { queryId, datasetId, epoch: 3, ordinals }),
    );
  };

  const usesOf = async (datasetId: string) =>
    (
      await db.patientQueryUse.findMany({
        where: { datasetId },
        select: { personId: true, queryId: true },
      })
    )
      .map((row) => `${row.personId}:${row.queryId}`)
      .sort();

  const setOf = async (queryId: string) => {
    const row = await db.queryInclusionSet.findUnique({
      where: { queryId },
      select: { datasetId: true, epoch: true, bitmap: true },
    });
    return (
      row && { ...row, ordinals: [...EnrolmentOrdinalSet.fromBytes(row.bitmap).toUint32Array()] }
    );
  };

  it.skipIf(skip)(
    "stores one set per query and index rows for the wallet patients it holds only",
    async () => {
      const dataset = await newDataset();
      const other = await newDataset();
      const queryId = await newQuery(dataset);
      const included = [P.unbound, P.walletA, P.identityOnly];
      await record(dataset.datasetId, queryId, included);
      // The enrolments' ordinals (in enrolment order), not the person ids.
      expect(await setOf(queryId)).toMatchObject({
        datasetId: dataset.datasetId,
        epoch: 3,
        ordinals: [1, 3, 4],
      });
      // walletB was not included; the identity-only and unbound enrolments cannot sign in.
      expect(await usesOf(dataset.datasetId)).toEqual([`${P.walletA}:${queryId}`]);
      expect(await usesOf(other.datasetId)).toEqual([]);

      const empty = await newQuery(dataset);
      await record(dataset.datasetId, empty, []);
      expect((await setOf(empty))?.ordinals).toEqual([]);
      expect(await usesOf(dataset.datasetId)).toHaveLength(1);
    },
  );

  it.skipIf(skip)(
    "a second record of a query fails and its transaction leaves nothing",
    async () => {
      const dataset = await newDataset();
      const queryId = await newQuery(dataset);
      const attempt = db.$transaction(async (tx) => {
        const one = { queryId, datasetId: dataset.datasetId, epoch: 3, ordinals: [1] };
        await recordQueryInclusions(tx, dialect, one);
        await recordQueryInclusions(tx, dialect, one);
      });
      await expect(attempt).rejects.toThrow();
      expect(await setOf(queryId)).toBeNull();
      expect(await usesOf(dataset.datasetId)).toEqual([]);
      await record(dataset.datasetId, queryId, [P.walletA]);
      expect(await usesOf(dataset.datasetId)).toEqual([`${P.walletA}:${queryId}`]);
    },
  );

  it.skipIf(skip)(
    "back-fills an enrolment that gains a wallet from every set that holds it, across pages",
    async () => {
      const dataset = await newDataset();
      const holding: string[] = [];
      for (let i = 0; i < BACKFILL_PAGE + 3; i++) {
        const queryId = await newQuery(dataset);
        // Every third query holds the person; the last one after the first page too.
        const holds = i % 3 === 0 || i === BACKFILL_PAGE + 2;
        await record(dataset.datasetId, queryId, holds ? [P.identityOnly, P.walletB] : [P.walletB]);
        if (holds) holding.push(queryId);
      }
      const before = await usesOf(dataset.datasetId);
      expect(before).toHaveLength(BACKFILL_PAGE + 3);

      const added = await db.$transaction(async (tx) => {
        await tx.enrolment.update({
          where: {
            datasetId_personId: { datasetId: dataset.datasetId, personId: P.identityOnly },
          },
          data: { patientAddress: wallet(99_001) },
          select: { id: true },
        });
        return backfillPatientQueryUses(tx, dialect, dataset.datasetId, [P.identityOnly]);
      });
      expect(added).toBe(holding.length);
      expect(await usesOf(dataset.datasetId)).toEqual(
        [...before, ...holding.map((queryId) => `${P.identityOnly}:${queryId}`)].sort(),
      );
      // Idempotent: nothing twice.
      expect(
        await db.$transaction((tx) =>
          backfillPatientQueryUses(tx, dialect, dataset.datasetId, [P.identityOnly, P.walletB]),
        ),
      ).toBe(0);
    },
  );

  it.skipIf(skip)(
    "answers a patient with the succeeded queries that used one of their persons, newest first",
    async () => {
      const dataset = await newDataset();
      const older = await newQuery(dataset);
      const newer = await newQuery(dataset);
      const running = await newQuery(dataset, "RUNNING");
      const notA = await newQuery(dataset);
      await record(dataset.datasetId, older, [P.walletA]);
      await record(dataset.datasetId, newer, [P.walletA, P.walletB]);
      await record(dataset.datasetId, running, [P.walletA]);
      await record(dataset.datasetId, notA, [P.walletB]);
      const forA = (await queriesThatUsedPatient(db, dataset.walletA)).queries;
      expect(forA.map((query) => query.id)).toEqual([newer, older]);
      expect(forA[0]).toEqual({
        id: newer,
        datasetId: dataset.datasetId,
        researcherAddress: wallet(2),
        kind: "SQL",
        createdAt: expect.any(Date),
        finishedAt: expect.any(Date),
        dataset: { title: "" },
      });
      expect((await queriesThatUsedPatient(db, dataset.walletB)).queries.map((q) => q.id)).toEqual([
        notA,
        newer,
      ]);
      expect(await queriesThatUsedPatient(db, wallet(98_765))).toEqual({
        queries: [],
        nextCursor: null,
      });
    },
  );

  it.skipIf(skip)("pages a patient's queries newest first, each query once", async () => {
    const dataset = await newDataset();
    const used: string[] = [];
    for (let i = 0; i < 7; i++) {
      const queryId = await newQuery(dataset);
      await record(dataset.datasetId, queryId, [P.walletA]);
      used.unshift(queryId);
    }
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await queriesThatUsedPatient(db, dataset.walletA, { after, limit: 3 });
      expect(page.queries.length).toBeLessThanOrEqual(3);
      seen.push(...page.queries.map((query) => query.id));
      after = page.nextCursor ?? undefined;
      pages += 1;
    } while (after !== undefined);
    expect(seen).toEqual(used);
    expect(pages).toBe(3);
    // Exactly a page's worth: no empty page after it.
    expect((await queriesThatUsedPatient(db, dataset.walletA, { limit: 7 })).nextCursor).toBeNull();
  });

  it.skipIf(skip || name !== "postgresql")(
    "PostgreSQL: a set committed while a wallet is bound reaches the patient either way",
    async () => {
      const dataset = await newDataset();
      const queryId = await newQuery(dataset);
      let commitQuery = () => {};
      const held = new Promise<void>((resolve) => {
        commitQuery = resolve;
      });
      let recorded = () => {};
      const written = new Promise<void>((resolve) => {
        recorded = resolve;
      });
      // The query's transaction has written its set and read the wallets, not yet committed.
      const queryTx = db.$transaction(async (tx) => {
        await recordQueryInclusions(tx, dialect, {
          queryId,
          datasetId: dataset.datasetId,
          epoch: 3,
          ordinals: await ordinalsIn(dataset.datasetId, [P.identityOnly]),
        });
        recorded();
        await held;
      });
      await written;
      // The binding reads the sets before the query commits: without the lock it would miss
      // the set, and the query would have missed the wallet.
      const bindTx = db.$transaction(async (tx) => {
        await tx.enrolment.update({
          where: {
            datasetId_personId: { datasetId: dataset.datasetId, personId: P.identityOnly },
          },
          data: { patientAddress: wallet(99_002) },
          select: { id: true },
        });
        return backfillPatientQueryUses(tx, dialect, dataset.datasetId, [P.identityOnly]);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      commitQuery();
      await queryTx;
      expect(await bindTx).toBe(1);
      expect(await usesOf(dataset.datasetId)).toEqual([`${P.identityOnly}:${queryId}`]);
    },
  );
});
