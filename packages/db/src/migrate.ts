import Database from "better-sqlite3";
import { SQLITE_BUSY_TIMEOUT_MS } from "./engine/adapter";
import { type ConnectProblem, createDatabase, probeDatabase } from "./engine/database";
import { acquireMigrationLock } from "./engine/lock";
import { type MigrationList, readMigrationsList } from "./engine/migrations-dir";
import { withSchemaEngine } from "./engine/session";
import { resolveDatabaseUrl } from "./env";
import { DatabaseConfigError } from "./errors";
import {
  convertPersonIdSetsToOrdinals,
  convertQueryInclusionRows,
  hasPersonIdInclusionSets,
  hasQueryInclusionTable,
  INCLUSION_SETS_OVER_ORDINALS,
  QUERY_INCLUSION_ROWS_DROPPED,
} from "./inclusions-conversion";
import { LAYOUTS } from "./layout";
import { type DatabaseTarget, type Provider, redactUrl } from "./url";

export type MigrateOptions = {
  /** Receives the schema engine's log lines (JSON). */
  log?: (line: string) => void;
};

export type MigrateResult = {
  provider: Provider;
  /** Migrations applied by this call; empty when the database was up to date. */
  applied: string[];
};

/** Migrations of one database, one at a time within this process too. */
const inProcess = new Map<string, Promise<unknown>>();

/**
 * Brings the database at `databaseUrl` up to date with the committed migrations of its
 * provider (prisma/migrations for SQLite, prisma/postgres/migrations for PostgreSQL),
 * offline, through Prisma's WebAssembly schema engine. It is what `prisma migrate deploy`
 * does, with the same `_prisma_migrations` bookkeeping, so the two can be mixed freely.
 *
 * Where data must be converted in JavaScript between two migrations (CONVERSIONS: stored
 * inclusions, src/inclusions-conversion.ts), it applies the migrations before that point,
 * converts, then goes on; `prisma migrate deploy` alone stops at that migration instead of
 * losing or misreading the data.
 *
 * Creates a missing database (SQLite: its directory and file). Idempotent: a second call
 * applies nothing. Concurrent calls, from this or other processes, wait for each other.
 * An unusable URL or unreachable server throws a DatabaseConfigError (one sentence naming
 * DATABASE_URL); a failing migration throws the engine's error (code P3xxx).
 */
export async function migrate(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const { target } = resolveDatabaseUrl(databaseUrl);
  const key = target.provider === "sqlite" ? target.file : target.url;
  const previous = inProcess.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => migrateTarget(target, options));
  inProcess.set(key, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(key) === run) inProcess.delete(key);
  }
}

async function migrateTarget(
  target: DatabaseTarget,
  options: MigrateOptions,
): Promise<MigrateResult> {
  await ensureDatabase(target);
  const release = await acquireMigrationLock(target);
  try {
    const layout = LAYOUTS[target.provider];
    const migrationsList = await readMigrationsList(layout.migrationsDir);
    const apply = async (list: MigrationList) =>
      (
        await withSchemaEngine(
          target,
          (engine) =>
            engine.applyMigrations({
              migrationsList: list,
              filters: { externalTables: [], externalEnums: [] },
            }),
          { log: options.log },
        )
      ).appliedMigrationNames;
    const applied: string[] = [];
    // Data that SQL cannot convert: migrate up to the migration that needs it converted,
    // convert, go on. A fresh database has nothing to convert, so it takes the straight path.
    for (const conversion of CONVERSIONS) {
      const at = migrationsList.migrationDirectories.findIndex(
        (migration) => migration.path === conversion.before,
      );
      if (at === -1 || !(await conversion.due(target))) continue;
      applied.push(
        ...(await apply({
          ...migrationsList,
          migrationDirectories: migrationsList.migrationDirectories.slice(0, at),
        })),
      );
      await conversion.convert(target);
    }
    applied.push(...(await apply(migrationsList)));
    if (target.provider === "sqlite") useWriteAheadLog(target.file);
    return { provider: target.provider, applied };
  } finally {
    await release();
  }
}

/** In migration order; each one's `due` is asked after the conversions before it ran. */
const CONVERSIONS: readonly {
  before: string;
  due: (target: DatabaseTarget) => Promise<boolean>;
  convert: (target: DatabaseTarget) => Promise<unknown>;
}[] = [
  {
    before: QUERY_INCLUSION_ROWS_DROPPED,
    due: hasQueryInclusionTable,
    convert: convertQueryInclusionRows,
  },
  {
    before: INCLUSION_SETS_OVER_ORDINALS,
    due: hasPersonIdInclusionSets,
    convert: convertPersonIdSetsToOrdinals,
  },
];

async function ensureDatabase(target: DatabaseTarget): Promise<void> {
  let problem: ConnectProblem | undefined;
  try {
    problem = await probeDatabase(target);
    if (problem?.code === "P1003") {
      await createDatabase(target);
      problem = await probeDatabase(target);
    }
  } catch (error) {
    problem = { code: "P1001", message: (error as Error).message };
  }
  if (problem !== undefined) throw new DatabaseConfigError(unreachable(target, problem));
}

function unreachable(target: DatabaseTarget, problem: ConnectProblem): string {
  const where = target.provider === "sqlite" ? target.file : redactUrl(target.url);
  return `The database named by DATABASE_URL (${where}) cannot be opened: ${problem.message.replace(/\.$/, "")}.`;
}

/**
 * WAL lets the API read while the operator writes (separate processes). The journal mode
 * is stored in the database file, so setting it once here covers every later connection.
 */
function useWriteAheadLog(file: string): void {
  const db = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    db.pragma("journal_mode = WAL");
  } finally {
    db.close();
  }
}
