/**
 * pnpm bench: guarded queries through the engine vs the same SELECT run raw in DuckDB (same
 * tables in memory, same consented subset, same threads; count(DISTINCT person_id) per group,
 * no privacy layer). 15 alternating runs (BENCH_RUNS) after one warm-up; the ratio is the median of each
 * run's guarded / raw (adjacent runs see the same machine load); figures, not assertions.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { createComputeEngine, InMemoryBudgetLedger } from "../src/index";
import { compileRaw } from "../src/query/compile";
import { ensureBenchDataset } from "./dataset";

const PERSONS = Number(process.env.BENCH_PERSONS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const THREADS = 2;
const MEMORY_MB = 6144;

const shapes = [
  {
    name: "count by sex and age band",
    sql: "SELECT sex, age_band(year_of_birth, 10) AS band, count(DISTINCT person_id) AS persons FROM person GROUP BY sex, band",
  },
  {
    name: "diabetes prevalence by region",
    sql: "SELECT region, count(DISTINCT person_id) AS diabetics FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'E11%') GROUP BY region",
  },
  {
    name: "mean HbA1c by age band (clamped)",
    sql: "SELECT age_band(year_of_birth, 10) AS band, avg(least(greatest(value_as_number, 3.5), 20)) AS mean_hba1c, count(DISTINCT person_id) AS persons FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY band",
  },
  {
    name: "drug exposures of a condition cohort",
    sql: "SELECT drug_code, count(*) AS exposures, count(DISTINCT person_id) AS persons FROM drug_exposure WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'E11%') GROUP BY drug_code",
  },
  {
    name: "two-table join on person_id",
    sql: "SELECT sex, visit_type, count(*) AS visits, count(DISTINCT person_id) AS persons FROM person JOIN visit_occurrence USING (person_id) GROUP BY sex, visit_type",
  },
];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Resets a process's peak RSS (Linux), so each shape's peak is its own. */
function resetPeak(pid: number) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not Linux or not permitted: the peak then covers the whole run.
  }
}

function peakMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

async function main() {
  const dir = await ensureBenchDataset(PERSONS, 42);
  console.log(`dataset: ${dir}`);

  // The consented subset: 90% of persons.
  const probe = await DuckDBInstance.create(":memory:");
  const probeConnection = await probe.connect();
  const idReader = await probeConnection.runAndReadAll(
    `SELECT person_id FROM read_parquet('${join(dir, "person.parquet")}') WHERE person_id % 10 <> 3 ORDER BY person_id`,
  );
  const consented = BigInt64Array.from(idReader.getColumns()[0] as bigint[]);
  probeConnection.closeSync();
  probe.closeSync();
  console.log(`consented persons: ${consented.length}`);

  const engine = createComputeEngine({
    logger: { warn: console.warn, error: console.error },
    limits: { memoryMb: MEMORY_MB, threads: THREADS, timeoutMs: 120_000 },
    noiseSecret: "benchmark-secret-0123456789",
  });
  let started = Date.now();
  const dataset = await engine.catalogue(dir);
  console.log(`open + verify + load into sandbox: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const ledger = new InMemoryBudgetLedger(1e9);
  const run = (sql: string) =>
    engine.run({
      dataset,
      query: { sql },
      consentedPersonIds: consented,
      snapshotBlock: 1n,
      params: { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.5 },
      budget: { ledger, researcher: "bench", datasetId: "bench" },
    });
  started = Date.now();
  const first = await run("SELECT count(*) FROM person");
  if (!first.ok) throw new Error(JSON.stringify(first.error));
  console.log(
    `first query incl. loading ${consented.length} consented ids: ${Date.now() - started} ms`,
  );

  // The raw baseline: its own DuckDB, same settings, same tables in memory, same consent table.
  const raw = await DuckDBInstance.create(":memory:");
  const rawConnection = await raw.connect();
  await rawConnection.run(`SET threads = ${THREADS}`);
  await rawConnection.run(`SET memory_limit = '${MEMORY_MB}MB'`);
  for (const table of dataset.tables) {
    await rawConnection.run(
      `CREATE TABLE dataset_${table.name} AS SELECT * FROM read_parquet('${join(dir, table.file)}')`,
    );
  }
  await rawConnection.run("CREATE TEMP TABLE consent_raw (person_id BIGINT)");
  const appender = await rawConnection.createAppender("consent_raw", "main", "temp");
  for (const id of consented) {
    appender.appendBigInt(id);
    appender.endRow();
  }
  appender.closeSync();

  const rows: string[][] = [];
  const workerPid = engine.sandbox.workerPid ?? 0;
  // BENCH_SHAPES=join,HbA1c runs only the shapes whose names contain one of these words.
  const only = process.env.BENCH_SHAPES?.split(",").filter((w) => w !== "");
  for (const shape of shapes.filter((s) => !only || only.some((w) => s.name.includes(w)))) {
    const validation = await engine.validate(shape.sql, dataset);
    if (!validation.ok) throw new Error(`${shape.name}: ${validation.rule}`);
    const rawSql = compileRaw(validation.plan, dataset, "consent_raw");

    // Warm up both, then alternate guarded and raw runs so that both see the same machine load
    // (the benchmark shares two cores with whatever else runs).
    await run(shape.sql);
    await rawConnection.runAndReadAll(rawSql.sql, rawSql.params);
    resetPeak(workerPid);
    resetPeak(process.pid);
    const guarded: number[] = [];
    const rawTimes: number[] = [];
    let released = 0;
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      const outcome = await run(shape.sql);
      guarded.push(performance.now() - t0);
      if (!outcome.ok) throw new Error(`${shape.name}: ${JSON.stringify(outcome.error)}`);
      released = outcome.researcherResult.rows.length;
      t0 = performance.now();
      await rawConnection.runAndReadAll(rawSql.sql, rawSql.params);
      rawTimes.push(performance.now() - t0);
    }
    const guardedPeak = peakMb(workerPid);
    const rawPeak = peakMb(process.pid);
    const g = median(guarded);
    const r = median(rawTimes);
    const ratio = median(guarded.map((t, i) => t / (rawTimes[i] ?? Number.NaN)));
    rows.push([
      shape.name,
      g.toFixed(0),
      r.toFixed(0),
      ratio.toFixed(2),
      guardedPeak.toFixed(0),
      rawPeak.toFixed(0),
      String(released),
    ]);
    console.log(`  ${shape.name}: guarded ${g.toFixed(0)} ms, raw ${r.toFixed(0)} ms`);
  }
  rawConnection.closeSync();
  raw.closeSync();
  await engine.close();

  const header = [
    "shape",
    "guarded ms",
    "raw ms",
    "ratio (median of pairs)",
    "peak RSS guarded MB",
    "peak RSS raw MB",
    "rows shown",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(
    `\n${PERSONS.toLocaleString("en-US")} persons, ${consented.length.toLocaleString("en-US")} consented, ${THREADS} threads, median of ${RUNS}\n`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  console.log(
    "\npeak RSS = whole process (dataset tables included) during that shape's runs: the sandbox worker for guarded, the benchmark process for raw.",
  );
}

await main();
