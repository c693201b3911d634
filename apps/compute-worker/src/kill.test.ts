/**
 * Two compute worker processes on one app database (SQLite, then PostgreSQL). A researcher's
 * query is taken by one of them, which is killed with SIGKILL while the query runs (after its
 * budget was charged). The other worker takes the job over when its lease ends: the query
 * completes once, with one result and one budget charge.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import {
  buyAccess,
  seedDataset,
  startTestSystem,
  type TestSystem,
  testDatabases,
} from "@opencohort/api/testing/harness";
import { afterEach, describe, expect, it } from "vitest";

const APP_DIR = join(import.meta.dirname, "..");
// Above what a fresh worker takes to open the dataset and reach the charge on a loaded machine.
const LEASE_SECONDS = 20;

/**
 * Joins on person_id only, each table once (the validator's rules), yet every person's
 * measurements, conditions, drug exposures and visits multiply: millions of joined rows from
 * 200 persons, enough DuckDB work to be killed in the middle of.
 */
const SLOW_SQL = `SELECT p.sex, count(DISTINCT p.person_id) AS persons
FROM person p
JOIN measurement m ON m.person_id = p.person_id
JOIN condition_occurrence c ON c.person_id = p.person_id
JOIN drug_exposure d ON d.person_id = p.person_id
JOIN visit_occurrence v ON v.person_id = p.person_id
GROUP BY p.sex`;

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  /** The JSON log records it printed so far. */
  records: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function startWorker(system: TestSystem, name: string): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      DATABASE_URL: system.databaseUrl,
      OPENCOHORT_NOISE_SECRET: "test-noise-secret",
      OPENCOHORT_QUERY_WORKERS: "1",
      OPENCOHORT_QUERY_TIMEOUT_MS: "60000",
      OPENCOHORT_JOB_LEASE_SECONDS: String(LEASE_SECONDS),
      OPENCOHORT_WORKER_ID: name,
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const records: WorkerProcess["records"] = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log record (a library's own print): ignored.
      }
    }
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) console.error(`${name} exited ${code}: ${stderr}`);
      resolve(code);
    });
  });
  return { name, child, records, exited };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const started = (worker: WorkerProcess, queryId: string, attempt: number) =>
  worker.records.find(
    (record) =>
      record.event === "query-job-started" &&
      record.queryId === queryId &&
      record.attempt === attempt,
  );

describe.each(testDatabases())(
  "a compute worker killed mid-query ($database)",
  ({ database, skip }) => {
    let system: TestSystem | undefined;
    const workers: WorkerProcess[] = [];

    afterEach(async () => {
      for (const worker of workers.splice(0)) {
        worker.child.kill("SIGKILL");
        await worker.exited;
      }
      await system?.stop();
      system = undefined;
    });

    it.skipIf(skip)(
      "leaves the query to the other worker: it completes once and is charged once",
      async () => {
        system = await startTestSystem({ database, queryWorker: false });
        const dataset = await seedDataset(system, { persons: 200, seed: 61 });
        await buyAccess(system, 4, dataset);
        const researcher = await system.signIn(4);
        const db = system.db;

        workers.push(startWorker(system, "worker-a"), startWorker(system, "worker-b"));
        for (const worker of workers) {
          await until(`${worker.name} to start`, () =>
            worker.records.some((record) => record.event === "worker-started") ? true : undefined,
          );
        }

        const submitted = await researcher.caller.query.submit({
          datasetId: dataset.datasetId,
          sql: SLOW_SQL,
        });
        expect(submitted.status).toBe("PENDING");
        const queryId = submitted.id;

        // The worker that took it, once its budget is charged (compute charges, then runs).
        const holder = await until("a worker to take the query", () =>
          workers.find((worker) => started(worker, queryId, 1)),
        );
        await until("the budget charge", async () => {
          if ((await db.privacyBudgetEntry.count({ where: { queryId } })) === 1) return true;
          const row = await db.query.findUniqueOrThrow({
            where: { id: queryId },
            select: { status: true, errorRule: true, errorMessage: true },
          });
          // Ended before it could be killed: the test's query is wrong, say why.
          if (!["PENDING", "RUNNING"].includes(row.status)) throw new Error(JSON.stringify(row));
          return undefined;
        });
        holder.child.kill("SIGKILL");
        await holder.exited;
        const afterKill = await db.query.findUniqueOrThrow({
          where: { id: queryId },
          select: { status: true, runAttempt: true },
        });
        // Killed mid-run: nothing was written.
        const errors = workers.flatMap((worker) =>
          worker.records.filter((record) => record.level === "error" || record.level === "warn"),
        );
        expect(errors).toEqual([]);
        expect(afterKill).toEqual({ status: "RUNNING", runAttempt: 1 });

        const rescuer = workers.find((worker) => worker !== holder);
        if (!rescuer) throw new Error("no second worker");
        const final = await until("the query to finish", async () => {
          const row = await db.query.findUniqueOrThrow({
            where: { id: queryId },
            select: { status: true, runAttempt: true, result: true, receiptHash: true },
          });
          return ["PENDING", "RUNNING"].includes(row.status) ? undefined : row;
        });
        expect(final.status).toBe("SUCCEEDED");
        expect(final.runAttempt).toBe(2);
        expect(final.receiptHash).toMatch(/^0x[0-9a-f]{64}$/);
        expect(started(rescuer, queryId, 2)).toBeDefined();

        // Charged once; one result; the researcher reads it like any other.
        expect(await db.privacyBudgetEntry.count({ where: { queryId } })).toBe(1);
        const view = await researcher.caller.query.result({ id: queryId });
        expect(view.result?.rows.length).toBeGreaterThan(0);
        // The job is done: no attempt is left queued or running anywhere.
        const jobs = await until("the job to complete", async () => {
          const counts = await system?.queryJobs.counts();
          return counts?.completed === 1 ? counts : undefined;
        });
        expect(jobs).toEqual({ queued: 0, active: 0, completed: 1, failed: 0 });
        expect(rescuer.child.exitCode).toBeNull();
      },
    );
  },
);
