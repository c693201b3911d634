/**
 * Conversions of stored inclusions that SQL cannot do (it cannot build a Roaring bitmap), run
 * by `migrate()` in JavaScript between two migrations: it applies every migration before the
 * named one, runs the conversion, then goes on (that migration refuses to run while data is
 * left unconverted). Both are idempotent and resumable: what is converted is skipped, so a
 * conversion cut short is finished by the next call.
 *
 * 1. Per-person QueryInclusion rows (databases made before inclusion sets) into one
 *    QueryInclusionSet of person ids (format version 1) and its PatientQueryUse rows per
 *    query, before QUERY_INCLUSION_ROWS_DROPPED.
 * 2. Sets of person ids into sets of enrolment ordinals (format version 2), before
 *    INCLUSION_SETS_OVER_ORDINALS, once the enrolments have their ordinals. A person whose
 *    enrolment was deleted since has no ordinal and leaves the set (their index rows went
 *    with the enrolment).
 *
 * Both write with raw SQL: the Prisma client knows only the latest schema, and the first
 * runs against an older one.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { type SqlDialect, sqlDialectOf, tableName } from "./bulk";
import { createDb, type Db } from "./client";
import { SQLITE_BUSY_TIMEOUT_MS } from "./engine/adapter";
import { datasetPersonOrdinals, ordinalsOf } from "./enrolments";
import { Prisma } from "./generated/sqlite/client";
import { EnrolmentOrdinalSet, PERSON_ID_SET_VERSION, PersonIdSet } from "./inclusion-bitmap";
import { insertPatientQueryUses } from "./inclusions";
import { pgConfigFromUrl } from "./pg-config";
import { type DatabaseTarget, sqliteUrl } from "./url";

/** The migration that drops QueryInclusion; the conversion runs just before it. */
export const QUERY_INCLUSION_ROWS_DROPPED = "20261202151803_query_inclusion_rows_dropped";

/** The check-only migration that refuses sets of person ids; conversion 2 runs just before it. */
export const INCLUSION_SETS_OVER_ORDINALS = "20261202185714_inclusion_sets_over_ordinals";

/** Queries read per page, and converted per transaction (bounds memory and lock time). */
const QUERIES_PER_PAGE = 100;

/**
 * Whether the database still has the QueryInclusion table, so the conversion is due. Read
 * with the plain drivers: every migrate() asks, and a Prisma client costs more to start.
 */
export function hasQueryInclusionTable(target: DatabaseTarget): Promise<boolean> {
  return hasTable(target, "QueryInclusion");
}

async function hasTable(target: DatabaseTarget, table: string): Promise<boolean> {
  if (target.provider === "sqlite") {
    const db = new Database(target.file, { readonly: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
    try {
      return (
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
          .get(table) !== undefined
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
      [`${quote(target.schema ?? "public")}.${quote(table)}`],
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
            const included = PersonIdSet.of(
              BigInt64Array.from(rows, (row) => BigInt(row.personId)),
            );
            await tx.$executeRaw`
              INSERT INTO ${tableName(dialect, "QueryInclusionSet")}
                ("queryId", "datasetId", "epoch", "bitmap")
              VALUES (${query.id}, ${query.datasetId}, ${Number(rows[0]?.epoch)}, ${included.toBytes()})`;
            const wallets = await tx.$queryRaw<{ personId: bigint | number }[]>`
              SELECT "personId" FROM ${tableName(dialect, "Enrolment")}
              WHERE "datasetId" = ${query.datasetId} AND "patientAddress" IS NOT NULL`;
            const used = wallets
              .map((row) => BigInt(row.personId))
              .filter((personId) => included.has(personId));
            await insertPatientQueryUses(
              tx,
              dialect,
              query.datasetId,
              used,
              used.map(() => query.id),
            );
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

/** Sets still holding person ids (format version 1), as a WHERE condition. */
function isPersonIdSet(dialect: SqlDialect): Prisma.Sql {
  const version = Buffer.alloc(2);
  version.writeUInt16LE(PERSON_ID_SET_VERSION);
  return dialect.provider === "postgresql"
    ? Prisma.sql`substring("bitmap" from 5 for 2) = ${version}`
    : Prisma.sql`substr("bitmap", 5, 2) = ${version}`;
}

/** Whether some inclusion set still holds person ids, so conversion 2 is due. */
export async function hasPersonIdInclusionSets(target: DatabaseTarget): Promise<boolean> {
  if (!(await hasTable(target, "QueryInclusionSet"))) return false;
  return withDb(target, async (db, dialect) => {
    const rows = await db.$queryRaw<unknown[]>`
      SELECT 1 FROM ${tableName(dialect, "QueryInclusionSet")} WHERE ${isPersonIdSet(dialect)}
      LIMIT 1`;
    return rows.length > 0;
  });
}

/** Converts every set of person ids into a set of enrolment ordinals; returns how many. */
export async function convertPersonIdSetsToOrdinals(target: DatabaseTarget): Promise<number> {
  return withDb(target, async (db, dialect) => {
    const sets = tableName(dialect, "QueryInclusionSet");
    const datasets = await db.$queryRaw<{ datasetId: string }[]>`
      SELECT DISTINCT "datasetId" FROM ${sets} WHERE ${isPersonIdSet(dialect)}`;
    let converted = 0;
    for (const { datasetId } of datasets) {
      // Enrolments are not changed while migrate() runs (the app waits for it).
      const known = await datasetPersonOrdinals(db, dialect, datasetId);
      for (;;) {
        const page = await db.$queryRaw<{ queryId: string; bitmap: Uint8Array }[]>`
          SELECT "queryId", "bitmap" FROM ${sets}
          WHERE "datasetId" = ${datasetId} AND ${isPersonIdSet(dialect)}
          ORDER BY "queryId" LIMIT ${QUERIES_PER_PAGE}`;
        if (page.length === 0) break;
        await db.$transaction(
          async (tx) => {
            for (const { queryId, bitmap } of page) {
              const personIds = PersonIdSet.fromBytes(bitmap).toBigInt64Array();
              const ordinals = EnrolmentOrdinalSet.of(ordinalsOf(known, personIds, "skip"));
              await tx.$executeRaw`
                UPDATE ${sets} SET "bitmap" = ${ordinals.toBytes()} WHERE "queryId" = ${queryId}`;
            }
          },
          { timeout: 600_000 },
        );
        converted += page.length;
      }
    }
    return converted;
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
