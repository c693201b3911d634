import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTLIER_ID, standardPersonIds, writeStandardFixture } from "../../test/fixtures";
import { createHarness, expectOk, type Harness } from "../../test/harness";
import { InMemoryBudgetLedger } from "../budget";
import type { DatasetCatalogue } from "../catalogue/dataset";
import { openDataset } from "../catalogue/dataset";
import type { RunOutcome } from "../engine";
import { type RowsResult, SandboxHost } from "./host";

/**
 * Consented subsets materialised once per consent snapshot in the sandbox worker, reused by
 * later queries on the snapshot. Whether a query was answered from them is read from the
 * sandbox's status counters, never from timing.
 */

/** Near-exact parameters: a wrong person counted shows in the numbers. */
const precise = { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 };

/** Every kind of compiled query: one pass over persons, memberships, joins, sums, events. */
const questions = [
  "SELECT sex, age_band(year_of_birth, 10) AS band, count(DISTINCT person_id) FROM person GROUP BY sex, band",
  "SELECT region, count(DISTINCT person_id) FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'E11.9') GROUP BY region",
  "SELECT sex, avg(value_as_number) AS a, count(DISTINCT person_id) FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY sex",
  "SELECT condition_code, count(*), count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code",
  "SELECT drug_code, sum(days_supply) AS s, count(DISTINCT person_id) FROM drug_exposure WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'I10') GROUP BY drug_code",
  "SELECT visit_start_date, count(*) FROM visit_occurrence GROUP BY visit_start_date",
];

const everyone = standardPersonIds();
/** A later snapshot: the outlier and every seventh person withdrew. */
const afterWithdrawals = everyone.filter((id, i) => id !== BigInt(OUTLIER_ID) && i % 7 !== 3);

function answer(outcome: RunOutcome) {
  const { researcherResult, receipt, privateInclusions } = expectOk(outcome);
  return {
    rows: researcherResult.rows,
    uncertainty: researcherResult.uncertainty,
    resultHash: receipt.resultHash,
    personsIncluded: receipt.personsIncluded,
    inclusions: [...privateInclusions.personIds],
  };
}

const materialisation = (h: Harness) => h.engine.sandbox.status().materialisation;

describe("materialised consent snapshots in the engine", () => {
  let dir: string;
  /** Every query filters through the consent table (today's path). */
  let filtered: Harness;
  let materialised: Harness;
  beforeAll(async () => {
    dir = await writeStandardFixture();
    [filtered, materialised] = await Promise.all([
      createHarness({ dir, workers: 1, materialiseMb: 0 }),
      createHarness({ dir, workers: 1 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([filtered.close(), materialised.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("gives identical results, noise and inclusions on both paths", async () => {
    for (const ids of [everyone, afterWithdrawals]) {
      for (const sql of questions) {
        const options = { params: precise, ids, ledger: new InMemoryBudgetLedger(100) };
        const [a, b] = await Promise.all([
          filtered.run(sql, options),
          materialised.run(sql, { ...options, ledger: new InMemoryBudgetLedger(100) }),
        ]);
        expect(answer(b), sql).toEqual(answer(a));
      }
    }
    // Each path was the one it claims: no materialisation at 0 MB, no fallback with a budget.
    expect(materialised.engine.sandbox.status().materialisation).toMatchObject({ fallbacks: 0 });
    expect(materialisation(filtered)).toMatchObject({ built: 0, reused: 0 });
    // A fallback per table joined (memberships read the dataset): 1 + 1 + 2 + 1 + 1 + 1.
    expect(materialisation(filtered).fallbacks).toBe(2 * 7);
    expect(materialisation(filtered).snapshots).toEqual([]);
  });

  it("builds a snapshot's tables on its first query and reuses them for later ones", async () => {
    const ids = everyone.slice(0, 100);
    const before = materialisation(materialised);
    const first = answer(
      await materialised.run(
        "SELECT sex, count(DISTINCT person_id) FROM person JOIN measurement USING (person_id) GROUP BY sex",
        { params: precise, ids },
      ),
    );
    const afterFirst = materialisation(materialised);
    expect(afterFirst.built - before.built).toBe(2);
    expect(afterFirst.reused).toBe(before.reused);
    // Other questions over those tables: nothing is built again.
    const again = answer(
      await materialised.run(
        "SELECT sex, count(DISTINCT person_id) FROM person JOIN measurement USING (person_id) GROUP BY sex",
        { params: precise, ids },
      ),
    );
    await materialised.run("SELECT region, count(*) FROM person GROUP BY region", {
      params: precise,
      ids,
    });
    const afterMore = materialisation(materialised);
    expect(afterMore.built).toBe(afterFirst.built);
    expect(afterMore.reused - afterFirst.reused).toBe(2);
    expect(again).toEqual(first);
    const [snapshot] = afterMore.snapshots;
    expect(snapshot?.tables).toEqual(["measurement", "person"]);
    expect(snapshot?.bytes).toBeGreaterThan(0);
    expect(snapshot?.pinned).toBe(false);
  });

  it("never answers a new snapshot (a consent withdrawn) from the old one's tables", async () => {
    const sql =
      "SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code = 'E11.9'";
    const withOutlier = answer(await materialised.run(sql, { params: precise, ids: everyone }));
    const before = materialisation(materialised);
    const withdrawn = everyone.filter((id) => id !== BigInt(OUTLIER_ID));
    const without = answer(await materialised.run(sql, { params: precise, ids: withdrawn }));
    const after = materialisation(materialised);

    expect(withOutlier.rows).toEqual([[42]]);
    expect(without.rows).toEqual([[41]]);
    expect(withOutlier.inclusions).toContain(BigInt(OUTLIER_ID));
    expect(without.inclusions).not.toContain(BigInt(OUTLIER_ID));
    // Built for the new snapshot, and the old snapshot's tables dropped.
    expect(after.built - before.built).toBe(1);
    expect(after.replaced - before.replaced).toBe(1);
    expect(after.snapshots).toHaveLength(1);
    // The same answer the filtered path gives for the new snapshot.
    expect(without).toEqual(answer(await filtered.run(sql, { params: precise, ids: withdrawn })));
  });
});

describe("the materialisation budget", () => {
  let dirs: string[];
  /** Bytes of the fixture's person and measurement subsets, as built. */
  let personBytes: number;
  let measurementBytes: number;
  beforeAll(async () => {
    dirs = await Promise.all([writeStandardFixture(), writeStandardFixture()]);
    const sizes = await measureTables(dirs[0] as string);
    personBytes = sizes.person;
    measurementBytes = sizes.measurement;
    expect(personBytes).toBeGreaterThan(0);
    expect(measurementBytes).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("evicts the least recently used snapshot, and filters what does not fit", async () => {
    // Room for one person subset, not two, and not a person and a measurement subset.
    const budget = personBytes + Math.min(personBytes, measurementBytes) / 2;
    const h = await createHarness({
      dir: dirs[0],
      workers: 1,
      materialiseMb: budget / (1024 * 1024),
    });
    const reference = await createHarness({ dir: dirs[0], workers: 1, materialiseMb: 0 });
    try {
      const other = await h.engine.catalogue(dirs[1] as string);
      const onOther = (sql: string) =>
        h.engine.run({
          dataset: other,
          query: { sql },
          consentedPersonIds: everyone,
          snapshotBlock: 1n,
          params: precise,
          budget: { ledger: h.ledger, researcher: "0xr", datasetId: "other" },
        });
      const persons = "SELECT sex, count(DISTINCT person_id) FROM person GROUP BY sex";
      const expected = answer(await reference.run(persons, { params: precise }));

      expect(answer(await h.run(persons, { params: precise }))).toEqual(expected);
      expect(materialisation(h)).toMatchObject({ built: 1, evicted: 0 });
      // The other dataset's snapshot pushes the first one out.
      expect(answer(await onOther(persons))).toEqual(expected);
      expect(materialisation(h)).toMatchObject({ built: 2, evicted: 1 });
      expect(materialisation(h).snapshots.map((s) => s.datasetKey)).toHaveLength(1);
      // Back to the first: built again, the other evicted, the same answer.
      expect(answer(await h.run(persons, { params: precise }))).toEqual(expected);
      expect(materialisation(h)).toMatchObject({ built: 3, evicted: 2, fallbacks: 0 });

      // Person and measurement together exceed the budget: measurement is read filtered
      // while the person subset carries the restriction, with the filtered path's answer, and
      // the snapshot keeps only what fits.
      const joined =
        "SELECT sex, avg(value_as_number) AS a, count(DISTINCT person_id) FROM person JOIN measurement USING (person_id) GROUP BY sex";
      const joinedExpected = answer(await reference.run(joined, { params: precise }));
      expect(answer(await h.run(joined, { params: precise }))).toEqual(joinedExpected);
      const afterJoin = materialisation(h);
      expect(afterJoin.fallbacks).toBe(1);
      expect(afterJoin.snapshots[0]?.tables).toEqual(["person"]);
      expect(afterJoin.snapshots[0]?.refused).toEqual(["measurement"]);
      expect(afterJoin.snapshots[0]?.bytes).toBeLessThanOrEqual(budget);
      // Known not to fit for this snapshot: the next such query builds nothing, reuses the
      // person subset and filters measurement again.
      expect(answer(await h.run(joined, { params: precise }))).toEqual(joinedExpected);
      expect(materialisation(h)).toMatchObject({
        built: afterJoin.built,
        fallbacks: 2,
        reused: afterJoin.reused + 1,
      });
      // The person subset still serves the queries it can.
      expect(answer(await h.run(persons, { params: precise }))).toEqual(expected);
      expect(materialisation(h).reused).toBe(afterJoin.reused + 2);
    } finally {
      await Promise.all([h.close(), reference.close()]);
    }
  });
});

/** Builds each table's subset alone on a bare host and reads its size from the status. */
async function measureTables(dir: string) {
  const catalogue: DatasetCatalogue = await openDataset(dir);
  const host = new SandboxHost({ memoryMb: 256, threads: 1, timeoutMs: 30_000, workers: 1 });
  try {
    await host.openDataset({
      key: "dsize",
      dir: catalogue.dir,
      tables: catalogue.tables.map((t) => ({ name: t.name, file: t.file })),
      storage: "memory",
    });
    const sizes: Record<string, number> = {};
    for (const [i, table] of ["person", "measurement"].entries()) {
      const lease = await host.acquire("size");
      try {
        await lease.ensureConsent("dsize", `c${i}`, () => BigInt64Array.from(everyone));
        await lease.materialise("dsize", `c${i}`, [table]);
      } finally {
        lease.release();
      }
      sizes[table] = host.status().materialisation.snapshots[0]?.bytes ?? 0;
    }
    return { person: sizes.person ?? 0, measurement: sizes.measurement ?? 0 };
  } finally {
    await host.close();
  }
}

describe("materialised snapshots in the host", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeStandardFixture();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hold only consented rows, and a replaced snapshot goes once its lease ends", async () => {
    const catalogue = await openDataset(dir);
    const host = new SandboxHost({ memoryMb: 256, threads: 1, timeoutMs: 30_000, workers: 1 });
    try {
      await host.openDataset({
        key: "dmat",
        dir: catalogue.dir,
        tables: catalogue.tables.map((t) => ({ name: t.name, file: t.file })),
        storage: "memory",
      });
      const lease = await host.acquire("A");
      const older = BigInt64Array.from(everyone);
      const newer = BigInt64Array.from(afterWithdrawals);
      await lease.ensureConsent("dmat", "older", () => older);
      const oldTables = await lease.materialise("dmat", "older", ["condition_occurrence"]);
      await lease.ensureConsent("dmat", "newer", () => newer);
      const newTables = await lease.materialise("dmat", "newer", ["condition_occurrence"]);
      expect(oldTables?.condition_occurrence).toBeDefined();
      expect(newTables?.condition_occurrence).toBeDefined();
      const [counts] = (await lease.exec("dmat", [
        {
          sql: `SELECT count(*), count(*) FILTER (WHERE person_id = ${OUTLIER_ID}), max("consent#idx") FROM ${newTables?.condition_occurrence}`,
          read: "rows",
        },
      ])) as [RowsResult];
      const [[all]] = (
        (await lease.exec("dmat", [
          {
            sql: `SELECT count(*) FROM dataset_condition_occurrence WHERE person_id IN (${afterWithdrawals.join(", ")})`,
            read: "rows",
          },
        ])) as [RowsResult]
      ).map((r) => r.rows) as [[unknown[]]];
      expect(counts.rows[0]?.[0]).toBe(all[0]);
      expect(counts.rows[0]?.[1]).toBe(0n);
      expect(Number(counts.rows[0]?.[2])).toBeLessThan(afterWithdrawals.length);
      // The older snapshot is superseded but still in use by this lease: kept until release.
      const during = host.status().materialisation;
      expect(during.snapshots.map((s) => [s.consentKey, s.pinned])).toEqual([
        ["newer", true],
        ["older", true],
      ]);
      lease.release();

      const next = await host.acquire("B");
      try {
        const after = host.status().materialisation;
        expect(after.replaced).toBe(1);
        expect(after.snapshots.map((s) => [s.consentKey, s.pinned])).toEqual([["newer", false]]);
        const [tables] = (await next.exec("dmat", [
          {
            sql: "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'consented_%' ORDER BY 1",
            read: "rows",
          },
        ])) as [RowsResult];
        expect(tables.rows).toEqual([["consented_newer_condition_occurrence"]]);
      } finally {
        next.release();
      }
    } finally {
      await host.close();
    }
  });
});
