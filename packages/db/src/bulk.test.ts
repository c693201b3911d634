import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { providerCases } from "../test/helpers";
import { type SqlDialect, sqlDialectOf } from "./bulk";
import { createDb, type Db } from "./client";
import { createEnrolments, selectConsentedEnrolments } from "./enrolments";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";
import { toDbUint } from "./uint";

const hex = (n: number, bytes = 32) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

/** Person ids that stress the encoding: int64 extremes, negatives, zero, > 2^53. */
const EDGE_IDS = [
  -(2n ** 63n),
  2n ** 63n - 1n,
  -1n,
  0n,
  1n,
  2n ** 53n + 1n,
  9_007_199_254_740_993n,
  -9_007_199_254_740_993n,
];

/** `count` distinct ids: the edge cases, then a spread of large positive ones. */
function personIds(count: number, salt: bigint): bigint[] {
  const ids = new Set(EDGE_IDS);
  for (let i = 0n; ids.size < count; i++) ids.add(4_000_000_000_000_000n + i * 7_919n + salt);
  return [...ids].slice(0, count);
}

const ascending = (ids: Iterable<bigint>) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const APP_SCHEMA = "oc_app";

// PostgreSQL twice: the default schema, and tables under `?schema=` (Prisma qualifies its own
// queries with that schema; the raw statement must land in the same tables).
const cases = providerCases().flatMap((c) =>
  c.name === "postgresql"
    ? [
        { ...c, label: "postgresql", schema: undefined },
        { ...c, label: "postgresql ?schema=", schema: APP_SCHEMA },
      ]
    : [{ ...c, label: c.name, schema: undefined }],
);

/** Runs SQL as the test server's superuser on database `url`. */
async function asAdmin(url: string, sql: string): Promise<void> {
  const admin = new pg.Client(pgConfigFromUrl(url));
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

describe.each(cases)("bulk statements on $label", ({ name, url: newUrl, skip, schema }) => {
  let db: Db;
  let url: string;
  let dialect: SqlDialect;
  let datasetId = "";

  beforeAll(async () => {
    if (skip) return;
    url = newUrl();
    await migrate(url);
    if (schema !== undefined) {
      // The migrated tables, moved under `schema`; `public` is left empty, so a statement
      // that ignored `?schema=` would fail instead of writing to the wrong tables.
      await asAdmin(url, `ALTER SCHEMA public RENAME TO ${schema}; CREATE SCHEMA public;`);
      const withSchema = new URL(url);
      withSchema.searchParams.set("schema", schema);
      url = withSchema.toString();
    }
    db = createDb(url);
    dialect = sqlDialectOf(db);
    datasetId = hex(7);
    for (const id of [datasetId, hex(8)]) await newDataset(id);
  });

  const newDataset = (id: string) =>
    db.dataset.create({
      data: {
        id,
        steward: hex(1, 20),
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

  it.skipIf(skip)("knows the provider and schema the client was created for", () => {
    expect(dialect).toEqual(schema === undefined ? { provider: name } : { provider: name, schema });
    expect(() => sqlDialectOf({} as Db)).toThrow(/createDb/);
  });

  it.skipIf(skip)("knows it through a second copy of the module (as Next bundles it)", async () => {
    // A query string makes vitest load a second instance of the module; tsc cannot type it.
    // @ts-expect-error -- no declarations for "./bulk.ts?copy"
    const copy = (await import("./bulk.ts?copy")) as typeof import("./bulk");
    expect(copy.sqlDialectOf).not.toBe(sqlDialectOf);
    expect(copy.sqlDialectOf(db)).toEqual(dialect);
  });

  it.skipIf(skip)(
    "reads the enrolled persons with granted consent for that dataset only, ascending, with their ordinals",
    async () => {
      const wallet = (n: number) => hex(n, 20);
      const ids = personIds(2_600, 3n);
      await db.$transaction((tx) =>
        createEnrolments(tx, dialect, datasetId, [
          ...ids.map((personId, i) => ({ personId, identityAddress: wallet(i + 1) })),
          // Enrolled before consent identities: its wallet's consent must not count.
          { personId: 10n ** 15n, patientAddress: wallet(77_777) },
        ]),
      );
      const consent = (i: number, id: string, granted: boolean) => ({
        patientAddress: wallet(i + 1),
        datasetId: id,
        granted,
        nonce: toDbUint(1n),
        lastBlock: 5n,
        lastLogIndex: 0,
        lastTxHash: hex(9),
      });
      // Every other patient consents (the edge ids among them), every fifth of those revoked;
      // a consent for another dataset, one of an address that is not enrolled and one of a wallet
      // enrolled without a bound identity do not count.
      const consenting = ids.map((_, i) => i).filter((i) => i % 2 === 0);
      await db.consentState.createMany({
        data: [
          ...consenting.map((i) => consent(i, datasetId, i % 5 !== 0)),
          consent(1, hex(8), true),
          consent(99_999, datasetId, true),
          consent(77_776, datasetId, true),
        ],
      });
      const expected = ascending(
        consenting.filter((i) => i % 5 !== 0).map((i) => ids[i] as bigint),
      );
      const read = await db.$transaction((tx) => selectConsentedEnrolments(tx, dialect, datasetId));
      expect(read.personIds).toBeInstanceOf(BigInt64Array);
      expect([...read.personIds]).toEqual(expected);
      // Each person's ordinal is its place in the enrolment order (1-based).
      const enrolledAt = new Map(ids.map((personId, i) => [personId, i + 1]));
      expect([...read.ordinals]).toEqual(expected.map((personId) => enrolledAt.get(personId)));
      expect((await selectConsentedEnrolments(db, dialect, hex(8))).personIds).toHaveLength(0);
    },
  );
});
