import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import Database from "better-sqlite3";
import { rememberDialect } from "./bulk";
import { probeDatabase } from "./engine/database";
import { resolveDatabaseUrl } from "./env";
import { DatabaseConfigError } from "./errors";
import { PrismaClient as PostgresPrismaClient } from "./generated/postgres/client";
import { PrismaClient } from "./generated/sqlite/client";
import { pgConfigFromUrl } from "./pg-config";
import { withTransactionGate } from "./sqlite-gate";
import { redactUrl } from "./url";

/**
 * The application's Prisma client. Both providers' clients are generated from the same
 * models (prisma/schema.prisma and its generated postgres twin) and expose the same API;
 * the type is the SQLite one, so code written against `Db` runs on either.
 */
export type Db = PrismaClient;

/**
 * How long a SQLite write waits for another process's write (operator vs API). As long as a
 * statement may wait for a transaction of its own process (up to 60 s, see sqlite-gate.ts):
 * 10 s made the API's indexer catch-up fail (P1008) while the operator's indexer or epoch
 * close held the lock on a loaded machine.
 */
const SQLITE_BUSY_TIMEOUT_MS = 60_000;

/**
 * A Prisma client for `databaseUrl`, with the driver adapter its scheme calls for
 * (better-sqlite3 for `file:`/`sqlite:`, node-postgres for `postgres(ql)://`). No I/O
 * happens here except creating a SQLite file's missing directory; a server that cannot be
 * reached fails at the first query (use `openDb` to fail early with a clear sentence).
 */
export function createDb(databaseUrl: string): Db {
  const { target } = resolveDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite") {
    mkdirSync(dirname(target.file), { recursive: true });
    const db = new PrismaClient({
      // One connection: statements outside a transaction must not run inside an open one.
      adapter: withTransactionGate(
        new PrismaBetterSqlite3({ url: `file:${target.file}`, timeout: SQLITE_BUSY_TIMEOUT_MS }),
      ),
    });
    rememberDialect(db, { provider: "sqlite" });
    return db;
  }
  const adapter = new PrismaPg(
    pgConfigFromUrl(target.url),
    target.schema === undefined ? undefined : { schema: target.schema },
  );
  // Same models, same API (see Db); only the generated provider differs.
  const db = new PostgresPrismaClient({ adapter }) as unknown as Db;
  rememberDialect(
    db,
    target.schema === undefined
      ? { provider: "postgresql" }
      : { provider: "postgresql", schema: target.schema },
  );
  return db;
}

/**
 * `createDb`, after checking that the database can be opened. For entry points: an
 * unreachable server, a missing PostgreSQL database or an unopenable SQLite path becomes a
 * DatabaseConfigError whose message is one sentence naming DATABASE_URL (password masked),
 * meant to be printed without a stack. Run `migrate()` first: this does not create schemas.
 */
export async function openDb(databaseUrl: string): Promise<Db> {
  const { target } = resolveDatabaseUrl(databaseUrl);
  const where = target.provider === "sqlite" ? target.file : redactUrl(target.url);
  const fail = (reason: string) =>
    new DatabaseConfigError(
      `The database named by DATABASE_URL (${where}) cannot be opened: ${reason.replace(/\.$/, "")}.`,
    );
  let db: Db;
  try {
    db = createDb(databaseUrl);
    // SQLite: opening creates the file if needed and proves the path is usable.
    if (target.provider === "sqlite")
      new Database(target.file, { timeout: SQLITE_BUSY_TIMEOUT_MS }).close();
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error));
  }
  // PostgreSQL: the same probe the migrator uses, for the same wording.
  const problem = target.provider === "postgresql" ? await probeDatabase(target) : undefined;
  if (problem !== undefined) {
    await db.$disconnect().catch(() => {});
    throw fail(problem.message);
  }
  return db;
}
