/**
 * pnpm bench:fairness: how long researcher B waits for ordinary queries while researcher A
 * keeps a runaway query running (a real one: a three-way join of 2.7e10 rows per person on
 * the heavy test fixture, stopped only by the time limit, resubmitted as soon as it ends).
 * One sandbox worker (the old host) against the pool. Figures, not assertions.
 */
import { rm } from "node:fs/promises";
import { createComputeEngine, InMemoryBudgetLedger } from "../src/index";
import { writeHeavyFixture } from "../test/fixtures";

const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 5_000);
const RUNS = 5;
const runaway =
  "SELECT count(*) FROM visit_occurrence JOIN measurement USING (person_id) JOIN drug_exposure USING (person_id)";
const ordinary = [
  "SELECT count(DISTINCT person_id) FROM person",
  "SELECT visit_type, count(*) FROM visit_occurrence GROUP BY visit_type",
];
const params = { minCellSize: 5, roundingBase: 5, epsilonPerQuery: 0.5 };
const ids = Array.from({ length: 20 }, (_, i) => BigInt(i));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function measure(dir: string, workers: number) {
  const engine = createComputeEngine({
    logger: { warn: () => {}, error: () => {} },
    limits: { memoryMb: 512, threads: 1, timeoutMs: TIMEOUT_MS, workers },
    noiseSecret: "benchmark-secret-0123456789",
  });
  try {
    const dataset = await engine.catalogue(dir);
    const ledger = new InMemoryBudgetLedger(1e9);
    const run = (researcher: string, sql: string) =>
      engine.run({
        dataset,
        query: { sql },
        consentedPersonIds: ids,
        snapshotBlock: 1n,
        params,
        budget: { ledger, researcher, datasetId: "bench" },
      });
    // Alone: B's latency with nobody else on the engine (after a warm-up on each worker).
    for (const sql of ordinary) await run("0xB", sql);
    const alone: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await run("0xB", ordinary[i % ordinary.length] as string);
      alone.push(performance.now() - t0);
    }
    // Contended: A always has a runaway in flight (and one queued behind it).
    let stop = false;
    const aLoop = async () => {
      while (!stop) await run("0xA", runaway);
    };
    const aRunning = [aLoop(), aLoop()];
    while (!engine.sandbox.status().workers.some((w) => w.tenant === "0xA")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const contended: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const outcome = await run("0xB", ordinary[i % ordinary.length] as string);
      if (!outcome.ok) throw new Error(`B failed: ${JSON.stringify(outcome.error)}`);
      contended.push(performance.now() - t0);
    }
    stop = true;
    await Promise.all(aRunning);
    return { alone: median(alone), contended: median(contended), max: Math.max(...contended) };
  } finally {
    await engine.close();
  }
}

async function main() {
  const dir = await writeHeavyFixture();
  try {
    console.log(
      `B's ordinary queries while A's runaway runs (time limit ${TIMEOUT_MS} ms), median of ${RUNS}\n`,
    );
    console.log("| workers | B alone ms | B during A's runaway ms | worst ms |");
    console.log("|---------|------------|--------------------------|----------|");
    for (const workers of [1, 2]) {
      const r = await measure(dir, workers);
      console.log(
        `| ${String(workers).padEnd(7)} | ${r.alone.toFixed(0).padEnd(10)} | ${r.contended.toFixed(0).padEnd(24)} | ${r.max.toFixed(0).padEnd(8)} |`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
