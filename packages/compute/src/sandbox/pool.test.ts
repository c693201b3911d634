import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { standardPersonIds, writeHeavyFixture, writeStandardFixture } from "../../test/fixtures";
import { createHarness, expectOk, type Harness } from "../../test/harness";
import { openDataset } from "../catalogue/dataset";
import { SandboxHost, type SandboxLease } from "./host";

/**
 * The pool of sandbox workers and its fair queue: one researcher's runaway query delays only
 * that researcher. "Runaway" is either the host's test hold (a request that keeps a worker
 * busy until the test ends it, or until the time limit) or a real DuckDB query that runs for
 * billions of rows. Every assertion is about order (who finished while whom was still
 * running), never about how long something took.
 */

function track<T>(promise: Promise<T>) {
  const tracked = { settled: false, promise };
  promise.then(
    () => {
      tracked.settled = true;
    },
    () => {
      tracked.settled = true;
    },
  );
  return tracked;
}

const select = (label: string) => [{ sql: `SELECT '${label}'`, read: "rows" as const }];
// A large epsilon and no rounding: answers differ visibly if the noise key differs at all.
const exactish = { minCellSize: 5, roundingBase: 1, epsilonPerQuery: 1 };
const question =
  "SELECT sex, count(DISTINCT person_id) AS n, avg(value_as_number) AS a FROM person JOIN measurement USING (person_id) GROUP BY sex";

describe("fair queue (host)", () => {
  it("serves tenants round-robin, each tenant's requests in order", async () => {
    const host = new SandboxHost({ memoryMb: 128, threads: 1, timeoutMs: 30_000, workers: 1 });
    try {
      const hold = await host.holdForTest("X");
      const order: string[] = [];
      const submit = (tenant: string, label: string) =>
        host.exec(null, select(label), tenant).then(() => order.push(label));
      const all = [
        submit("A", "A1"),
        submit("A", "A2"),
        submit("A", "A3"),
        submit("B", "B1"),
        submit("C", "C1"),
        submit("B", "B2"),
      ];
      expect(host.status().waiting).toEqual({ A: 3, B: 2, C: 1 });
      hold.end();
      await hold.ended;
      await Promise.all(all);
      expect(order).toEqual(["A1", "B1", "C1", "A2", "B2", "A3"]);
    } finally {
      await host.close();
    }
  });

  it("one tenant holds one worker at a time; the other worker stays for the others", async () => {
    const host = new SandboxHost({ memoryMb: 128, threads: 1, timeoutMs: 30_000, workers: 2 });
    try {
      const a1 = await host.holdForTest("A");
      const a2 = track(host.holdForTest("A"));
      const a3 = track(host.holdForTest("A"));
      // A queued first, yet B gets the free worker.
      const b = await host.holdForTest("B");
      expect(b.pid).not.toBe(a1.pid);
      expect(a2.settled || a3.settled).toBe(false);
      b.end();
      await b.ended;
      // The freed worker is not given to A (it still has one running): C gets it at once.
      expect(host.status().waiting).toEqual({ A: 2 });
      const c = await host.holdForTest("C");
      expect(a2.settled).toBe(false);
      c.end();
      await c.ended;
      a1.end();
      await a1.ended;
      const second = await a2.promise;
      expect(a3.settled).toBe(false);
      second.end();
      await second.ended;
      (await a3.promise).end();
    } finally {
      await host.close();
    }
  });

  it("lets one tenant use more workers when configured to", async () => {
    const host = new SandboxHost({
      memoryMb: 128,
      threads: 1,
      timeoutMs: 30_000,
      workers: 2,
      maxLeasesPerTenant: 2,
    });
    try {
      const [a1, a2] = await Promise.all([host.holdForTest("A"), host.holdForTest("A")]);
      expect(a1.pid).not.toBe(a2.pid);
      a1.end();
      a2.end();
      await Promise.all([a1.ended, a2.ended]);
    } finally {
      await host.close();
    }
  });
});

describe("time limit in the pool", () => {
  it("interrupts a runaway, kills one that ignores interrupts, and keeps serving", async () => {
    const host = new SandboxHost({
      memoryMb: 128,
      threads: 1,
      timeoutMs: 300,
      killGraceMs: 300,
      workers: 2,
    });
    try {
      // Two tenants at once: both workers start.
      await Promise.all([host.exec(null, select("x"), "X"), host.exec(null, select("y"), "Y")]);
      expect(host.generation).toBe(2);

      const obeys = await host.holdForTest("A");
      await expect(obeys.ended).rejects.toMatchObject({ kind: "timeout" });
      // Interrupted, not killed: the same worker answers the next request.
      expect(host.workerPids).toContain(obeys.pid);
      const generation = host.generation;

      const deaf = await host.holdForTest("A", { ignoreInterrupts: true });
      await expect(deaf.ended).rejects.toMatchObject({ kind: "timeout" });
      expect(host.workerPids).not.toContain(deaf.pid);
      // The other worker answers at once; the dead one is replaced when a second is needed.
      const [result] = (await host.exec(null, select("still here"), "A")) as [
        { rows: unknown[][] },
      ];
      expect(result.rows).toEqual([["still here"]]);
      expect(host.generation).toBe(generation);
      await Promise.all([host.exec(null, select("x"), "X"), host.exec(null, select("y"), "Y")]);
      expect(host.generation).toBe(generation + 1);
      expect(host.workerPids).toHaveLength(2);
      expect(host.workerPids).not.toContain(deaf.pid);
    } finally {
      await host.close();
    }
  });
});

describe("leases", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeStandardFixture();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keep a run's calls on one worker; each worker loads consent and reports the same digest", async () => {
    const catalogue = await openDataset(dir);
    const dataset = {
      key: "dpool",
      dir: catalogue.dir,
      tables: catalogue.tables.map((t) => ({ name: t.name, file: t.file })),
      storage: "memory" as const,
    };
    const host = new SandboxHost({ memoryMb: 256, threads: 1, timeoutMs: 30_000, workers: 2 });
    try {
      const opened = await host.openDataset(dataset);
      expect(opened.personTableUnique).toBe(true);
      const [l1, l2] = await Promise.all([host.acquire("A"), host.acquire("B")]);
      const ids = BigInt64Array.from(standardPersonIds());
      const c1 = await l1.ensureConsent("dpool", "c1", () => ids);
      const c2 = await l2.ensureConsent("dpool", "c1", () => ids);
      expect(l1.workerPid).toBeDefined();
      expect(l2.workerPid).toBeDefined();
      expect(l1.workerPid).not.toBe(l2.workerPid);
      // Loaded in each worker, with the same order-independent digest.
      expect(c1).toBeDefined();
      expect(c2).toEqual(c1);
      expect(await l1.ensureConsent("dpool", "c1", () => ids)).toBeUndefined();
      // A temp table made through a lease is where the lease's next call looks for it.
      await l1.exec("dpool", [{ sql: "CREATE TEMP TABLE t AS SELECT 7 AS x", read: "none" }]);
      const [again] = (await l1.exec("dpool", [{ sql: "SELECT x FROM t", read: "rows" }])) as [
        { rows: unknown[][] },
      ];
      expect(again.rows).toEqual([[7]]);
      await expect(
        l2.exec("dpool", [{ sql: "SELECT x FROM t", read: "rows" }]),
      ).rejects.toMatchObject({ kind: "failed" });
      l1.release();
      l2.release();
      await expect(l1.exec(null, select("late"))).rejects.toMatchObject({ kind: "failed" });
      // Opening the same dataset again reports what the first open found.
      expect(await host.openDataset(dataset)).toEqual(opened);
      // Closed in every worker, also one leased at the time (closed when its lease ends).
      const busy = await host.acquire("A");
      await busy.exec("dpool", select("busy"));
      await host.closeDataset("dpool");
      busy.release();
      const both = async (check: (lease: SandboxLease) => Promise<void>) => {
        const leases = await Promise.all([host.acquire("A"), host.acquire("B")]);
        try {
          for (const lease of leases) await check(lease);
          expect(leases[0].workerPid).not.toBe(leases[1].workerPid);
        } finally {
          for (const lease of leases) lease.release();
        }
      };
      await both(async (lease) => {
        await expect(lease.exec("dpool", select("gone"))).rejects.toMatchObject({
          kind: "failed",
        });
      });
      // Registered again: each worker opens it again on first use.
      expect(await host.openDataset(dataset)).toEqual(opened);
      await both(async (lease) => {
        const [back] = (await lease.exec("dpool", [
          { sql: "SELECT count(*) FROM dataset_person", read: "rows" },
        ])) as [{ rows: unknown[][] }];
        expect(back.rows[0]?.[0]).toBeGreaterThan(0);
      });
    } finally {
      await host.close();
    }
  });
});

describe("engine on a pool of two workers", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: 2, timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  it("serves B while A's runaway holds a worker; A's next query waits behind A's first", async () => {
    const sandbox = h.engine.sandbox;
    const runaway = await sandbox.holdForTest("0xA");
    const runawayState = track(runaway.ended);
    const aNext = track(h.run(question, { researcher: "0xA", params: exactish }));
    await vi.waitFor(() => expect(sandbox.status().waiting["0xA"]).toBe(1), {
      timeout: 20_000,
      interval: 20,
    });

    const b = expectOk(await h.run(question, { researcher: "0xB", params: exactish }));
    expect(b.researcherResult.rows.length).toBe(2);
    // B was answered while A's runaway was still running, and A's second query still waits.
    expect(runawayState.settled).toBe(false);
    expect(aNext.settled).toBe(false);
    expect(sandbox.status().waiting).toEqual({ "0xA": 1 });

    runaway.end();
    await runaway.ended;
    const a = expectOk(await aNext.promise);
    // Same dataset, same consent set, same question: the same answer on either worker.
    expect(a.researcherResult.rows).toEqual(b.researcherResult.rows);
  });

  it("gives identical rows and noise whichever worker runs the query", async () => {
    const sandbox = h.engine.sandbox;
    // A consent set neither worker has seen: each loads it and computes its digest itself.
    const ids = standardPersonIds().filter((id) => id % 3n !== 0n);
    const ask = (researcher: string) =>
      h.run(question, { researcher, params: exactish, ids }).then(expectOk);

    const left = await sandbox.holdForTest("0xleft");
    const first = await ask("0xR1");
    const right = await sandbox.holdForTest("0xR1"); // R1's worker: the one that just answered
    left.end();
    await left.ended;
    expect(right.pid).not.toBe(left.pid);
    const second = await ask("0xR2"); // the only free worker: the one left held before
    right.end();
    await right.ended;

    expect(second.researcherResult.rows).toEqual(first.researcherResult.rows);
    expect(second.receipt.resultHash).toBe(first.receipt.resultHash);
    expect(second.privateInclusions.personIds).toEqual(first.privateInclusions.personIds);
  });
});

describe("a real runaway query on a pool of two workers", () => {
  const heavyIds = Array.from({ length: 20 }, (_, i) => BigInt(i));
  const sanity = "SELECT count(DISTINCT person_id) FROM person";
  const params = { minCellSize: 5, roundingBase: 1, epsilonPerQuery: 10 };
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      dir: await writeHeavyFixture(),
      workers: 2,
      // Far longer than the test: the runaway ends because the test kills its worker.
      timeoutMs: 120_000,
      memoryMb: 256,
      ids: heavyIds,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers B during A's runaway; A's killed worker is replaced and the pool keeps serving", async () => {
    const sandbox = h.engine.sandbox;
    // 20 persons x 3000^3 joined rows: DuckDB would run for hours.
    const runaway = track(
      h.run(
        "SELECT count(*) FROM visit_occurrence JOIN measurement USING (person_id) JOIN drug_exposure USING (person_id)",
        { researcher: "0xA", params },
      ),
    );
    await vi.waitFor(
      () => expect(sandbox.status().workers.some((w) => w.tenant === "0xA")).toBe(true),
      { timeout: 20_000, interval: 20 },
    );
    const b = expectOk(await h.run(sanity, { researcher: "0xB", params }));
    expect(b.researcherResult.rows).toEqual([[20]]);
    expect(runaway.settled).toBe(false);

    const victim = sandbox.status().workers.find((w) => w.tenant === "0xA")?.pid;
    expect(victim).toBeDefined();
    process.kill(victim as number, "SIGKILL");
    const outcome = await runaway.promise;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe("query-failed");
      expect(outcome.error.message).not.toMatch(/duckdb|interrupt|signal|exited|error:/i);
    }

    const generation = sandbox.generation;
    // Keep the surviving worker busy: A's next query needs the dead one's replacement.
    const hold = await sandbox.holdForTest("0xhold");
    expect(hold.pid).not.toBe(victim);
    const after = expectOk(await h.run(sanity, { researcher: "0xA", params }));
    expect(after.researcherResult.rows).toEqual([[20]]);
    expect(sandbox.generation).toBe(generation + 1);
    expect(sandbox.workerPids).not.toContain(victim);
    expect(sandbox.workerPids).toHaveLength(2);
    hold.end();
    await hold.ended;
  });
});
