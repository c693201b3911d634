import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { providerCases } from "../test/helpers";
import { createDb } from "./client";
import { createDatabase } from "./engine/database";
import { readMigrationsList } from "./engine/migrations-dir";
import { withSchemaEngine } from "./engine/session";
import { resolveDatabaseUrl } from "./env";
import { EnrolmentOrdinalSet, PersonIdSet } from "./inclusion-bitmap";
import {
  INCLUSION_SETS_OVER_ORDINALS,
  QUERY_INCLUSION_ROWS_DROPPED,
} from "./inclusions-conversion";
import { LAYOUTS } from "./layout";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";
import type { DatabaseTarget } from "./url";

/**
 * Databases from before inclusion sets (per-person QueryInclusion rows) and from before
 * enrolment ordinals (sets of person ids), brought up to date by migrate(): each query's
 * persons become one set of the ordinals of their enrolments (persons no longer enrolled
 * leave it), the wallet patients among them get their "who used my data" rows, the old table
 * goes, and the migrations that guard each step refuse to run without it.
 */
const SETS_CREATED = "20261202151746_query_inclusion_sets";
const ENROLMENT_ORDINALS = "20261202185713_enrolment_ordinals";

/** Applies the committed migrations before `stop` (exclusive), as migrate() would. */
async function migrateBefore(target: DatabaseTarget, stop: string): Promise<void> {
  const list = await readMigrationsList(LAYOUTS[target.provider].migrationsDir);
  const at = list.migrationDirectories.findIndex((migration) => migration.path === stop);
  await withSchemaEngine(target, (engine) =>
    engine.applyMigrations({
      migrationsList: { ...list, migrationDirectories: list.migrationDirectories.slice(0, at) },
      filters: { externalTables: [], externalEnums: [] },
    }),
  );
}

const Q1_IDS = [1n, 2n ** 33n + 7n, -5n, 77n];
const Q2_IDS = Array.from({ length: 3_000 }, (_, i) => BigInt(i * 3));
const seedBefore = `
  INSERT INTO "Dataset" ("id", "steward", "price", "accessDurationSeconds", "metadataHash", "listedBlock", "listedTxHash", "updatedBlock", "updatedAt")
    VALUES ('0xd1', '0xs1', '1', 60, '0xm1', 1, '0xt1', 1, CURRENT_TIMESTAMP);
  INSERT INTO "DatasetVersion" ("id", "datasetId", "version", "manifestHash", "schemaVersion", "publishedAt", "publishedBlock", "publishedTxHash")
    VALUES ('v1', '0xd1', 1, '0xh', '0xs', CURRENT_TIMESTAMP, 1, '0xt');
  INSERT INTO "Enrolment" ("id", "datasetId", "personId", "patientAddress") VALUES
    ('e1', '0xd1', 8589934599, '0xwallet1'), ('e2', '0xd1', 3, '0xwallet2'), ('e3', '0xd1', 77, NULL);
  INSERT INTO "Query" ("id", "researcherAddress", "datasetId", "datasetVersionId", "kind", "sql", "status", "epoch") VALUES
    ('q1', '0xr', '0xd1', 'v1', 'SQL', 'SELECT 1', 'SUCCEEDED', 4),
    ('q2', '0xr', '0xd1', 'v1', 'SQL', 'SELECT 2', 'SUCCEEDED', 5),
    ('q3', '0xr', '0xd1', 'v1', 'SQL', 'SELECT 3', 'FAILED', 5);
  INSERT INTO "QueryInclusion" ("queryId", "personId", "datasetId", "epoch") VALUES
    ${[
      ...Q1_IDS.map((id) => `('q1', ${id}, '0xd1', 4)`),
      ...Q2_IDS.map((id) => `('q2', ${id}, '0xd1', 5)`),
    ].join(", ")};
`;

/** Runs `sql` (several statements) on the database of `target`, with the plain driver. */
async function execute(target: DatabaseTarget, sql: string): Promise<void> {
  if (target.provider === "sqlite") {
    const db = new Database(target.file);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client(pgConfigFromUrl(target.url));
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const dropAfter: string[] = [];
afterAll(async () => {
  const server = inject("postgresUrl");
  if (server === "" || dropAfter.length === 0) return;
  const client = new pg.Client(pgConfigFromUrl(server));
  await client.connect();
  for (const url of dropAfter) {
    await client.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  }
  await client.end();
});

describe.each(providerCases())("the inclusion-sets migration on $name", ({ name, url, skip }) => {
  it.skipIf(skip)(
    "converts per-person rows into one set per query and index rows, then drops them",
    async () => {
      const databaseUrl = url();
      if (name === "postgresql") dropAfter.push(databaseUrl);
      const { target } = resolveDatabaseUrl(databaseUrl);
      await createDatabase(target);
      await migrateBefore(target, SETS_CREATED);
      await execute(target, seedBefore);

      const result = await migrate(databaseUrl);
      // Migrations committed after these follow them.
      expect(result.applied.slice(0, 2)).toEqual([SETS_CREATED, QUERY_INCLUSION_ROWS_DROPPED]);
      expect(result.applied).toContain(INCLUSION_SETS_OVER_ORDINALS);

      const db = createDb(databaseUrl);
      try {
        const sets = await db.queryInclusionSet.findMany({
          orderBy: { queryId: "asc" },
          select: { queryId: true, datasetId: true, epoch: true, bitmap: true },
        });
        expect(
          sets.map((set) => ({
            queryId: set.queryId,
            datasetId: set.datasetId,
            epoch: set.epoch,
            ordinals: [...EnrolmentOrdinalSet.fromBytes(set.bitmap).toUint32Array()],
          })),
        ).toEqual([
          // Enrolments e1, e2, e3 got ordinals 1, 2, 3; persons 1 and -5 were never enrolled.
          { queryId: "q1", datasetId: "0xd1", epoch: 4, ordinals: [1, 3] },
          { queryId: "q2", datasetId: "0xd1", epoch: 5, ordinals: [2] },
        ]);
        const uses = await db.patientQueryUse.findMany({
          orderBy: [{ personId: "asc" }, { queryId: "asc" }],
          select: { personId: true, queryId: true },
        });
        // Person 2^33+7 (wallet 1) in q1, person 3 (wallet 2) in q2; 77 has no wallet.
        expect(uses).toEqual([
          { personId: 3n, queryId: "q2" },
          { personId: 2n ** 33n + 7n, queryId: "q1" },
        ]);
        const oldTable =
          target.provider === "sqlite"
            ? await db.$queryRaw<
                unknown[]
              >`SELECT name FROM sqlite_master WHERE name = 'QueryInclusion'`
            : await db.$queryRaw<
                unknown[]
              >`SELECT 1 FROM pg_tables WHERE tablename = 'QueryInclusion'`;
        expect(oldTable).toEqual([]);
      } finally {
        await db.$disconnect();
      }
      expect((await migrate(databaseUrl)).applied).toEqual([]);
    },
  );

  it.skipIf(skip)(
    "the drop migration alone (prisma migrate deploy without the conversion) stops, keeping the rows",
    async () => {
      const databaseUrl = url();
      if (name === "postgresql") dropAfter.push(databaseUrl);
      const { target } = resolveDatabaseUrl(databaseUrl);
      await createDatabase(target);
      await migrateBefore(target, SETS_CREATED);
      await execute(target, seedBefore);
      await migrateBefore(target, QUERY_INCLUSION_ROWS_DROPPED);
      const drop = readFileSync(
        join(LAYOUTS[target.provider].migrationsDir, QUERY_INCLUSION_ROWS_DROPPED, "migration.sql"),
        "utf8",
      );
      await expect(execute(target, drop)).rejects.toThrow(/QueryInclusion rows not converted/);
      // migrate() then converts and finishes.
      expect((await migrate(databaseUrl)).applied[0]).toBe(QUERY_INCLUSION_ROWS_DROPPED);
    },
  );

  /** A database at the schema before ordinals, holding sets of person ids (format 1). */
  async function withPersonIdSets(): Promise<{ databaseUrl: string; target: DatabaseTarget }> {
    const databaseUrl = url();
    if (name === "postgresql") dropAfter.push(databaseUrl);
    const { target } = resolveDatabaseUrl(databaseUrl);
    await createDatabase(target);
    await migrateBefore(target, ENROLMENT_ORDINALS);
    const seed = seedBefore.slice(0, seedBefore.indexOf('INSERT INTO "Query"'));
    await execute(target, seed);
    await execute(
      target,
      `INSERT INTO "Query" ("id", "researcherAddress", "datasetId", "datasetVersionId", "kind", "sql", "status", "epoch") VALUES
         ('q1', '0xr', '0xd1', 'v1', 'SQL', 'SELECT 1', 'SUCCEEDED', 4);
       INSERT INTO "QueryInclusionSet" ("queryId", "datasetId", "epoch", "bitmap") VALUES
         ('q1', '0xd1', 4, ${hexLiteral(target, PersonIdSet.of([77n, 3n, 12_345n]).toBytes())});
       INSERT INTO "PatientQueryUse" ("datasetId", "personId", "queryId") VALUES ('0xd1', 3, 'q1');`,
    );
    return { databaseUrl, target };
  }

  it.skipIf(skip)(
    "converts sets of person ids into sets of enrolment ordinals, keeping the index rows",
    async () => {
      const { databaseUrl } = await withPersonIdSets();
      expect((await migrate(databaseUrl)).applied).toEqual([
        ENROLMENT_ORDINALS,
        INCLUSION_SETS_OVER_ORDINALS,
        ...(await migrationsAfter(resolveDatabaseUrl(databaseUrl).target)),
      ]);
      const db = createDb(databaseUrl);
      try {
        const set = await db.queryInclusionSet.findUniqueOrThrow({
          where: { queryId: "q1" },
          select: { bitmap: true },
        });
        // Person 3 is e2 (ordinal 2), 77 is e3 (ordinal 3); 12,345 was never enrolled.
        expect([...EnrolmentOrdinalSet.fromBytes(set.bitmap).toUint32Array()]).toEqual([2, 3]);
        expect(
          await db.patientQueryUse.findMany({ select: { personId: true, queryId: true } }),
        ).toEqual([{ personId: 3n, queryId: "q1" }]);
      } finally {
        await db.$disconnect();
      }
    },
  );

  it.skipIf(skip)(
    "the ordinals guard alone (prisma migrate deploy without the conversion) stops, keeping the sets",
    async () => {
      const { databaseUrl, target } = await withPersonIdSets();
      await migrateBefore(target, INCLUSION_SETS_OVER_ORDINALS);
      const guard = readFileSync(
        join(LAYOUTS[target.provider].migrationsDir, INCLUSION_SETS_OVER_ORDINALS, "migration.sql"),
        "utf8",
      );
      await expect(execute(target, guard)).rejects.toThrow(
        /Inclusion sets of person ids not converted/,
      );
      expect((await migrate(databaseUrl)).applied[0]).toBe(INCLUSION_SETS_OVER_ORDINALS);
    },
  );
});

/** Bytes as a SQL literal of the provider (test fixtures only). */
function hexLiteral(target: DatabaseTarget, bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString("hex");
  return target.provider === "sqlite" ? `X'${hex}'` : `'\\x${hex}'::bytea`;
}

/** Committed migrations after the ordinals guard (migrate() applies them too). */
async function migrationsAfter(target: DatabaseTarget): Promise<string[]> {
  const list = await readMigrationsList(LAYOUTS[target.provider].migrationsDir);
  const paths = list.migrationDirectories.map((migration) => migration.path);
  return paths.slice(paths.indexOf(INCLUSION_SETS_OVER_ORDINALS) + 1);
}
