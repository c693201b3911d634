/**
 * Bulk writes that Prisma's query builder makes slow: `createMany` binds four values per row
 * and maps every row in JavaScript, which for a query over thousands of persons costs more
 * than the query itself. Here one statement per chunk binds a single value holding the
 * whole list (SQLite: a JSON array read with json_each; PostgreSQL: a bigint[] unnested),
 * through `$executeRaw` tagged templates, so every value is bound and none is spliced.
 */
import type { Db } from "./client";
import { Prisma } from "./generated/sqlite/client";
import type { Provider } from "./url";

/** How a Db speaks SQL: its provider and, on PostgreSQL, the schema its tables live in. */
export interface SqlDialect {
  provider: Provider;
  /** PostgreSQL schema (`?schema=` of the URL, else Prisma's default `public`). */
  schema?: string;
}

const dialects = new WeakMap<object, SqlDialect>();

/** Records the dialect of a client `createDb` just made (called by createDb only). */
export function rememberDialect(db: Db, dialect: SqlDialect): void {
  dialects.set(db, dialect);
}

/** The dialect `db` was created with by `createDb`/`openDb`. */
export function sqlDialectOf(db: Db): SqlDialect {
  const dialect = dialects.get(db);
  if (!dialect) throw new Error("This Prisma client was not created by createDb/openDb.");
  return dialect;
}

/**
 * Rows per statement. The whole list is one bound value, so provider limits on bound values
 * do not apply; the chunk only bounds the size of that one value (~20 bytes per id).
 */
export const INCLUSION_CHUNK = 50_000;

export interface QueryInclusionRows {
  queryId: string;
  datasetId: string;
  epoch: number;
  personIds: readonly bigint[] | BigInt64Array;
}

/** A table name, schema-qualified on PostgreSQL as Prisma qualifies its own queries. */
function tableName(dialect: SqlDialect, table: string): Prisma.Sql {
  const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
  // Identifiers cannot be bound; these come from the schema and the operator's URL, quoted.
  return Prisma.raw(
    dialect.provider === "postgresql"
      ? `${quote(dialect.schema ?? "public")}.${quote(table)}`
      : quote(table),
  );
}

/**
 * Inserts one QueryInclusion row per person id (run it inside the query's transaction).
 * Returns the number of rows written, which is checked against the ids given: a mismatch
 * throws, so the surrounding transaction rolls back rather than store a partial set.
 */
export async function insertQueryInclusions(
  client: Db | Prisma.TransactionClient,
  dialect: SqlDialect,
  rows: QueryInclusionRows,
): Promise<number> {
  const { queryId, datasetId, epoch, personIds } = rows;
  const table = tableName(dialect, "QueryInclusion");
  let written = 0;
  for (let start = 0; start < personIds.length; start += INCLUSION_CHUNK) {
    const chunk = Array.from(personIds.slice(start, start + INCLUSION_CHUNK), String);
    written +=
      dialect.provider === "postgresql"
        ? await client.$executeRaw`
            INSERT INTO ${table} ("queryId", "personId", "datasetId", "epoch")
            SELECT ${queryId}::text, person_id, ${datasetId}::text, ${epoch}::integer
            FROM unnest(${chunk}::bigint[]) AS ids(person_id)`
        : await client.$executeRaw`
            INSERT INTO ${table} ("queryId", "personId", "datasetId", "epoch")
            SELECT ${queryId}, ids.value, ${datasetId}, ${epoch}
            FROM json_each(${`[${chunk.join(",")}]`}) AS ids`;
  }
  if (written !== personIds.length) {
    throw new Error(`Wrote ${written} query inclusions for ${personIds.length} person ids.`);
  }
  return written;
}
