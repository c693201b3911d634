/**
 * pnpm bench:accuracy: how far released numbers are from the truth at the governed defaults,
 * on the 1M-person synthetic dataset (the one `pnpm bench` caches in .bench-data/).
 *
 * Each query shape below is compiled exactly as the engine compiles it (compileGuarded: the
 * per-person cap, clamps and, for event-level queries, the groups-per-person bound) and run
 * once in an in-process DuckDB over every person, which gives the true (capped, clamped)
 * aggregates the mechanism targets. The engine's own disclosure step (discloseGroups, with the
 * engine's threshold) is then applied DRAWS times, each with a fresh noise secret. Relative
 * error = |released - true| / |true| over released cells, bucketed by the group's true
 * number of persons (within ±25% of 50, 200, 1,000 and 10,000). Figures, not assertions.
 *
 * Env: BENCH_PERSONS (1,000,000), BENCH_DRAWS (200), BENCH_EPSILON / BENCH_BUDGET (governed
 * defaults 0.1 / 5).
 */
import { randomBytes } from "node:crypto";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DisclosureParams } from "@opencohort/validators";
import { type DatasetCatalogue, openDataset } from "../src/catalogue/dataset";
import { queryAccounting } from "../src/disclosure/accounting";
import { contributionBounds } from "../src/disclosure/bounds";
import { discloseGroups, type GroupAggregate, releaseThreshold } from "../src/disclosure/control";
import { publicPartitions } from "../src/disclosure/partitions";
import { toGroups } from "../src/engine";
import { compileGuarded, type ValueInput } from "../src/query/compile";
import type { QueryPlan } from "../src/query/plan";
import { planFromParseTree } from "../src/query/validate";
import { ensureBenchDataset } from "./dataset";

const PERSONS = Number(process.env.BENCH_PERSONS ?? 1_000_000);
const DRAWS = Number(process.env.BENCH_DRAWS ?? 200);
const SIZES = [50, 200, 1_000, 10_000];
const WINDOW = 0.25;
const MAX_GROUPS = 10_000;

/** The governed defaults (StandardsRegistry's initial values). */
export const GOVERNED_DEFAULTS = {
  minCellSize: 11,
  roundingBase: 5,
  epsilonPerQuery: Number(process.env.BENCH_EPSILON ?? 0.1),
  contributionCap: 10,
  epsilonBudget: Number(process.env.BENCH_BUDGET ?? 5),
};

type Kind = "persons" | "rows" | "sum" | "avg";

interface Shape {
  /** What the row of the table measures. */
  label: string;
  /** Which measure column of the result is scored. */
  measure: Kind;
  sql: string;
}

const HBA1C = "avg(least(greatest(value_as_number, 3.5), 20))";
const shapes: Shape[] = [
  ...[
    "SELECT year_of_birth, sex, region, count(DISTINCT person_id) FROM person GROUP BY year_of_birth, sex, region",
    "SELECT age_band(year_of_birth, 5), sex, region, count(DISTINCT person_id) FROM person GROUP BY 1, 2, 3",
    "SELECT age_band(year_of_birth, 10), sex, count(DISTINCT person_id) FROM person GROUP BY 1, 2",
  ].map((sql) => ({ label: "persons, person-level", measure: "persons" as const, sql })),
  ...[
    "SELECT condition_code, year(condition_start_date), count(DISTINCT person_id) FROM condition_occurrence GROUP BY 1, 2",
    "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code",
    "SELECT drug_code, year(drug_exposure_start_date), count(DISTINCT person_id) FROM drug_exposure GROUP BY 1, 2",
  ].map((sql) => ({ label: "persons, event-level", measure: "persons" as const, sql })),
  ...[
    "SELECT age_band(year_of_birth, 5), sex, region, count(*), count(DISTINCT person_id) FROM person JOIN visit_occurrence USING (person_id) WHERE visit_type = 'inpatient' GROUP BY 1, 2, 3",
    "SELECT age_band(year_of_birth, 10), sex, count(*), count(DISTINCT person_id) FROM person JOIN visit_occurrence USING (person_id) WHERE visit_type = 'inpatient' GROUP BY 1, 2",
  ].map((sql) => ({ label: "count(*) + persons, person-level", measure: "rows" as const, sql })),
  ...[
    "SELECT year_of_birth, sex, region, sum(days_supply) FROM person JOIN drug_exposure USING (person_id) GROUP BY 1, 2, 3",
    "SELECT age_band(year_of_birth, 5), sex, region, sum(days_supply) FROM person JOIN drug_exposure USING (person_id) GROUP BY 1, 2, 3",
    "SELECT age_band(year_of_birth, 10), sex, sum(days_supply) FROM person JOIN drug_exposure USING (person_id) GROUP BY 1, 2",
  ].map((sql) => ({ label: "sum(days_supply), person-level", measure: "sum" as const, sql })),
  ...[
    `SELECT year_of_birth, sex, region, ${HBA1C} FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY 1, 2, 3`,
    `SELECT age_band(year_of_birth, 5), sex, region, ${HBA1C} FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY 1, 2, 3`,
    `SELECT age_band(year_of_birth, 10), sex, ${HBA1C} FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY 1, 2`,
  ].map((sql) => ({ label: "avg(HbA1c), person-level", measure: "avg" as const, sql })),
];

interface Prepared {
  shape: Shape;
  plan: QueryPlan;
  inputs: ValueInput[];
  groups: GroupAggregate[];
  /** Output column of the scored measure. */
  column: number;
  partitions: "public" | "data";
}

const kindOfMeasure: Record<string, Kind> = {
  count_persons: "persons",
  count_rows: "rows",
  sum: "sum",
  avg: "avg",
};

async function prepare(dir: string): Promise<{ catalogue: DatasetCatalogue; list: Prepared[] }> {
  const catalogue = await openDataset(dir);
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  for (const table of catalogue.tables) {
    await connection.run(
      `CREATE VIEW dataset_${table.name} AS SELECT * FROM read_parquet('${dir}/${table.file}')`,
    );
  }
  // Every person consents: the truth is over the whole dataset.
  await connection.run(
    "CREATE TEMP TABLE consent_all AS SELECT person_id, (row_number() OVER (ORDER BY person_id) - 1)::INTEGER AS idx FROM dataset_person",
  );
  const list: Prepared[] = [];
  for (const shape of shapes) {
    const started = Date.now();
    const parsed = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [
      shape.sql,
    ]);
    const plan = planFromParseTree(JSON.parse(String(parsed.getRows()[0]?.[0])), catalogue);
    const bounds = contributionBounds(plan, {
      personTableVerified: true,
      contributionCap: GOVERNED_DEFAULTS.contributionCap,
      catalogue,
    });
    const compiled = compileGuarded(plan, catalogue, {
      consent: { consentTable: "consent_all", materialised: {} },
      runTable: "run",
      consentedCount: catalogue.personCount,
      contributionCap: GOVERNED_DEFAULTS.contributionCap,
      rowsArePersons: bounds.rowsArePersons,
      // The engine derives the salt from the secret per query; the truth barely depends on it.
      ...(bounds.level === "event"
        ? { groupsPerPerson: { max: bounds.maxGroupsPerPerson, salt: "accuracy-bench" } }
        : {}),
    });
    for (const step of [compiled.perPerson, compiled.boundGroupsPerPerson, compiled.groups]) {
      if (step) await connection.run(step.sql, step.params as never);
    }
    const rows = await connection.runAndReadAll(compiled.groupRows.sql);
    const groups = toGroups(
      { rows: rows.getRows() as unknown[][] },
      compiled.dimensionCount,
      compiled.inputs.length,
    );
    for (const drop of compiled.dropRunTables) await connection.run(drop);
    const column = plan.outputs.findIndex(
      (o) =>
        "measure" in o.ref &&
        kindOfMeasure[plan.measures[o.ref.measure]?.kind ?? ""] === shape.measure,
    );
    list.push({
      shape,
      plan,
      inputs: compiled.inputs,
      groups,
      column,
      partitions: publicPartitions(plan, catalogue, MAX_GROUPS) ? "public" : "data",
    });
    process.stderr.write(
      `  ${shape.label}: ${groups.length} groups (${bounds.level}-level) in ${Date.now() - started} ms\n`,
    );
  }
  connection.closeSync();
  instance.closeSync();
  return { catalogue, list };
}

function truth(group: GroupAggregate, kind: Kind): number {
  switch (kind) {
    case "persons":
      return group.persons;
    case "rows":
      return group.rows;
    case "sum":
      return group.sums[0] ?? 0;
    case "avg":
      return (group.sums[0] ?? 0) / Math.max(1, group.counts[0] ?? 0);
  }
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

export interface AccuracyRow {
  label: string;
  size: number;
  cells: number;
  median: number;
  p95: number;
}

/** Relative errors of every released cell over DRAWS fresh secrets, by label and size. */
export function measure(
  list: Prepared[],
  params: DisclosureParams,
  draws: number,
  catalogue: DatasetCatalogue,
): AccuracyRow[] {
  const errors = new Map<string, number[]>();
  const bucketOf = (persons: number) =>
    SIZES.find((s) => Math.abs(persons - s) <= WINDOW * s) ?? undefined;
  for (let d = 0; d < draws; d++) {
    const secret = randomBytes(32);
    for (const p of list) {
      const bounds = contributionBounds(p.plan, {
        personTableVerified: true,
        contributionCap: params.contributionCap,
        catalogue,
      });
      const { threshold } = releaseThreshold(p.plan, p.inputs, params, bounds, p.partitions);
      const inBuckets = p.groups.filter((g) => bucketOf(g.persons) !== undefined);
      // Release decisions are per group, so only the bucketed groups need disclosing; each
      // keeps its own hash so the released rows can be matched back to their truth.
      for (const group of inBuckets) {
        const disclosed = discloseGroups(p.plan, p.inputs, [group], {
          secret,
          noiseKeyPrefix: `accuracy|${p.shape.sql}`,
          params,
          bounds,
          threshold,
        });
        const released = disclosed.rows[0]?.[p.column];
        if (typeof released !== "number") continue;
        const exact = truth(group, p.shape.measure);
        if (exact === 0) continue;
        const key = `${p.shape.label}\u0000${bucketOf(group.persons)}`;
        const bucket = errors.get(key) ?? [];
        bucket.push(Math.abs(released - exact) / Math.abs(exact));
        errors.set(key, bucket);
      }
    }
  }
  const labels = [...new Set(list.map((p) => p.shape.label))];
  return labels.flatMap((label) =>
    SIZES.map((size) => {
      const sorted = (errors.get(`${label}\u0000${size}`) ?? []).sort((a, b) => a - b);
      return {
        label,
        size,
        cells: sorted.length,
        median: quantile(sorted, 0.5),
        p95: quantile(sorted, 0.95),
      };
    }),
  );
}

const percent = (x: number) => (Number.isNaN(x) ? "-" : `${(100 * x).toFixed(1)}%`);

export function printTable(rows: AccuracyRow[]) {
  const labels = [...new Set(rows.map((r) => r.label))];
  const header = [
    "measure (true persons in group)",
    ...SIZES.map((s) => `≈${s.toLocaleString("en-US")}: median / p95`),
  ];
  const body = labels.map((label) => [
    label,
    ...SIZES.map((size) => {
      const r = rows.find((x) => x.label === label && x.size === size);
      return r && r.cells > 0 ? `${percent(r.median)} / ${percent(r.p95)}` : "-";
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const b of body) console.log(line(b));
}

async function main() {
  const dir = await ensureBenchDataset(PERSONS, 42);
  console.log(`dataset: ${dir}`);
  const { catalogue, list } = await prepare(dir);
  const params = GOVERNED_DEFAULTS as DisclosureParams;
  const started = Date.now();
  const rows = measure(list, params, DRAWS, catalogue);
  console.log(
    `\nrelative error of released cells, ${DRAWS} fresh noise secrets, ε ${params.epsilonPerQuery} per query, k ${params.minCellSize}, rounding ${params.roundingBase}, cap ${params.contributionCap} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  printTable(rows);
  const queries = Math.floor(
    (GOVERNED_DEFAULTS.epsilonBudget + 1e-9) / GOVERNED_DEFAULTS.epsilonPerQuery,
  );
  const accounting = queryAccounting(params);
  console.log(
    `\nqueries per researcher and dataset: ${queries} (budget ε ${GOVERNED_DEFAULTS.epsilonBudget}, ε ${GOVERNED_DEFAULTS.epsilonPerQuery} each)`,
  );
  console.log(
    `noise: ${accounting.mechanism}, ρ ${accounting.rho.toPrecision(3)} per query of ${accounting.rhoBudget.toPrecision(3)}; the whole budget is (ε ${GOVERNED_DEFAULTS.epsilonBudget}, δ ${accounting.budgetDelta}) plus the data-partition deltas of the queries`,
  );
  if (accounting.mechanism === "gaussian") {
    // At Laplace's sd for epsilonPerQuery (sqrt 2 / epsilon at sensitivity 1), how many
    // Gaussian queries the same rho budget pays for: rho_q = 1 / (2 sd^2).
    const laplaceSd = Math.SQRT2 / GOVERNED_DEFAULTS.epsilonPerQuery;
    const equalErrorQueries = Math.floor(accounting.rhoBudget * 2 * laplaceSd * laplaceSd);
    console.log(
      `at equal error (Gaussian sd = Laplace's ${laplaceSd.toFixed(1)} at ε ${GOVERNED_DEFAULTS.epsilonPerQuery}) the same budget pays for ${equalErrorQueries} queries`,
    );
  }
}

if (process.argv[1] === import.meta.filename) await main();
