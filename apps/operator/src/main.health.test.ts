/**
 * The real operator process (src/main.ts) with OPERATOR_HEALTH_PORT and LOG_FORMAT=json:
 * it logs JSON lines, reports ready once a turn has ended, and on SIGTERM finishes its turn,
 * closes the health server and the database, and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@opencohort/chain/anvil";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChainFixture, startChainFixture } from "./testing/fixture";

const operatorDir = join(dirname(fileURLToPath(import.meta.url)), "..");
let fixture: ChainFixture;
let child: ChildProcess | undefined;

beforeAll(async () => {
  fixture = await startChainFixture("health");
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await fixture?.close();
});

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the operator process with a health port and JSON logs", () => {
  it("is ready after a turn, logs JSON, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const started = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: operatorDir,
      env: {
        ...process.env,
        DATABASE_URL: fixture.databaseUrl,
        OPENCOHORT_RPC_URL: fixture.anvil.rpcUrl,
        OPENCOHORT_CHAIN_ID: "31337",
        OPENCOHORT_DEPLOYMENT: fixture.manifestPath,
        OPERATOR_POLL_INTERVAL_MS: "100",
        OPERATOR_HEALTH_PORT: String(port),
        LOG_FORMAT: "json",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    let output = "";
    started.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => started.once("exit", resolve));

    const health = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      return response.status === 200 ? response.json() : undefined;
    }, "/health");
    expect(health).toEqual({ status: "ok" });
    const ready = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      return response.status === 200 ? response.json() : undefined;
    }, "/ready to answer 200");
    expect(ready).toMatchObject({
      status: "ready",
      checks: { loop: { status: "ok" }, indexer: { status: "ok", consecutiveFailures: 0 } },
    });

    started.kill("SIGTERM");
    expect(await exited).toBe(0);
    child = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

    const records = output
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; name: string; msg: string });
    expect(records.every((record) => record.name === "operator")).toBe(true);
    const messages = records.map((record) => record.msg);
    expect(messages).toContain(`health on :${port}/health and /ready`);
    const finishing = messages.indexOf("SIGTERM: finishing the current turn");
    expect(finishing).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf("stopped")).toBeGreaterThan(finishing);
    expect(records.filter((record) => record.level === "error")).toEqual([]);
  });
});
