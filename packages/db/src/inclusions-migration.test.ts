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
import { PersonIdSet } from "./inclusion-bitmap";
import { QUERY_INCLUSION_ROWS_DROPPED } from "./inclusions-conversion";
import { LAYOUTS } from "./layout";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";
import type { DatabaseTarget } from "./url";

/**
 * A database from before inclusion sets, holding per-person QueryInclusion rows, brought up
 * to date by migrate(): each query's rows become one set (ids past 2^32 and negative kept),
 * the wallet patients among them get their "who used my data" rows, and the old table goes.
 */
const SETS_CREATED = "20261202151746_query_inclusion_sets";

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
            ids: [...PersonIdSet.fromBytes(set.bitmap).toBigInt64Array()],
          })),
        ).toEqual([
          { queryId: "q1", datasetId: "0xd1", epoch: 4, ids: [-5n, 1n, 77n, 2n ** 33n + 7n] },
          { queryId: "q2", datasetId: "0xd1", epoch: 5, ids: Q2_IDS },
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
});
