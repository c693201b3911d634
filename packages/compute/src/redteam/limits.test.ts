import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHeavyFixture } from "../../test/fixtures";
import { createHarness, expectOk, type Harness } from "../../test/harness";
import { SandboxHost } from "../sandbox/host";

/**
 * Runaway queries that pass validation (a per-person blow-up across three event tables) must
 * hit the time or memory limit, come back as a generic failure, and leave the engine serving.
 */

const heavyIds = Array.from({ length: 20 }, (_, i) => BigInt(i));
const sanity = "SELECT count(DISTINCT person_id) FROM person";
// A large epsilon keeps the sanity answer exact enough to compare.
const params = { minCellSize: 5, roundingBase: 1, epsilonPerQuery: 10 };

let h: Harness;
beforeAll(async () => {
  h = await createHarness({
    dir: await writeHeavyFixture(),
    timeoutMs: 1500,
    memoryMb: 256,
    ids: heavyIds,
  });
});
afterAll(async () => {
  await h.close();
});

describe("runaway queries hit the limit and the engine keeps serving", () => {
  it.each([
    "SELECT count(*) FROM visit_occurrence JOIN measurement USING (person_id) JOIN drug_exposure USING (person_id)",
    "SELECT visit_start_date, count(*) FROM visit_occurrence v JOIN measurement m ON v.person_id = m.person_id JOIN drug_exposure d ON d.person_id = v.person_id GROUP BY visit_start_date",
    "SELECT measurement_date, drug_exposure_start_date, avg(value_as_number) FROM measurement JOIN drug_exposure USING (person_id) GROUP BY 1, 2",
  ])("%s", async (sql) => {
    const started = Date.now();
    const outcome = await h.run(sql, { params });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(["limit-exceeded", "query-failed"]).toContain(outcome.error.code);
      expect(outcome.error.referenceId).toMatch(/^[0-9a-f-]{36}$/);
      expect(outcome.error.message).not.toMatch(/duckdb|interrupt|memory|error:/i);
    }
    expect(Date.now() - started).toBeLessThan(15_000);
    const after = expectOk(await h.run(sanity, { params }));
    expect(after.researcherResult.rows).toEqual([[20]]);
  });

  it("logs the detail on the server side with the reference id", () => {
    const failures = h.logs.filter((l) => l.message === "compute query failed");
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure.detail.referenceId).toBeTruthy();
  });
});

describe("sandbox host", () => {
  it("interrupts range(1e12) at the time limit and answers the next request", async () => {
    const host = new SandboxHost({ memoryMb: 256, threads: 1, timeoutMs: 500 });
    try {
      const started = Date.now();
      await expect(
        host.exec(null, [{ sql: "SELECT count(*) FROM range(1000000000000)", read: "rows" }]),
      ).rejects.toMatchObject({
        kind: "timeout",
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      const [result] = (await host.exec(null, [{ sql: "SELECT 41 + 1", read: "rows" }])) as [
        { rows: unknown[][] },
      ];
      expect(result.rows).toEqual([[42]]);
      expect(host.generation).toBe(1);
    } finally {
      await host.close();
    }
  });

  it("replaces a crashed worker and reopens the datasets", async () => {
    const before = h.engine.sandbox.generation;
    const pid = h.engine.sandbox.workerPid;
    await h.engine.sandbox.crashWorkerForTest();
    const after = expectOk(await h.run(sanity, { params }));
    expect(after.researcherResult.rows).toEqual([[20]]);
    expect(h.engine.sandbox.generation).toBe(before + 1);
    expect(h.engine.sandbox.workerPid).not.toBe(pid);
  });

  it("survives a worker killed from outside mid-query", async () => {
    const running = h.run(
      "SELECT count(*) FROM visit_occurrence JOIN measurement USING (person_id) JOIN drug_exposure USING (person_id)",
      { params },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The worker of the pool that runs this researcher's query.
    const pid = h.engine.sandbox.status().workers.find((w) => w.tenant === "0xresearcher")?.pid;
    expect(pid).toBeDefined();
    if (pid) process.kill(pid, "SIGKILL");
    const outcome = await running;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe("query-failed");
    expectOk(await h.run(sanity, { params }));
  });
});
