import type { DisclosureParamsInput } from "@opencohort/validators";
import { InMemoryBudgetLedger } from "../src/budget";
import { feasibilityParams } from "../src/engine";
import { emptyFixtureRows, makeTempDir, writeFixtureDataset } from "./fixtures";
import type { Harness } from "./harness";

/**
 * A reconstruction attack in the way of Dinur and Nissim (2003) and of the attacks on
 * Diffix (Cohen and Nissim; the Diffix Cedar bounty): the attacker knows everything about
 * every person except one hidden bit (here: has type 2 diabetes, condition E11.9), asks for
 * noisy counts of the hidden bit over many pseudo-random subsets of persons, and solves for
 * the bits by least squares.
 *
 * The attacker uses only what a researcher has: SQL the validator accepts, the governed
 * budget, the shared feasibility budget (with SQL at feasibility parameters, a stronger
 * attacker than the API's cohort-only feasibility), subsets formed by predicates on allowed
 * columns (each person's unique visit date, known to the attacker, in an IN list of about
 * half of them), GROUP BY region for several equations per query, and the released
 * uncertainty (the noise sd) to weight the equations. Rephrasing a subset is no help: the
 * canonical form makes it the same noise (rephrasings.test.ts), and a phrasing it does not
 * know pays like a fresh subset, which carries more information.
 */

export const RECONSTRUCTION_PERSONS = 1_000;
const PREVALENCE = 0.3;
const REGIONS = ["east", "north", "south", "west"] as const;
const FIRST_DAY = Date.UTC(2016, 0, 1);
const DAY_MS = 86_400_000;

/** Deterministic PRNG (mulberry32), so dataset and subsets are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ReconstructionWorld {
  dir: string;
  ids: bigint[];
  /** The hidden bit per person (index = position in ids). */
  hidden: boolean[];
  /** What the attacker knows per person: region and the date of their one visit. */
  region: string[];
  visitDate: string[];
}

const isoDay = (i: number) => new Date(FIRST_DAY + i * DAY_MS).toISOString().slice(0, 10);

export async function writeReconstructionWorld(seed = 14): Promise<ReconstructionWorld> {
  const random = prng(seed);
  const rows = emptyFixtureRows();
  const world: Omit<ReconstructionWorld, "dir"> = {
    ids: [],
    hidden: [],
    region: [],
    visitDate: [],
  };
  for (let i = 0; i < RECONSTRUCTION_PERSONS; i++) {
    const id = 100_000 + i;
    const region = REGIONS[Math.floor(random() * REGIONS.length)] ?? "east";
    const hidden = random() < PREVALENCE;
    const day = isoDay(i);
    rows.person.push({
      person_id: id,
      year_of_birth: 1940 + Math.floor(random() * 60),
      sex: random() < 0.5 ? "F" : "M",
      region,
    });
    rows.visit_occurrence.push({
      person_id: id,
      visit_type: "outpatient",
      visit_start_date: day,
      visit_end_date: day,
    });
    if (hidden) {
      rows.condition_occurrence.push({
        person_id: id,
        condition_code: "E11.9",
        condition_start_date: day,
      });
    }
    world.ids.push(BigInt(id));
    world.hidden.push(hidden);
    world.region.push(region);
    world.visitDate.push(day);
  }
  const dir = await makeTempDir("oc-reconstruction-");
  await writeFixtureDataset(dir, rows);
  return { dir, ...world };
}

export interface AttackSettings {
  /** The parameters of paid queries (the governed ones). */
  params: DisclosureParamsInput;
  /** The researcher's epsilon budget on the dataset. */
  budget: number;
  /**
   * The budget each paid query is accounted against (its share of rho; default `budget`).
   * Set it to the default budget with a larger `budget` for more queries at the same noise.
   */
  accountingBudget?: number;
  /** The dataset's shared feasibility budget (0: the attacker does not use feasibility). */
  feasibilityBudget: number;
  /** Seed of the attacker's subsets. */
  seed?: number;
}

export interface AttackReport {
  queries: number;
  equations: number;
  /** Fraction of persons whose hidden bit the attacker guessed right. */
  recovered: number;
  /** Fraction right when guessing the majority value for everyone. */
  baseline: number;
}

interface Equation {
  members: number[];
  value: number;
  variance: number;
}

/** Runs the attack until both budgets are spent, then solves and scores it. */
export async function reconstructionAttack(
  h: Harness,
  world: ReconstructionWorld,
  settings: AttackSettings,
): Promise<AttackReport> {
  const random = prng(settings.seed ?? 1);
  const equations: Equation[] = [];
  let queries = 0;
  const phases = [
    // Each budget's queries are accounted as its share (accounting.ts), as the API runs them.
    {
      params: { ...settings.params, epsilonBudget: settings.accountingBudget ?? settings.budget },
      ledger: new InMemoryBudgetLedger(settings.budget),
    },
    ...(settings.feasibilityBudget > 0
      ? [
          {
            params: {
              ...feasibilityParams(settings.params),
              epsilonBudget: settings.feasibilityBudget,
            },
            ledger: new InMemoryBudgetLedger(settings.feasibilityBudget),
          },
        ]
      : []),
  ];
  for (const phase of phases) {
    for (;;) {
      const subset = world.ids.map(() => random() < 0.5);
      const dates = world.visitDate.filter((_, i) => subset[i]);
      const sql = [
        "SELECT region, count(DISTINCT person_id) FROM person",
        `WHERE person_id IN (SELECT person_id FROM visit_occurrence WHERE visit_start_date IN (${dates.map((d) => `'${d}'`).join(", ")}))`,
        "AND person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'E11.9')",
        "GROUP BY region",
      ].join(" ");
      const outcome = await h.run(sql, {
        params: phase.params,
        ledger: phase.ledger,
        ids: world.ids,
        researcher: "0xattacker",
      });
      if (!outcome.ok) {
        if (outcome.error.code === "budget-exhausted") break;
        throw new Error(`attack query refused: ${JSON.stringify(outcome.error)}`);
      }
      queries++;
      const { rows, uncertainty } = outcome.researcherResult;
      const base = phase.params.roundingBase;
      rows.forEach((row, r) => {
        const [region, count] = row;
        const sd = uncertainty?.[r]?.[1]?.sd;
        if (typeof count !== "number" || sd === undefined) return;
        equations.push({
          members: world.ids.flatMap((_, i) =>
            subset[i] && world.region[i] === region ? [i] : [],
          ),
          value: count,
          // The noise and the rounding step (uniform over one base).
          variance: sd * sd + (base * base) / 12,
        });
      });
    }
  }
  const estimate = solveLeastSquares(world.ids.length, equations);
  const recovered = estimate.filter((x, i) => x > 0.5 === world.hidden[i]).length / estimate.length;
  const positives = world.hidden.filter(Boolean).length / world.hidden.length;
  return {
    queries,
    equations: equations.length,
    recovered,
    baseline: Math.max(positives, 1 - positives),
  };
}

/**
 * Weighted, regularised least squares: minimises sum_j (a_j.x - y_j)^2 / var_j +
 * |x - p|^2 / tau^2, where p is the prevalence the equations imply and tau^2 = p (1 - p) the
 * variance of a bit. With fewer equations than persons this is the minimum-norm answer around
 * p; with many and little noise it is ordinary least squares. Solved by Cholesky.
 */
export function solveLeastSquares(n: number, equations: Equation[]): number[] {
  const totalValue = equations.reduce((s, e) => s + e.value, 0);
  const totalMembers = equations.reduce((s, e) => s + e.members.length, 0);
  const p = Math.min(0.99, Math.max(0.01, totalMembers > 0 ? totalValue / totalMembers : 0.5));
  const priorWeight = 1 / (p * (1 - p));
  const normal = new Float64Array(n * n);
  const rhs = new Float64Array(n).fill(p * priorWeight);
  for (let i = 0; i < n; i++) normal[i * n + i] = priorWeight;
  for (const e of equations) {
    const w = 1 / Math.max(e.variance, 1e-9);
    for (const i of e.members) {
      rhs[i] = (rhs[i] as number) + w * e.value;
      for (const j of e.members) normal[i * n + j] = (normal[i * n + j] as number) + w;
    }
  }
  // In place: normal becomes L with L L^T = normal (lower triangle).
  for (let j = 0; j < n; j++) {
    let d = normal[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (normal[j * n + k] as number) ** 2;
    const ljj = Math.sqrt(d);
    normal[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = normal[i * n + j] as number;
      for (let k = 0; k < j; k++)
        s -= (normal[i * n + k] as number) * (normal[j * n + k] as number);
      normal[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = rhs[i] as number;
    for (let k = 0; k < i; k++) s -= (normal[i * n + k] as number) * (y[k] as number);
    y[i] = s / (normal[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (normal[k * n + i] as number) * (x[k] as number);
    x[i] = s / (normal[i * n + i] as number);
  }
  return [...x];
}
