import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { providerCases, tempSqliteUrl } from "../test/helpers";
import { resolveDatabaseUrl } from "./env";
import { DatabaseConfigError } from "./errors";
import { LAYOUTS } from "./layout";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";

const committed = (provider: "sqlite" | "postgresql") =>
  readdirSync(LAYOUTS[provider].migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

type Applied = { migration_name: string; finished: boolean; rolled_back: boolean };

/** Prisma's own bookkeeping, read straight from the database. */
async function appliedMigrations(url: string): Promise<Applied[]> {
  const sql =
    'SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM "_prisma_migrations" ORDER BY migration_name';
  const { target } = resolveDatabaseUrl(url);
  if (target.provider === "sqlite") {
    const db = new Database(target.file, { readonly: true });
    try {
      return (
        db.prepare(sql).all() as { migration_name: string; finished: number; rolled_back: number }[]
      ).map((row) => ({
        migration_name: row.migration_name,
        finished: row.finished === 1,
        rolled_back: row.rolled_back === 1,
      }));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client(pgConfigFromUrl(target.url));
  await client.connect();
  try {
    return (await client.query<Applied>(sql)).rows;
  } finally {
    await client.end();
  }
}

const dropAfter: string[] = [];
afterAll(async () => {
  const server = inject("postgresUrl");
  if (server === "" || dropAfter.length === 0) return;
  const client = new pg.Client(pgConfigFromUrl(server));
  await client.connect();
  for (const url of dropAfter) {
    await client.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  }
  await client.end();
});

describe.each(providerCases())("migrate() on $name", ({ name, url: newUrl, skip }) => {
  it.skipIf(skip)(
    "creates the database and applies every committed migration, then nothing",
    async () => {
      const url = newUrl();
      if (name === "postgresql") dropAfter.push(url);
      const first = await migrate(url);
      expect(first).toEqual({ provider: name, applied: committed(name) });
      const rows = await appliedMigrations(url);
      expect(rows.map((row) => row.migration_name)).toEqual(committed(name));
      expect(rows.every((row) => row.finished && !row.rolled_back)).toBe(true);

      expect(await migrate(url)).toEqual({ provider: name, applied: [] });
      expect(await appliedMigrations(url)).toEqual(rows);
    },
  );

  it.skipIf(skip)(
    "lets concurrent callers race: one applies, the others find nothing to do",
    async () => {
      const url = newUrl();
      if (name === "postgresql") dropAfter.push(url);
      const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
      expect(results.flatMap((result) => result.applied).sort()).toEqual(committed(name));
      expect((await appliedMigrations(url)).map((row) => row.migration_name)).toEqual(
        committed(name),
      );
    },
  );
});

describe("migrate() across processes (SQLite)", () => {
  it("serialises separate processes migrating the same new file", async () => {
    const url = tempSqliteUrl();
    const script = join(mkdtempSync(join(tmpdir(), "opencohort-migrator-")), "migrate.mts");
    const migrateModule = fileURLToPath(new URL("./migrate.ts", import.meta.url));
    writeFileSync(
      script,
      `import { migrate } from ${JSON.stringify(migrateModule)};\nconst r = await migrate(${JSON.stringify(url)});\nconsole.log(JSON.stringify(r.applied));\n`,
    );
    const tsx = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
    const runOne = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(tsx, [script], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
        });
        child.stderr.on("data", (chunk) => {
          err += chunk;
        });
        child.on("exit", (code) =>
          code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(err)),
        );
      });
    const results = await Promise.all([runOne(), runOne(), runOne()]);
    expect(results.flat().sort()).toEqual(committed("sqlite"));
    expect((await appliedMigrations(url)).map((row) => row.migration_name)).toEqual(
      committed("sqlite"),
    );
  });
});

describe("migrate() errors", () => {
  const expectOneSentence = (error: unknown) => {
    expect(error).toBeInstanceOf(DatabaseConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^[^\n]*DATABASE_URL[^\n]*\.$/);
    return message;
  };

  it("names DATABASE_URL, masks the password and shows no stack for an unreachable server", async () => {
    const error = await migrate("postgresql://app:hunter2@127.0.0.1:1/opencohort").catch(
      (e: unknown) => e,
    );
    const message = expectOneSentence(error);
    expect(message).toContain("127.0.0.1:1");
    expect(message).not.toContain("hunter2");
  });

  it("names DATABASE_URL for an unknown scheme and for a path that cannot be created", async () => {
    expectOneSentence(await migrate("mongodb://localhost/x").catch((e: unknown) => e));
    const aFile = join(mkdtempSync(join(tmpdir(), "opencohort-db-")), "not-a-dir");
    writeFileSync(aFile, "");
    expectOneSentence(await migrate(`file:${aFile}/sub/x.db`).catch((e: unknown) => e));
  });
});
