import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { tempPostgresUrl, tempSqliteUrl } from "../test/helpers";
import { LAYOUTS } from "./layout";
import { pgConfigFromUrl } from "./pg-config";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const bridge = fileURLToPath(new URL("../bin/schema-engine.mjs", import.meta.url));
const prismaWrapper = fileURLToPath(new URL("../scripts/prisma.mjs", import.meta.url));

type Run = { code: number | null; stdout: string; stderr: string };

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: packageRoot,
      env: { ...process.env, ...env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** The Prisma CLI, through the package's wrapper (offline engine), against `url`. */
const prisma = (url: string, ...args: string[]) =>
  run(process.execPath, [prismaWrapper, ...args], { DATABASE_URL: url });

describe("schema engine bridge (bin/schema-engine.mjs)", () => {
  it("reports the wasm engine's version like the native binary", async () => {
    const { code, stdout } = await run(process.execPath, [bridge, "--version"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^schema-engine-cli [0-9a-f]{40}\n$/);
  });

  it("answers JSON-RPC on stdin/stdout, including on a database without _prisma_migrations", async () => {
    const url = tempSqliteUrl();
    const create = await run(process.execPath, [
      bridge,
      "--datasource",
      JSON.stringify({ url }),
      "cli",
      "create-database",
    ]);
    expect(create.code).toBe(0);
    const migrationsList = {
      baseDir: LAYOUTS.sqlite.migrationsDir,
      lockfile: { path: "migration_lock.toml", content: 'provider = "sqlite"\n' },
      shadowDbInitScript: "",
      migrationDirectories: [],
    };
    const requests = [
      { id: 1, jsonrpc: "2.0", method: "getDatabaseVersion", params: {} },
      {
        id: 2,
        jsonrpc: "2.0",
        method: "diagnoseMigrationHistory",
        params: {
          migrationsList,
          optInToShadowDatabase: false,
          filters: { externalTables: [], externalEnums: [] },
        },
      },
      { id: 3, jsonrpc: "2.0", method: "noSuchMethod", params: {} },
    ];
    const { code, stdout } = await run(
      process.execPath,
      [bridge, "--datamodels", LAYOUTS.sqlite.schemaPath, "--datasource", JSON.stringify({ url })],
      {},
      `${requests.map((r) => JSON.stringify(r)).join("\n")}\n`,
    );
    expect(code).toBe(0);
    const answers = stdout
      .trim()
      .split("\n")
      .map(
        (line) => JSON.parse(line) as { id: number; result?: unknown; error?: { code: number } },
      );
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(answers[0]?.result).toMatch(/^3\./); // SQLite's version
    expect(answers[1]?.result).toMatchObject({
      failedMigrationNames: [],
      editedMigrationNames: [],
    });
    expect(answers[2]?.error?.code).toBe(-32601);
  });
});

describe("the standard Prisma CLI, offline, through scripts/prisma.mjs", () => {
  it("migrate deploy / status / diff / reset on SQLite", async () => {
    const url = tempSqliteUrl();
    const deploy = await prisma(url, "migrate", "deploy");
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain("All migrations have been successfully applied.");
    const status = await prisma(url, "migrate", "status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("Database schema is up to date!");
    const diff = await prisma(
      url,
      ...["migrate", "diff", "--from-config-datasource", "--to-schema", LAYOUTS.sqlite.schemaPath],
      ...["--script", "--exit-code"],
    );
    expect(diff.code, diff.stderr + diff.stdout).toBe(0); // 0: empty diff, 2: differences
    // The engine's `print` request reached the terminal.
    expect(diff.stdout).toContain("-- This is an empty migration.");
    const reset = await prisma(url, "migrate", "reset", "--force");
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain("Database reset successful");
  });

  it("stops with one sentence naming DATABASE_URL when it is unusable", async () => {
    const { code, stderr } = await prisma("mysql://root:pw@localhost/x", "migrate", "deploy");
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^DATABASE_URL [^\n]*\.$/);
  });

  describe.skipIf(inject("postgresUrl") === "")("on PostgreSQL", () => {
    const created: string[] = [];
    afterAll(async () => {
      const admin = new pg.Client(pgConfigFromUrl(inject("postgresUrl")));
      await admin.connect();
      for (const url of created)
        await admin.query(
          `DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`,
        );
      await admin.end();
    });

    it("migrate deploy creates the database and applies prisma/postgres/migrations; db push finds it in sync", async () => {
      const url = tempPostgresUrl();
      created.push(url);
      const deploy = await prisma(url, "migrate", "deploy");
      expect(deploy.code, deploy.stderr).toBe(0);
      expect(deploy.stdout).toContain("PostgreSQL database");
      expect(deploy.stdout).toContain("All migrations have been successfully applied.");
      const push = await prisma(url, "db", "push");
      expect(push.code, push.stderr).toBe(0);
      expect(push.stdout).toContain("already in sync");
    });
  });
});
