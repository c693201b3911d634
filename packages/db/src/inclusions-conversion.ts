/**
 * Converts the per-person QueryInclusion rows of databases created before inclusion sets into
 * one QueryInclusionSet (and its PatientQueryUse rows) per query. SQL cannot build a Roaring
 * bitmap, so this runs in JavaScript between two migrations: `migrate()` applies every
 * migration before QUERY_INCLUSION_ROWS_DROPPED, runs this, then applies the rest (that
 * migration refuses to drop rows left unconverted). Idempotent and resumable: a query that
 * already has its set is skipped, so a conversion cut short is finished by the next call.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { type SqlDialect, sqlDialectOf, tableName } from "./bulk";
import { createDb, type Db } from "./client";
import { SQLITE_BUSY_TIMEOUT_MS } from "./engine/adapter";
import { recordQueryInclusions } from "./inclusions";
import { pgConfigFromUrl } from "./pg-config";
import { type DatabaseTarget, sqliteUrl } from "./url";

/** The migration that drops QueryInclusion; the conversion runs just before it. */
export const QUERY_INCLUSION_ROWS_DROPPED = "20261202151803_query_inclusion_rows_dropped";

/** Queries read per page, and converted per transaction (bounds memory and lock time). */
const QUERIES_PER_PAGE = 100;

/**
 * Whether the database still has the QueryInclusion table, so the conversion is due. Read
 * with the plain drivers: every migrate() asks, and a Prisma client costs more to start.
 */
export async function hasQueryInclusionTable(target: DatabaseTarget): Promise<boolean> {
  if (target.provider === "sqlite") {
    const db = new Database(target.file, { readonly: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
    try {
      return (
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'QueryInclusion'",
          )
          .get() !== undefined
      );
    } finally {
      db.close();
    }
  }
  const client = new pg.Client(pgConfigFromUrl(target.url));
  client.on("error", () => {});
  await client.connect();
  try {
    const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
    const { rows } = await client.query<{ present: boolean }>(
      "SELECT to_regclass($1) IS NOT NULL AS present",
      [`${quote(target.schema ?? "public")}.${quote("QueryInclusion")}`],
    );
    return rows[0]?.present === true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Converts every query's rows that have no set yet; returns the number of queries converted. */
export async function convertQueryInclusionRows(target: DatabaseTarget): Promise<number> {
  return withDb(target, async (db, dialect) => {
    const inclusions = tableName(dialect, "QueryInclusion");
    let converted = 0;
    let after = "";
    for (;;) {
      const queries = await db.query.findMany({
        where: { id: { gt: after }, inclusionSet: { is: null } },
        orderBy: { id: "asc" },
        take: QUERIES_PER_PAGE,
        select: { id: true, datasetId: true },
      });
      await db.$transaction(
        async (tx) => {
          for (const query of queries) {
            const rows = await tx.$queryRaw<{ personId: bigint | number; epoch: number }[]>`
              SELECT "personId", "epoch" FROM ${inclusions} WHERE "queryId" = ${query.id}`;
            if (rows.length === 0) continue;
            await recordQueryInclusions(tx, dialect, {
              queryId: query.id,
              datasetId: query.datasetId,
              epoch: Number(rows[0]?.epoch),
              personIds: BigInt64Array.from(rows, (row) => BigInt(row.personId)),
            });
            converted += 1;
          }
        },
        { timeout: 600_000 },
      );
      if (queries.length < QUERIES_PER_PAGE) return converted;
      after = (queries.at(-1) as { id: string }).id;
    }
  });
}

async function withDb<T>(
  target: DatabaseTarget,
  work: (db: Db, dialect: SqlDialect) => Promise<T>,
): Promise<T> {
  const db = createDb(target.provider === "sqlite" ? sqliteUrl(target.file) : target.url);
  try {
    return await work(db, sqlDialectOf(db));
  } finally {
    await db.$disconnect();
  }
}
