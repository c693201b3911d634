import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempSqliteUrl } from "../test/helpers";
import { createDb, openDb } from "./client";
import { DatabaseConfigError } from "./errors";
import { migrate } from "./migrate";

describe("createDb / openDb", () => {
  it("creates a SQLite file's missing directory and talks to the migrated database", async () => {
    const url = tempSqliteUrl();
    const file = url.slice("file:".length);
    expect(existsSync(dirname(file))).toBe(false);
    const db = createDb(url);
    expect(existsSync(dirname(file))).toBe(true);
    await db.$disconnect();

    await migrate(url);
    const opened = await openDb(url);
    try {
      await opened.account.create({
        data: { address: "0x00000000000000000000000000000000000000aa" },
      });
      expect(await opened.account.count()).toBe(1);
    } finally {
      await opened.$disconnect();
    }
  });

  it("turns an unreachable PostgreSQL into one sentence naming DATABASE_URL, password masked", async () => {
    const error = await openDb("postgresql://app:hunter2@127.0.0.1:1/opencohort").catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^The database named by DATABASE_URL \(postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/opencohort\) cannot be opened: [^\n]+\.$/,
    );
    expect(message).not.toContain("hunter2");
  });

  it("turns an unusable SQLite path or scheme into one sentence naming DATABASE_URL", async () => {
    const aFile = join(mkdtempSync(join(tmpdir(), "opencohort-db-")), "plain-file");
    writeFileSync(aFile, "");
    for (const url of [`file:${aFile}/sub/x.db`, "redis://localhost"]) {
      const error = await openDb(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConfigError);
      expect((error as Error).message).toMatch(/^[^\n]*DATABASE_URL[^\n]*\.$/);
    }
  });
});
