import Database from "better-sqlite3";
import { SQLITE_BUSY_TIMEOUT_MS } from "./adapter";

/**
 * Drops every table and view of a SQLite database: what `prisma migrate reset` means.
 * The wasm engine's SQLite reset only deletes rows (it was written for Cloudflare D1, whose
 * tables cannot be dropped that way), after which re-applying the migrations fails with
 * "table already exists". Indexes and triggers go with their tables.
 */
export function resetSqliteDatabase(file: string): void {
  const db = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    const objects = db
      .prepare(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'",
      )
      .all() as { type: "table" | "view"; name: string }[];
    db.pragma("foreign_keys = OFF");
    db.transaction(() => {
      for (const { type, name } of objects) {
        db.exec(
          `DROP ${type === "view" ? "VIEW" : "TABLE"} IF EXISTS "${name.replaceAll('"', '""')}"`,
        );
      }
    })();
    db.exec("VACUUM");
  } finally {
    db.close();
  }
}
