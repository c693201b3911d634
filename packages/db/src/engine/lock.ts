import Database from "better-sqlite3";
import pg from "pg";
import { pgConfigFromUrl } from "../pg-config";
import type { DatabaseTarget } from "../url";

/** Longest a migrator waits for another one (a slow first migration on a busy machine). */
const LOCK_TIMEOUT_MS = 120_000;

/**
 * An arbitrary, fixed key for pg_advisory_lock. Not Prisma's own key (72707369): the
 * engine may take that one on its own connection while we hold ours.
 */
const PG_LOCK_KEY = 4_242_031_337;

/**
 * Serialises migrators across processes. The engine's own locking is not enough on
 * SQLite: two engines can both read "not applied" before either writes, and one then
 * fails on SQLITE_BUSY. The lock is held by an open connection, so it dies with its
 * process: a crashed migrator never leaves a stale lock behind.
 *   SQLite: an exclusive transaction on a sibling file `<db>.migrate-lock`.
 *   PostgreSQL: a session-level advisory lock.
 */
export async function acquireMigrationLock(target: DatabaseTarget): Promise<() => Promise<void>> {
  if (target.provider === "sqlite") {
    const lock = new Database(`${target.file}.migrate-lock`, { timeout: LOCK_TIMEOUT_MS });
    lock.exec("BEGIN EXCLUSIVE");
    return async () => {
      lock.exec("ROLLBACK");
      lock.close();
    };
  }
  const client = new pg.Client(pgConfigFromUrl(target.url));
  client.on("error", () => {});
  await client.connect();
  await client.query(`SET statement_timeout = ${LOCK_TIMEOUT_MS}`);
  await client.query("SELECT pg_advisory_lock($1)", [PG_LOCK_KEY]);
  return async () => {
    await client.query("SELECT pg_advisory_unlock($1)", [PG_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  };
}
