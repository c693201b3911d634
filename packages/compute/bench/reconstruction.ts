/**
 * pnpm bench:reconstruction: the reconstruction attack of test/reconstruction.ts at the
 * governed defaults, at ten times the default budget, and against a configuration without
 * meaningful noise (epsilon 10 per query, k 2, no rounding) given as many queries as the
 * 10x attacker: how much of a hidden bit over 1,000 persons least squares recovers, against
 * guessing the majority value. Figures, not assertions (the test asserts the defaults).
 */
import { rm } from "node:fs/promises";
import { createHarness } from "../test/harness";
import {
  type AttackSettings,
  reconstructionAttack,
  writeReconstructionWorld,
} from "../test/reconstruction";
import { GOVERNED_DEFAULTS } from "./accuracy";

const world = await writeReconstructionWorld();
const h = await createHarness({ dir: world.dir, ids: world.ids });
const governed = {
  minCellSize: GOVERNED_DEFAULTS.minCellSize,
  roundingBase: GOVERNED_DEFAULTS.roundingBase,
  epsilonPerQuery: GOVERNED_DEFAULTS.epsilonPerQuery,
  contributionCap: GOVERNED_DEFAULTS.contributionCap,
};
const budget = GOVERNED_DEFAULTS.epsilonBudget;
const configurations: Array<[string, AttackSettings]> = [
  ["governed defaults", { params: governed, budget, feasibilityBudget: 10 }],
  [
    "10x the queries at the default noise (rho x10: ε 18.4 at δ 1e-6)",
    { params: governed, budget: 10 * budget, accountingBudget: budget, feasibilityBudget: 10 },
  ],
  [
    "10x the default ε budget (ε 50: rho x47)",
    { params: governed, budget: 10 * budget, feasibilityBudget: 10 },
  ],
  [
    "no noise (ε 10, k 2, rounding 1), 600 queries",
    {
      params: { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10, contributionCap: 10 },
      budget: 6000,
      accountingBudget: 10,
      feasibilityBudget: 0,
    },
  ],
];
try {
  console.log("| attacker | queries | equations | recovered | majority baseline |");
  console.log("|---|---|---|---|---|");
  for (const [name, settings] of configurations) {
    const started = Date.now();
    const report = await reconstructionAttack(h, world, settings);
    console.log(
      `| ${name} | ${report.queries} | ${report.equations} | ${(100 * report.recovered).toFixed(1)}% | ${(100 * report.baseline).toFixed(1)}% |`,
    );
    process.stderr.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
} finally {
  await h.close();
  await rm(world.dir, { recursive: true, force: true });
}
