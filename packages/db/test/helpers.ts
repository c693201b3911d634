import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";

/** A SQLite URL in a fresh temp dir, inside a sub-folder that does not exist yet. */
export function tempSqliteUrl(): string {
  return `file:${join(mkdtempSync(join(tmpdir(), "opencohort-db-")), "state", "test.db")}`;
}

/** A URL naming a database that does not exist yet on the test server. */
export function tempPostgresUrl(): string {
  const server = new URL(inject("postgresUrl"));
  server.pathname = `/oc_test_${randomBytes(6).toString("hex")}`;
  return server.toString();
}

export type ProviderCase = { name: "sqlite" | "postgresql"; url: () => string; skip: boolean };

/** The providers to run a suite against; PostgreSQL only when a server is available. */
export function providerCases(): ProviderCase[] {
  return [
    { name: "sqlite", url: tempSqliteUrl, skip: false },
    { name: "postgresql", url: tempPostgresUrl, skip: inject("postgresUrl") === "" },
  ];
}
