import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@opencohort/chain/anvil";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const stateDir = mkdtempSync(join(tmpdir(), "oc-devstack-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** Runs the real dev stack entry point and returns what a person would see. */
function runDevstack(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, OPENCOHORT_STATE_DIR: stateDir, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  const errorLines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  return { status: result.status, errorLines, stdout: result.stdout };
}

describe("the dev stack refuses bad configuration with one sentence", () => {
  let blocker: Server;
  let busyPort: number;
  beforeAll(async () => {
    busyPort = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(busyPort, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it("names the web port that is in use", () => {
    const { status, errorLines } = runDevstack({ OPENCOHORT_WEB_PORT: String(busyPort) });
    expect(status).toBe(1);
    expect(errorLines).toEqual([
      `Port ${busyPort} (OPENCOHORT_WEB_PORT) is already in use: stop whatever is listening there or set OPENCOHORT_WEB_PORT to a free port.`,
    ]);
  });

  it("names the anvil port that is in use", async () => {
    const { status, errorLines } = runDevstack({
      OPENCOHORT_WEB_PORT: String(await freePort()),
      OPENCOHORT_ANVIL_PORT: String(busyPort),
    });
    expect(status).toBe(1);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^Port \d+ \(OPENCOHORT_ANVIL_PORT\) is already in use/);
  });

  it("names a port that is not a number", () => {
    const { status, errorLines } = runDevstack({ OPENCOHORT_WEB_PORT: "web" });
    expect(status).toBe(1);
    expect(errorLines).toEqual(["OPENCOHORT_WEB_PORT must be a port number."]);
  });

  it("names a malformed RPC URL", () => {
    const { status, errorLines } = runDevstack({ OPENCOHORT_RPC_URL: "localhost:8545" });
    expect(status).toBe(1);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^OPENCOHORT_RPC_URL must be an http\(s\) URL/);
  });

  it("names an RPC URL that does not answer", async () => {
    const silentPort = await freePort();
    const { status, errorLines } = runDevstack({
      OPENCOHORT_WEB_PORT: String(await freePort()),
      OPENCOHORT_RPC_URL: `http://127.0.0.1:${silentPort}`,
    });
    expect(status).toBe(1);
    expect(errorLines).toEqual([
      `OPENCOHORT_RPC_URL http://127.0.0.1:${silentPort} does not answer as an Ethereum JSON-RPC endpoint.`,
    ]);
  });
});

describe("the dev stack refuses a bad DATABASE_URL with one sentence", () => {
  it("names a database URL of an unsupported kind", async () => {
    const { status, errorLines } = runDevstack({
      OPENCOHORT_WEB_PORT: String(await freePort()),
      DATABASE_URL: "mysql://root@127.0.0.1/opencohort",
    });
    expect(status).toBe(1);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/DATABASE_URL/);
  });

  it("names a PostgreSQL server that cannot be reached", async () => {
    const { status, errorLines } = runDevstack({
      OPENCOHORT_WEB_PORT: String(await freePort()),
      DATABASE_URL: `postgresql://opencohort:secret@127.0.0.1:${await freePort()}/opencohort`,
    });
    expect(status).toBe(1);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^The database named by DATABASE_URL .* cannot be opened/);
    expect(errorLines[0]).not.toContain("secret");
  });
});
