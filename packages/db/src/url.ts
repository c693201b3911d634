import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseConfigError } from "./errors";

export type Provider = "sqlite" | "postgresql";

/** A database URL, parsed once into what the adapters and the migrator need. */
export type DatabaseTarget =
  | { provider: "sqlite" /** absolute path of the database file */; file: string }
  | {
      provider: "postgresql";
      url: string /** `?schema=` if given, else Prisma's default */;
      schema?: string;
    };

const SQLITE_PREFIXES = ["file:", "sqlite:"] as const;

/**
 * Parses a DATABASE_URL. SQLite takes `file:` (Prisma's own spelling) or `sqlite:`; a
 * relative path is resolved against `baseDir`, so the same URL means the same file no
 * matter which process (CLI bridge, dev stack, tests) opens it.
 */
export function parseDatabaseUrl(url: string, baseDir: string = process.cwd()): DatabaseTarget {
  const trimmed = url.trim();
  const lower = trimmed.toLowerCase();
  if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new DatabaseConfigError(
        "DATABASE_URL looks like a PostgreSQL URL but cannot be parsed; expected postgresql://user:password@host:port/database.",
      );
    }
    const schema = parsed.searchParams.get("schema") ?? undefined;
    return schema === undefined
      ? { provider: "postgresql", url: trimmed }
      : { provider: "postgresql", url: trimmed, schema };
  }
  const prefix = SQLITE_PREFIXES.find((p) => lower.startsWith(p));
  if (prefix !== undefined) {
    return { provider: "sqlite", file: sqliteFile(trimmed.slice(prefix.length), trimmed, baseDir) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
  throw new DatabaseConfigError(
    `DATABASE_URL must be a SQLite URL (file:./path.db) or a PostgreSQL URL (postgresql://...), got ${
      scheme === undefined
        ? trimmed === ""
          ? "an empty value"
          : "a value without a scheme"
        : `scheme "${scheme}:"`
    }.`,
  );
}

function sqliteFile(rest: string, whole: string, baseDir: string): string {
  // Query parameters (Prisma 5's `?connection_limit=` and friends) mean nothing to
  // better-sqlite3; dropping them keeps old URLs working.
  const path = rest.split("?")[0] ?? "";
  if (path === "" || path === ":memory:") {
    throw new DatabaseConfigError(
      "DATABASE_URL must name a SQLite database file (file:./path.db), an in-memory database cannot be shared between the migrator and the app.",
    );
  }
  if (path.startsWith("//")) {
    // file:///abs/path.db is a real file URL.
    try {
      return fileURLToPath(`file:${path}`);
    } catch {
      throw new DatabaseConfigError(`DATABASE_URL is not a valid file URL: ${whole}.`);
    }
  }
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** The canonical `file:` URL of a SQLite target, for tools that want a URL again. */
export function sqliteUrl(file: string): string {
  return `file:${file}`;
}

/** A PostgreSQL URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
  }
}
