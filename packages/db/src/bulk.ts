/**
 * Reads and writes over thousands of rows that Prisma's query builder makes slow:
 * `createMany` binds a value per column and row and maps every row in JavaScript, and a join
 * of two tables without a relation has to be done as chunked `IN (...)` lists. Here each is one
 * statement through `$queryRaw`/`$executeRaw` tagged templates, so every value is bound and
 * none is spliced; a list of ids is one bound value (SQLite: a JSON array read with
 * json_each; PostgreSQL: a bigint[] unnested). Tables are qualified as Prisma qualifies its
 * own queries, so a PostgreSQL `?schema=` is honoured.
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

/**
 * Kept on globalThis: a bundler (Next) may load this module more than once in one process,
 * and a client made through one copy is used through another (the web app's services are
 * shared via globalThis); a module-level map would not know it there.
 */
const registry = globalThis as typeof globalThis & {
  [key: symbol]: WeakMap<object, SqlDialect> | undefined;
};
const REGISTRY_KEY = Symbol.for("@opencohort/db sql dialects");
registry[REGISTRY_KEY] ??= new WeakMap<object, SqlDialect>();
const dialects = registry[REGISTRY_KEY];

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

/** A table name, schema-qualified on PostgreSQL as Prisma qualifies its own queries. */
export function tableName(dialect: SqlDialect, table: string): Prisma.Sql {
  const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
  // Identifiers cannot be bound; these come from the schema and the operator's URL, quoted.
  return Prisma.raw(
    dialect.provider === "postgresql"
      ? `${quote(dialect.schema ?? "public")}.${quote(table)}`
      : quote(table),
  );
}

/**
 * The `personId`s (ascending) of the patients enrolled in `datasetId` whose mirrored consent
 * for it is granted: Enrolment ⋈ ConsentState on (consent identity, datasetId). Consent counts
 * only under the identity bound to the enrolment: an enrolment whose patient has not bound one
 * yet (e.g. enrolled before identities, when consent was signed by the wallet) is excluded
 * until they do. The two tables have no relation in the schema (consent is mirrored from the
 * chain and may precede an enrolment), hence one raw join. Only person ids are read; addresses
 * stay in the database.
 */
export async function selectConsentedPersonIds(
  client: Db | Prisma.TransactionClient,
  dialect: SqlDialect,
  datasetId: string,
): Promise<BigInt64Array> {
  const rows = await client.$queryRaw<{ personId: bigint }[]>`
    SELECT enrolment."personId" AS "personId"
    FROM ${tableName(dialect, "Enrolment")} AS enrolment
    JOIN ${tableName(dialect, "ConsentState")} AS consent
      ON consent."patientAddress" = enrolment."identityAddress"
     AND consent."datasetId" = enrolment."datasetId"
    WHERE enrolment."datasetId" = ${datasetId} AND consent."granted" = TRUE`;
  // Sorted here rather than by ORDER BY: one numeric order whatever the provider.
  return BigInt64Array.from(rows, (row) => BigInt(row.personId)).sort();
}
