/**
 * pnpm bench: guarded queries through the engine vs the same SELECT run raw in DuckDB (same
 * tables, same consented subset, same threads; count(DISTINCT person_id) per group, no privacy
 * layer; raw filters the unmaterialised tables through the consent set on every query). Each
 * shape gets a fresh consent snapshot: its first query (consent set loaded, consented subsets
 * built) is timed on its own, then 15 alternating runs (BENCH_RUNS); the ratio is the median of
 * each run's guarded / raw (adjacent runs see the same machine load); figures, not assertions.
 *
 * BENCH_FILTERED=1 adds the filtered path (today's before materialisation: a second engine with a
 * budget of 0) to each run, so before and after see the same load.
 * BENCH_PERSONS (1,000,000), BENCH_STORAGE (memory | parquet: the engine's and the raw side's
 * table storage), BENCH_MATERIALISE_MB (the engine's budget; 0 = the filtered path, as before
 * materialisation), BENCH_MEMORY_MB (DuckDB memory limit per side), BENCH_SHAPES.
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
const MEMORY_MB = Number(process.env.BENCH_MEMORY_MB ?? 6144);
const STORAGE = process.env.BENCH_STORAGE === "parquet" ? "parquet" : "memory";
const MATERIALISE_MB = Number(process.env.BENCH_MATERIALISE_MB ?? MEMORY_MB / 2);

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
  /** Shape i's snapshot: the consented set with one more person withdrawn, a fresh snapshot. */
  const snapshotOf = (i: number) => {
    const at = Math.floor((consented.length * (i + 1)) / (shapes.length + 2));
    return BigInt64Array.from([...consented.subarray(0, at), ...consented.subarray(at + 1)]);
  };
  probeConnection.closeSync();
  probe.closeSync();
  console.log(`consented persons: ${consented.length}`);

  const makeEngine = (materialiseMb: number) =>
    createComputeEngine({
      logger: { warn: console.warn, error: console.error },
      limits: {
        memoryMb: MEMORY_MB,
        threads: THREADS,
        timeoutMs: 600_000,
        workers: 1,
        materialiseMb,
      },
      noiseSecret: "benchmark-secret-0123456789",
      tableStorage: STORAGE,
    });
  const engine = makeEngine(MATERIALISE_MB);
  const filteredEngine = process.env.BENCH_FILTERED === "1" ? makeEngine(0) : undefined;
  let started = Date.now();
  const [dataset, filteredDataset] = await Promise.all([
    engine.catalogue(dir),
    filteredEngine?.catalogue(dir),
  ]);
  console.log(`open + verify + load into sandbox: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const ledger = new InMemoryBudgetLedger(1e9);
  const runOn = (target: typeof engine, sql: string, snapshot: BigInt64Array) =>
    target.run({
      dataset: target === engine ? dataset : (filteredDataset as typeof dataset),
      query: { sql },
      consentedPersonIds: snapshot,
      snapshotBlock: 1n,
      params: { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.5 },
      budget: { ledger, researcher: "bench", datasetId: "bench" },
    });
  const run = (sql: string, snapshot: BigInt64Array = consented) => runOn(engine, sql, snapshot);
  started = Date.now();
  const first = await run("SELECT count(*) FROM person");
  if (!first.ok) throw new Error(JSON.stringify(first.error));
  console.log(
    `first query incl. loading ${consented.length} consented ids: ${Date.now() - started} ms`,
  );

  // The raw baseline: its own DuckDB, same settings, same table storage, same consent set.
  const raw = await DuckDBInstance.create(":memory:");
  const rawConnection = await raw.connect();
  await rawConnection.run(`SET threads = ${THREADS}`);
  await rawConnection.run(`SET memory_limit = '${MEMORY_MB}MB'`);
  for (const table of dataset.tables) {
    const select = `SELECT * FROM read_parquet('${join(dir, table.file)}')`;
    await rawConnection.run(
      STORAGE === "memory"
        ? `CREATE TABLE dataset_${table.name} AS ${select}`
        : `CREATE VIEW dataset_${table.name} AS ${select}`,
    );
  }
  const loadRawConsent = async (ids: BigInt64Array) => {
    await rawConnection.run("CREATE OR REPLACE TEMP TABLE consent_raw (person_id BIGINT)");
    const appender = await rawConnection.createAppender("consent_raw", "main", "temp");
    for (const id of ids) {
      appender.appendBigInt(id);
      appender.endRow();
    }
    appender.closeSync();
  };

  const rows: string[][] = [];
  const snapshotRows: string[][] = [];
  const workerPid = engine.sandbox.workerPid ?? 0;
  // BENCH_SHAPES=join,HbA1c runs only the shapes whose names contain one of these words.
  const only = process.env.BENCH_SHAPES?.split(",").filter((w) => w !== "");
  for (const [index, shape] of shapes.entries()) {
    if (only && !only.some((w) => shape.name.includes(w))) continue;
    const validation = await engine.validate(shape.sql, dataset);
    if (!validation.ok) throw new Error(`${shape.name}: ${validation.rule}`);
    const rawSql = compileRaw(validation.plan, dataset, "consent_raw");
    const snapshot = snapshotOf(index);
    await loadRawConsent(snapshot);

    // The snapshot's first query: its consent set is loaded and its tables' consented subsets
    // are built (the previous shape's snapshot is replaced).
    const before = engine.sandbox.status().materialisation;
    let t0 = performance.now();
    const firstOutcome = await run(shape.sql, snapshot);
    const firstMs = performance.now() - t0;
    if (!firstOutcome.ok) throw new Error(`${shape.name}: ${JSON.stringify(firstOutcome.error)}`);
    const after = engine.sandbox.status().materialisation;
    const built = after.snapshots[0];
    // Warm up raw, then alternate guarded and raw runs so that both see the same machine load
    // (the benchmark shares two cores with whatever else runs).
    await rawConnection.runAndReadAll(rawSql.sql, rawSql.params);
    if (filteredEngine) await runOn(filteredEngine, shape.sql, snapshot);
    resetPeak(workerPid);
    resetPeak(process.pid);
    const guarded: number[] = [];
    const rawTimes: number[] = [];
    const filteredTimes: number[] = [];
    let released = 0;
    for (let i = 0; i < RUNS; i++) {
      t0 = performance.now();
      const outcome = await run(shape.sql, snapshot);
      guarded.push(performance.now() - t0);
      if (!outcome.ok) throw new Error(`${shape.name}: ${JSON.stringify(outcome.error)}`);
      released = outcome.researcherResult.rows.length;
      t0 = performance.now();
      await rawConnection.runAndReadAll(rawSql.sql, rawSql.params);
      rawTimes.push(performance.now() - t0);
      if (filteredEngine) {
        t0 = performance.now();
        const filtered = await runOn(filteredEngine, shape.sql, snapshot);
        filteredTimes.push(performance.now() - t0);
        if (!filtered.ok) throw new Error(`${shape.name}: ${JSON.stringify(filtered.error)}`);
      }
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
      ...(filteredEngine
        ? [
            median(filteredTimes).toFixed(0),
            median(filteredTimes.map((t, i) => t / (rawTimes[i] ?? Number.NaN))).toFixed(2),
          ]
        : []),
    ]);
    const reusedAll = engine.sandbox.status().materialisation.reused - after.reused === RUNS;
    snapshotRows.push([
      shape.name,
      firstMs.toFixed(0),
      g.toFixed(0),
      after.built > before.built && built ? built.tables.join(", ") : "none",
      built && built.refused.length > 0 ? built.refused.join(", ") : "-",
      built ? built.buildMs.toFixed(0) : "-",
      built ? (built.bytes / 1024 / 1024).toFixed(0) : "-",
      reusedAll ? "yes" : "no",
    ]);
    console.log(
      `  ${shape.name}: first ${firstMs.toFixed(0)} ms, guarded ${g.toFixed(0)} ms, raw ${r.toFixed(0)} ms`,
    );
  }
  rawConnection.closeSync();
  raw.closeSync();
  await engine.close();
  await filteredEngine?.close();

  const header = [
    "shape",
    "guarded ms",
    "raw ms",
    "ratio (median of pairs)",
    "peak RSS guarded MB",
    "peak RSS raw MB",
    "rows shown",
    ...(filteredEngine ? ["filtered ms", "filtered / raw"] : []),
  ];
  console.log(
    `\n${PERSONS.toLocaleString("en-US")} persons, ${consented.length.toLocaleString("en-US")} consented, ${THREADS} threads, ${STORAGE} tables, materialise budget ${MATERIALISE_MB} MB, median of ${RUNS}\n`,
  );
  printTable(header, rows);
  console.log("");
  printTable(
    [
      "shape (fresh snapshot)",
      "first query ms",
      "later queries ms (median)",
      "tables built",
      "read filtered (over budget)",
      "build ms",
      "built MB",
      "later queries built nothing",
    ],
    snapshotRows,
  );
  console.log(
    "\npeak RSS = whole process (dataset tables included) during that shape's runs: the sandbox worker for guarded, the benchmark process for raw.",
  );
}

await main();

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}
