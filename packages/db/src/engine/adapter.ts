import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
} from "@prisma/driver-adapter-utils";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { DatabaseTarget } from "../url";
import { offlinePostgresFactory } from "./offline-postgres";
import { withOverrides } from "./overrides";
import { postgresMigrationFactory } from "./postgres-adapter";

/**
 * A PostgreSQL target with no server, for diffs between two datamodels (see
 * offline-postgres.ts). Compared by identity.
 */
export const OFFLINE_POSTGRES: DatabaseTarget = Object.freeze({
  provider: "postgresql",
  url: "postgresql://offline.invalid/none",
});

/**
 * How long a SQLite connection waits for another writer before giving up. The schema
 * engine takes an exclusive lock while applying migrations; a second migrator (another
 * test worker, the dev stack starting twice) waits for it instead of failing at once.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 30_000;

export type MigrationAdapter = {
  /** What `SchemaEngine.new` takes. */
  factory: ReturnType<typeof bindMigrationAwareSqlAdapterFactory>;
  /** The message with driver errors the engine only refers to by id spelled out. */
  explain(message: string): string;
  /**
   * Closes every connection the engine opened. `SchemaEngine.free()` does not: a pg pool
   * left open keeps the process alive and a SQLite connection keeps its exclusive lock.
   */
  close(): Promise<void>;
};

/**
 * The driver adapter the WebAssembly schema engine talks through. It must be
 * migration-aware (it can open a shadow database: `:memory:` for SQLite, a throwaway
 * database on the same server for PostgreSQL) and bound, which gives the engine the error
 * registry it reads driver errors from.
 */
export function migrationAdapter(target: DatabaseTarget): MigrationAdapter {
  const raw = rawAdapter(target);
  const opened: SqlDriverAdapter[] = [];
  const track = (open: () => Promise<SqlDriverAdapter>) => async () => {
    const connection = await open();
    const adapter =
      target.provider === "sqlite" ? acceptScriptsInExecuteRaw(connection) : connection;
    opened.push(adapter);
    return adapter;
  };
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: raw.provider,
    adapterName: raw.adapterName,
    connect: track(() => raw.connect()),
    connectToShadowDb: track(() => raw.connectToShadowDb()),
  };
  // The binder copies the factory's own symbols (adapter markers); keep them.
  for (const symbol of Object.getOwnPropertySymbols(raw)) {
    Object.assign(tracked, { [symbol]: (raw as unknown as Record<symbol, unknown>)[symbol] });
  }
  const factory = bindMigrationAwareSqlAdapterFactory(tracked);
  return {
    factory,
    explain(message: string): string {
      // "External error id#3" names a JS error the binder kept; show what it was.
      return message.replace(/External error id#(\d+)/g, (whole, id: string) => {
        const kept = factory.errorRegistry.consumeError(Number(id))?.error;
        return kept instanceof Error ? `${whole}: ${kept.message}` : whole;
      });
    },
    async close() {
      for (const adapter of opened.splice(0)) await adapter.dispose().catch(() => {});
    },
  };
}

/**
 * The wasm engine replays migrations on the shadow database with `executeRaw(whole
 * migration.sql)` (the D1 and libSQL drivers accept several statements there), but
 * better-sqlite3 prepares exactly one statement, so `migrate dev` and drift checks failed
 * with "more than one statement" on any real migration. A parameterless multi-statement
 * executeRaw is run as a script instead; everything else passes through untouched.
 */
function acceptScriptsInExecuteRaw(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const executeRaw = async (query: SqlQuery): Promise<number> => {
    try {
      return await adapter.executeRaw(query);
    } catch (error) {
      const multiStatement =
        error instanceof RangeError && /more than one statement/.test(error.message);
      if (!multiStatement || query.args.length > 0) throw error;
      await adapter.executeScript(query.sql);
      return 0;
    }
  };
  return withOverrides(adapter, { executeRaw });
}

function rawAdapter(target: DatabaseTarget): SqlMigrationAwareDriverAdapterFactory {
  if (target === OFFLINE_POSTGRES) return offlinePostgresFactory();
  if (target.provider === "sqlite") {
    // better-sqlite3 cannot create a file in a missing directory (the dev stack's
    // .devstack/ before its first run); the app's own client creates it too.
    if (target.file !== ":memory:") mkdirSync(dirname(target.file), { recursive: true });
    return new PrismaBetterSqlite3({ url: `file:${target.file}`, timeout: SQLITE_BUSY_TIMEOUT_MS });
  }
  return postgresMigrationFactory(target.url, target.schema);
}
