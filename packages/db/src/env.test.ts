import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_DATABASE_URL, loadDbEnv, REPO_ROOT } from "./env";
import { DatabaseConfigError } from "./errors";
import { parseDatabaseUrl, redactUrl } from "./url";

/** One sentence: no line break, ends with a full stop, names DATABASE_URL. */
function expectOneSentence(error: unknown): void {
  expect(error).toBeInstanceOf(DatabaseConfigError);
  const message = (error as Error).message;
  expect(message).toContain("DATABASE_URL");
  expect(message).not.toContain("\n");
  expect(message).toMatch(/\.$/);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("loadDbEnv", () => {
  it("defaults to SQLite in the repository's .devstack folder", () => {
    expect(DEFAULT_DATABASE_URL).toBe(`file:${join(REPO_ROOT, ".devstack", "opencohort.db")}`);
    for (const source of [{}, { DATABASE_URL: "" }, { DATABASE_URL: "   " }]) {
      const env = loadDbEnv(source);
      expect(env.databaseUrl).toBe(DEFAULT_DATABASE_URL);
      expect(env.target).toEqual({
        provider: "sqlite",
        file: join(REPO_ROOT, ".devstack", "opencohort.db"),
      });
    }
  });

  it("resolves relative SQLite paths against the repository root, not the cwd", () => {
    expect(loadDbEnv({ DATABASE_URL: "file:./tmp/x.db" }).databaseUrl).toBe(
      `file:${join(REPO_ROOT, "tmp/x.db")}`,
    );
    expect(loadDbEnv({ DATABASE_URL: "sqlite:tmp/x.db" }).databaseUrl).toBe(
      `file:${join(REPO_ROOT, "tmp/x.db")}`,
    );
  });

  it("accepts PostgreSQL URLs as given", () => {
    const url = "postgresql://app:s3cret@db.internal:5433/opencohort?schema=app";
    expect(loadDbEnv({ DATABASE_URL: url })).toEqual({
      databaseUrl: url,
      target: { provider: "postgresql", url, schema: "app" },
    });
    expect(loadDbEnv({ DATABASE_URL: "postgres://localhost/x" }).target.provider).toBe(
      "postgresql",
    );
  });

  it("rejects an unknown scheme with one sentence naming DATABASE_URL", () => {
    const error = thrown(() => loadDbEnv({ DATABASE_URL: "mysql://root:pw@localhost/x" }));
    expectOneSentence(error);
    expect((error as Error).message).toContain('"mysql:"');
    expect((error as Error).message).not.toContain("pw");
    expectOneSentence(thrown(() => loadDbEnv({ DATABASE_URL: "just-a-word" })));
    expectOneSentence(thrown(() => loadDbEnv({ DATABASE_URL: "file:" })));
    expectOneSentence(thrown(() => loadDbEnv({ DATABASE_URL: "postgresql://[bad" })));
  });
});

describe("parseDatabaseUrl", () => {
  it("understands file URLs and drops Prisma 5 query parameters", () => {
    expect(parseDatabaseUrl("file:///var/lib/oc.db", "/base")).toEqual({
      provider: "sqlite",
      file: "/var/lib/oc.db",
    });
    expect(parseDatabaseUrl("file:/abs/oc.db?connection_limit=1", "/base")).toEqual({
      provider: "sqlite",
      file: "/abs/oc.db",
    });
    expect(parseDatabaseUrl("file:rel/oc.db", "/base")).toEqual({
      provider: "sqlite",
      file: "/base/rel/oc.db",
    });
  });

  it("masks passwords for messages", () => {
    expect(redactUrl("postgresql://u:p%40ss@h:1/d")).toBe("postgresql://u:***@h:1/d");
    expect(redactUrl("postgresql://h/d")).toBe("postgresql://h/d");
  });
});
