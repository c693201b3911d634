import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { expectedPostgresSchema, migrationsDrift } from "./authoring";
import { LOCKFILE_NAME } from "./engine/migrations-dir";
import { LAYOUTS } from "./layout";
import { parseDatabaseUrl } from "./url";

const folders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

describe("committed migrations match the schema", () => {
  it("SQLite: replaying prisma/migrations yields prisma/schema.prisma (diff is empty)", async () => {
    expect(await migrationsDrift("sqlite")).toBe("");
  });

  it("prisma/postgres/schema.prisma is the generated twin of prisma/schema.prisma", async () => {
    // If this fails: pnpm --filter @opencohort/db schema:sync (and migration:new).
    expect(readFileSync(LAYOUTS.postgresql.schemaPath, "utf8")).toBe(
      await expectedPostgresSchema(),
    );
  });

  it("both providers have the same migrations, with their own lockfile", () => {
    expect(folders(LAYOUTS.postgresql.migrationsDir)).toEqual(
      folders(LAYOUTS.sqlite.migrationsDir),
    );
    expect(readFileSync(join(LAYOUTS.sqlite.migrationsDir, LOCKFILE_NAME), "utf8")).toContain(
      'provider = "sqlite"',
    );
    expect(readFileSync(join(LAYOUTS.postgresql.migrationsDir, LOCKFILE_NAME), "utf8")).toContain(
      'provider = "postgresql"',
    );
  });

  it.skipIf(inject("postgresUrl") === "")(
    "PostgreSQL: replaying prisma/postgres/migrations on a real server yields the schema",
    async () => {
      expect(await migrationsDrift("postgresql", parseDatabaseUrl(inject("postgresUrl")))).toBe("");
    },
  );
});
