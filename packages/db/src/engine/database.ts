import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { pgConfigFromUrl } from "../pg-config";
import type { DatabaseTarget } from "../url";

/** A Prisma error code (P1xxx) and a message in the words the native engine uses. */
export type ConnectProblem = { code: string; message: string };

/**
 * Checks that the database exists and accepts connections, without creating anything.
 * Mirrors the native engine's `cli can-connect-to-database`: a missing database is P1003,
 * which the Prisma CLI (and `migrate()`) answer by creating it.
 */
export async function probeDatabase(target: DatabaseTarget): Promise<ConnectProblem | undefined> {
  if (target.provider === "sqlite") {
    return existsSync(target.file)
      ? undefined
      : { code: "P1003", message: `Database \`${target.file}\` does not exist` };
  }
  const client = new pg.Client(pgConfigFromUrl(target.url));
  // A refused connection also emits 'error' on the client; without a listener it would crash.
  client.on("error", () => {});
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return pgProblem(error, target.url);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the database (SQLite: its directory and file; PostgreSQL: CREATE DATABASE). */
export async function createDatabase(target: DatabaseTarget): Promise<string> {
  if (target.provider === "sqlite") {
    mkdirSync(dirname(target.file), { recursive: true });
    new Database(target.file).close();
    return target.file;
  }
  const url = new URL(target.url);
  const name = decodeURIComponent(url.pathname.slice(1)) || "postgres";
  // CREATE DATABASE cannot run inside the database it creates: use the maintenance one.
  url.pathname = "/postgres";
  const client = new pg.Client(pgConfigFromUrl(url.toString()));
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } catch (error) {
    // Two migrators racing to create the same database: the loser's work is done.
    if ((error as { code?: string }).code !== "42P04") throw error;
  } finally {
    await client.end().catch(() => {});
  }
  return name;
}

function pgProblem(error: unknown, url: string): ConnectProblem {
  const { code, message } = error as { code?: string; message?: string };
  let host = "the database server";
  let database = "";
  try {
    const parsed = new URL(url);
    host = `${parsed.hostname}:${parsed.port || "5432"}`;
    database = decodeURIComponent(parsed.pathname.slice(1)) || "postgres";
  } catch {}
  switch (code) {
    case "3D000":
      return {
        code: "P1003",
        message: `Database \`${database}\` does not exist on the database server at \`${host}\``,
      };
    case "28P01":
    case "28000":
      return {
        code: "P1000",
        message: `Authentication failed against database server at \`${host}\``,
      };
    default:
      return {
        code: "P1001",
        message: `Can't reach database server at \`${host}\` (${code ?? message ?? "connection failed"})`,
      };
  }
}
