import { afterEach, describe, expect, it } from "vitest";
import {
  createLoopHealth,
  type HealthServer,
  INDEXER_FAILURES_NOT_READY,
  STALE_TURN_INTERVALS,
  startHealthServer,
} from "./health";

let server: HealthServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${server?.port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the operator's readiness", () => {
  const pollMs = 5_000;
  const staleMs = STALE_TURN_INTERVALS * pollMs;

  it("is not ready before its first turn, ready after it, and not ready once the loop stalls", () => {
    const health = createLoopHealth(pollMs);
    expect(health.readiness().ready).toBe(false);
    expect(health.readiness().checks.loop).toEqual({ status: "failing", lastTurnAgoMs: null });
    health.turnFinished(true);
    const now = Date.now();
    expect(health.readiness(now).ready).toBe(true);
    expect(health.readiness(now + staleMs - 1_000).ready).toBe(true);
    const stalled = health.readiness(now + staleMs + 1_000);
    expect(stalled.ready).toBe(false);
    expect(stalled.checks.loop.status).toBe("failing");
    expect(stalled.checks.indexer.status).toBe("ok");
  });

  it("tolerates a failed sync, not a failing indexer; one good sync makes it ready again", () => {
    const health = createLoopHealth(pollMs);
    for (let turn = 1; turn < INDEXER_FAILURES_NOT_READY; turn++) health.turnFinished(false);
    expect(health.readiness().ready).toBe(true);
    health.turnFinished(false);
    expect(health.readiness().ready).toBe(false);
    expect(health.readiness().checks.indexer).toEqual({
      status: "failing",
      consecutiveFailures: INDEXER_FAILURES_NOT_READY,
    });
    health.turnFinished(true);
    expect(health.readiness().ready).toBe(true);
  });
});

describe("the operator's health server", () => {
  it("answers /health always and /ready with 200 or 503 and the failing check", async () => {
    const health = createLoopHealth(100);
    server = await startHealthServer(health, { port: 0, host: "127.0.0.1" });
    expect(server.port).toBeGreaterThan(0);

    expect(await get("/health")).toEqual({ status: 200, body: { status: "ok" } });
    const before = await get("/ready");
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({
      status: "not ready",
      checks: { loop: { status: "failing" }, indexer: { status: "ok" } },
    });

    health.turnFinished(true);
    const after = await get("/ready");
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      status: "ready",
      checks: { loop: { status: "ok" }, indexer: { status: "ok", consecutiveFailures: 0 } },
    });

    expect((await get("/metrics")).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${server.port}/ready`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("fails to start with the port's error when the port is taken", async () => {
    server = await startHealthServer(createLoopHealth(100), { port: 0, host: "127.0.0.1" });
    await expect(
      startHealthServer(createLoopHealth(100), { port: server.port, host: "127.0.0.1" }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
