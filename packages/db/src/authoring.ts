/**
 * Creating migrations and checking them against the schema, for both providers, offline.
 * Used by `pnpm --filter @opencohort/db migration:new <name>` and by the drift test.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OFFLINE_POSTGRES } from "./engine/adapter";
import {
  LOCKFILE_NAME,
  lockfileContent,
  MIGRATION_FILE_NAME,
  readMigrationsList,
} from "./engine/migrations-dir";
import { withSchemaEngine } from "./engine/session";
import { LAYOUTS } from "./layout";
import { postgresSchemaFrom } from "./postgres-schema";
import type { DatabaseTarget, Provider } from "./url";

const NO_FILTER = { externalTables: [], externalEnums: [] };

/** What the engine prints for a diff with nothing in it. */
const EMPTY_MIGRATION = /^\s*(-- This is an empty migration\.)?\s*$/;

export function isEmptyScript(script: string): boolean {
  return EMPTY_MIGRATION.test(script);
}

/**
 * A target that needs no server: datamodel-to-datamodel diffs need an adapter of the right
 * provider but no database (SQLite opens `:memory:`; PostgreSQL gets a stand-in).
 */
function offlineTarget(provider: Provider): DatabaseTarget {
  return provider === "sqlite" ? { provider: "sqlite", file: ":memory:" } : OFFLINE_POSTGRES;
}

/** SQL that turns the `from` schema into the `to` schema, computed without any database. */
export async function datamodelDiff(
  provider: Provider,
  from: string | null,
  to: string,
): Promise<string> {
  const result = await withSchemaEngine(offlineTarget(provider), (engine) =>
    engine.diff({
      from:
        from === null
          ? { tag: "empty" }
          : { tag: "schemaDatamodel", files: [{ path: "from.prisma", content: from }] },
      to: { tag: "schemaDatamodel", files: [{ path: "to.prisma", content: to }] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    }),
  );
  return result.stdout ?? "";
}

/**
 * SQL still missing after the committed migrations of `provider`, compared with its schema:
 * empty when migrations and schema agree. The migrations are replayed on a shadow database:
 * SQLite in memory (offline); PostgreSQL a throwaway database on the server named by
 * `shadowServer` (the adapter creates and drops it).
 */
export async function migrationsDrift(
  provider: Provider,
  shadowServer?: DatabaseTarget,
): Promise<string> {
  const layout = LAYOUTS[provider];
  const schema = await readFile(layout.schemaPath, "utf8");
  const list = await readMigrationsList(layout.migrationsDir);
  const target = provider === "sqlite" ? offlineTarget("sqlite") : shadowServer;
  if (target === undefined)
    throw new Error("a PostgreSQL server is needed to replay PostgreSQL migrations");
  const result = await withSchemaEngine(target, (engine) =>
    engine.diff({
      // No migrations yet: the engine would ask for a lockfile; the history is simply empty.
      from:
        list.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...list },
      to: { tag: "schemaDatamodel", files: [{ path: layout.schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    }),
  );
  const script = result.stdout ?? "";
  return isEmptyScript(script) ? "" : script;
}

/** prisma/postgres/schema.prisma as it should be, generated from prisma/schema.prisma. */
export async function expectedPostgresSchema(): Promise<string> {
  return postgresSchemaFrom(await readFile(LAYOUTS.sqlite.schemaPath, "utf8"));
}

/** Rewrites prisma/postgres/schema.prisma; returns whether it changed. */
export async function syncPostgresSchema(): Promise<boolean> {
  const expected = await expectedPostgresSchema();
  const path = LAYOUTS.postgresql.schemaPath;
  const current = existsSync(path) ? await readFile(path, "utf8") : null;
  if (current === expected) return false;
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, expected);
  return true;
}

/** Prisma's migration folder name: UTC yyyyMMddHHmmss, then the snake_cased name. */
export function migrationFolderName(name: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const slug = name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 200);
  if (slug === "")
    throw new Error("a migration needs a name of letters or digits, e.g. add_consent_index");
  return `${stamp}_${slug}`;
}

export type CreatedMigration = { folder: string; sqlite: string; postgresql: string } | null;

/**
 * Creates the next migration for both providers under one folder name, from the schema
 * changes since the last one. SQLite: committed migrations replayed in memory, diffed
 * against prisma/schema.prisma. PostgreSQL: the committed postgres schema (which the drift
 * test keeps equal to its migrations) diffed against the regenerated one, no server
 * needed. Returns null when nothing changed.
 */
export async function createMigration(
  name: string,
  now: Date = new Date(),
): Promise<CreatedMigration> {
  const folder = migrationFolderName(name, now);
  const sqliteScript = await migrationsDrift("sqlite");
  const postgresPath = LAYOUTS.postgresql.schemaPath;
  const previousPostgres = existsSync(postgresPath) ? await readFile(postgresPath, "utf8") : null;
  // A postgres schema without migrations (first run) starts from empty.
  const postgresHasMigrations =
    (await readMigrationsList(LAYOUTS.postgresql.migrationsDir)).migrationDirectories.length > 0;
  const nextPostgres = await expectedPostgresSchema();
  const postgresScript = await datamodelDiff(
    "postgresql",
    postgresHasMigrations ? previousPostgres : null,
    nextPostgres,
  );
  if (isEmptyScript(sqliteScript) && isEmptyScript(postgresScript)) return null;
  await syncPostgresSchema();
  for (const [provider, script] of [
    ["sqlite", sqliteScript],
    ["postgresql", postgresScript],
  ] as const) {
    const dir = LAYOUTS[provider].migrationsDir;
    await mkdir(join(dir, folder), { recursive: true });
    await writeFile(
      join(dir, folder, MIGRATION_FILE_NAME),
      isEmptyScript(script) ? "-- This is an empty migration.\n" : script,
    );
    await writeFile(join(dir, LOCKFILE_NAME), lockfileContent(provider));
  }
  return { folder, sqlite: sqliteScript, postgresql: postgresScript };
}
