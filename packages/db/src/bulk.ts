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
