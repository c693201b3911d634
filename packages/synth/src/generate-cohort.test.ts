import { type DatasetManifest, datasetManifestSchema } from "@opencohort/validators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONDITIONS, OBSERVATION_END, OBSERVATION_START, REFERENCE_YEAR } from "./catalog";
import { generateCohort } from "./generate-cohort";
import { readManifest, verifyDatasetFolder } from "./manifest";
import { OUTPUT_TABLES } from "./output-tables";
import { type DatasetQueries, makeTemporaryDirectory, openDatasetQueries } from "./testing";

const PERSONS = 20_000;

describe("a generated 20,000-person cohort", () => {
  let folder: Awaited<ReturnType<typeof makeTemporaryDirectory>>;
  let manifest: DatasetManifest;
  let db: DatasetQueries;
  const progress: { stage: string; done: number; total: number }[] = [];

  beforeAll(async () => {
    folder = await makeTemporaryDirectory("cohort");
    manifest = await generateCohort({
      persons: PERSONS,
      seed: 2026,
      outDir: folder.path,
      onProgress: (update) => progress.push(update),
    });
    db = await openDatasetQueries(folder.path);
  });

  afterAll(async () => {
    db?.close();
    await folder?.remove();
  });

  const num = async (sql: string) => Number(await db.scalar(sql));

  it("writes a manifest that the shared schema accepts", async () => {
    expect(datasetManifestSchema.safeParse(manifest).success).toBe(true);
    expect(await readManifest(folder.path)).toEqual(manifest);
    expect(manifest.schemaVersion).toBe("omop-lite/2");
    expect(manifest.personCount).toBe(PERSONS);
    expect(manifest.generator).toMatchObject({ seed: 2026 });
    expect(manifest.tables.map((table) => table.name)).toEqual(
      OUTPUT_TABLES.map((table) => table.name),
    );
    expect((await verifyDatasetFolder(folder.path)).ok).toBe(true);
  });

  it("reports progress through every stage, monotonically up to the total", () => {
    expect(progress[0]).toMatchObject({ stage: "setup", done: 0 });
    expect(progress.map((update) => update.stage)).toContain("writing measurement");
    const last = progress.at(-1);
    expect(last?.stage).toBe("done");
    expect(last?.done).toBe(last?.total);
    for (let index = 1; index < progress.length; index += 1) {
      expect(progress[index]?.done).toBeGreaterThanOrEqual(progress[index - 1]?.done ?? 0);
    }
  });

  it("declares bounds for the numeric quantities and none for dates or identifiers", () => {
    const bounded = manifest.tables.flatMap((table) =>
      table.columns
        .filter((column) => column.bounds)
        .map((column) => `${table.name}.${column.name}`),
    );
    expect(bounded.sort()).toEqual([
      "drug_exposure.days_supply",
      "measurement.value_as_number",
      "person.year_of_birth",
    ]);
  });

  it("has row counts and column types in the manifest that match the Parquet files", async () => {
    for (const table of manifest.tables) {
      expect(await num(`SELECT count(*) FROM ${table.name}`), table.name).toBe(table.rowCount);
      const described = await db.rows(`DESCRIBE ${table.name}`);
      expect(
        described.map((row) => [row.column_name, row.column_type]),
        table.name,
      ).toEqual(table.columns.map((column) => [column.name, column.type]));
    }
    expect(manifest.tables.find((table) => table.name === "person")?.rowCount).toBe(PERSONS);
  });

  it("keeps every numeric value inside its declared bounds", async () => {
    for (const table of manifest.tables) {
      for (const column of table.columns) {
        if (!column.bounds) continue;
        const [range] = await db.rows(
          `SELECT min(${column.name}) AS low, max(${column.name}) AS high FROM ${table.name}`,
        );
        expect(Number(range?.low)).toBeGreaterThanOrEqual(column.bounds.min);
        expect(Number(range?.high)).toBeLessThanOrEqual(column.bounds.max);
      }
    }
  });

  it("keeps every declared domain: value sets, date ranges and no NULL where declared", async () => {
    const declared = { values: 0, dateRange: 0, notNull: 0 };
    for (const table of manifest.tables) {
      for (const column of table.columns) {
        if (column.nullable === false) {
          declared.notNull++;
          expect(
            await num(`SELECT count(*) FROM ${table.name} WHERE ${column.name} IS NULL`),
            `${table.name}.${column.name}`,
          ).toBe(0);
        }
        if (column.values) {
          declared.values++;
          const rows = await db.rows(`SELECT DISTINCT ${column.name} AS v FROM ${table.name}`);
          const set = new Set(column.values);
          for (const row of rows) expect(set.has(String(row.v)), String(row.v)).toBe(true);
        }
        if (column.dateRange) {
          declared.dateRange++;
          const [range] = await db.rows(
            `SELECT CAST(min(${column.name}) AS VARCHAR) AS low, CAST(max(${column.name}) AS VARCHAR) AS high FROM ${table.name}`,
          );
          expect(String(range?.low) >= column.dateRange.min, `${column.name} min`).toBe(true);
          expect(String(range?.high) <= column.dateRange.max, `${column.name} max`).toBe(true);
        }
      }
    }
    expect(declared).toEqual({ values: 10, dateRange: 7, notNull: 30 });
  });

  it("declares value sets from its vocabulary, including codes the data may not use", () => {
    const conditionCodes = manifest.tables
      .find((table) => table.name === "condition_occurrence")
      ?.columns.find((column) => column.name === "condition_code")?.values;
    expect(conditionCodes).toEqual(
      [...new Set(CONDITIONS.flatMap((condition) => condition.codes.map((c) => c.code)))].sort(),
    );
  });

  it("codes every event with a concept of the shipped vocabulary, in its hierarchy", async () => {
    for (const [table, prefix] of [
      ["condition_occurrence", "condition"],
      ["drug_exposure", "drug"],
      ["measurement", "measurement"],
    ] as const) {
      const mismatched = await num(
        `SELECT count(*) FROM ${table} e LEFT JOIN concept c ON c.concept_id = e.${prefix}_concept_id
         WHERE c.concept_id IS NULL OR c.vocabulary_id <> e.${prefix}_vocabulary
           OR c.concept_code <> e.${prefix}_code`,
      );
      expect(mismatched, table).toBe(0);
    }
    // "E11 and its descendants" reaches every E11.x record through concept_ancestor.
    const viaHierarchy = await num(
      `SELECT count(*) FROM condition_occurrence WHERE condition_concept_id IN (
         SELECT descendant_concept_id FROM concept_ancestor JOIN concept a ON a.concept_id = ancestor_concept_id
         WHERE a.vocabulary_id = 'ICD10' AND a.concept_code = 'E11')`,
    );
    const byPrefix = await num(
      "SELECT count(*) FROM condition_occurrence WHERE condition_code LIKE 'E11%'",
    );
    expect(viaHierarchy).toBe(byPrefix);
    expect(byPrefix).toBeGreaterThan(0);
    const visitsWithoutConcept = await num(
      "SELECT count(*) FROM visit_occurrence v LEFT JOIN concept c ON c.concept_id = v.visit_concept_id WHERE c.concept_id IS NULL",
    );
    expect(visitsWithoutConcept).toBe(0);
  });

  it("uses unique, non-sequential pseudonyms", async () => {
    expect(await num("SELECT count(DISTINCT person_id) FROM person")).toBe(PERSONS);
    const span = await num("SELECT max(person_id) - min(person_id) FROM person");
    expect(span).toBeGreaterThan(1000 * PERSONS);
    const orphans = await num(
      `SELECT count(*) FROM (SELECT person_id FROM condition_occurrence UNION SELECT person_id FROM drug_exposure
         UNION SELECT person_id FROM measurement UNION SELECT person_id FROM visit_occurrence)
       WHERE person_id NOT IN (SELECT person_id FROM person)`,
    );
    expect(orphans).toBe(0);
  });

  it("keeps events inside the observation window and after birth", async () => {
    const dated = [
      ["condition_occurrence", "condition_start_date"],
      ["drug_exposure", "drug_exposure_start_date"],
      ["measurement", "measurement_date"],
      ["visit_occurrence", "visit_start_date"],
      ["visit_occurrence", "visit_end_date"],
    ] as const;
    for (const [table, column] of dated) {
      const outside = await num(
        `SELECT count(*) FROM ${table} JOIN person USING (person_id)
         WHERE ${column} < DATE '${OBSERVATION_START}' OR ${column} > DATE '${OBSERVATION_END}'
            OR year(${column}) < year_of_birth`,
      );
      expect(outside, `${table}.${column}`).toBe(0);
    }
    expect(
      await num("SELECT count(*) FROM visit_occurrence WHERE visit_end_date < visit_start_date"),
    ).toBe(0);
  });

  it("has an age pyramid: a narrow base, a wide middle, few old and one lone oldest person", async () => {
    const share = (sql: string) =>
      num(`SELECT avg(CASE WHEN ${sql} THEN 1.0 ELSE 0 END) FROM person`);
    const age = `(${REFERENCE_YEAR} - year_of_birth)`;
    const children = await share(`${age} < 10`);
    const fifties = await share(`${age} BETWEEN 50 AND 59`);
    const eightyPlus = await share(`${age} >= 80`);
    expect(fifties).toBeGreaterThan(children);
    expect(children).toBeGreaterThan(0.07);
    expect(eightyPlus).toBeGreaterThan(0.02);
    expect(eightyPlus).toBeLessThan(0.1);
    const [oldest] = await db.rows(
      "SELECT year_of_birth, count(*) AS persons FROM person GROUP BY 1 ORDER BY 1 LIMIT 1",
    );
    expect(Number(oldest?.persons)).toBe(1);
    expect(REFERENCE_YEAR - Number(oldest?.year_of_birth)).toBeGreaterThanOrEqual(100);
    // Women outlive men.
    const femaleAmongOld = await num(
      `SELECT avg(CASE WHEN sex = 'F' THEN 1.0 ELSE 0 END) FROM person WHERE ${age} >= 80`,
    );
    expect(femaleAmongOld).toBeGreaterThan(0.55);
  });

  it("makes type 2 diabetes far more common at 60+ than under 30", async () => {
    const prevalence = (where: string) =>
      num(
        `SELECT avg(CASE WHEN person_id IN (SELECT person_id FROM condition_occurrence
                                          WHERE condition_code LIKE 'E11%') THEN 1.0 ELSE 0 END)
         FROM person WHERE ${where}`,
      );
    const young = await prevalence(`${REFERENCE_YEAR} - year_of_birth < 30`);
    const old = await prevalence(`${REFERENCE_YEAR} - year_of_birth >= 60`);
    expect(old).toBeGreaterThan(0.08);
    expect(old).toBeGreaterThan(5 * young);
  });

  it("gives metformin mostly to E11 patients, after diagnosis", async () => {
    const metforminUsersWithE11 = await num(
      `SELECT avg(CASE WHEN person_id IN (SELECT person_id FROM condition_occurrence
                                          WHERE condition_code LIKE 'E11%') THEN 1.0 ELSE 0 END)
       FROM (SELECT DISTINCT person_id FROM drug_exposure WHERE drug_code = 'A10BA02')`,
    );
    expect(metforminUsersWithE11).toBeGreaterThan(0.9);
    const startedAfterDiagnosis = await num(
      `WITH first_e11 AS (SELECT person_id, min(condition_start_date) AS diagnosed
                          FROM condition_occurrence WHERE condition_code LIKE 'E11%' GROUP BY 1),
            first_fill AS (SELECT person_id, min(drug_exposure_start_date) AS started
                           FROM drug_exposure WHERE drug_code = 'A10BA02' GROUP BY 1)
       SELECT avg(CASE WHEN started >= diagnosed THEN 1.0 ELSE 0 END)
       FROM first_fill JOIN first_e11 USING (person_id)`,
    );
    expect(startedAfterDiagnosis).toBeGreaterThan(0.95);
  });

  it("shows higher HbA1c among E11 patients and higher blood pressure with I10", async () => {
    const meanBy = (code: string, condition: string) =>
      db.rows(
        `SELECT person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE $condition)
                  AS has_condition,
                avg(value_as_number) AS mean_value
         FROM measurement WHERE measurement_code = $code GROUP BY 1 ORDER BY 1`,
        { code, condition: `${condition}%` },
      );
    const [withoutE11, withE11] = await meanBy("4548-4", "E11");
    expect(Number(withE11?.mean_value) - Number(withoutE11?.mean_value)).toBeGreaterThan(1);
    expect(Number(withoutE11?.mean_value)).toBeLessThan(6.3);
    const [withoutI10, withI10] = await meanBy("8480-6", "I10");
    expect(Number(withI10?.mean_value) - Number(withoutI10?.mean_value)).toBeGreaterThan(8);
  });

  it("clusters comorbidities: hypertension and CKD are more common with diabetes", async () => {
    const shareWith = (target: string, among: string, negate: boolean) =>
      num(
        `SELECT avg(CASE WHEN person_id IN (SELECT person_id FROM condition_occurrence
                                            WHERE condition_code LIKE '${target}%') THEN 1.0 ELSE 0 END)
         FROM person WHERE ${REFERENCE_YEAR} - year_of_birth >= 40 AND person_id ${negate ? "NOT IN" : "IN"}
           (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE '${among}%')`,
      );
    expect(await shareWith("I10", "E11", false)).toBeGreaterThan(
      1.3 * (await shareWith("I10", "E11", true)),
    );
    expect(await shareWith("N18", "E11", false)).toBeGreaterThan(
      1.5 * (await shareWith("N18", "E11", true)),
    );
    const youngestCopd = await num(
      `SELECT min(${REFERENCE_YEAR} - year_of_birth) FROM person
       WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'J44%')`,
    );
    expect(youngestCopd).toBeGreaterThanOrEqual(40);
  });

  it("keeps rare conditions rare", async () => {
    const rarePersons = await num(
      `SELECT count(DISTINCT person_id) FROM condition_occurrence
       WHERE condition_code IN ('G12.2', 'E84.9', 'D66', 'E75.22')`,
    );
    // About 15 per 100,000 together; 20,000 persons expect ~3.
    expect(rarePersons).toBeLessThanOrEqual(12);
    const commonest = await num(
      `SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code = 'I10'`,
    );
    expect(commonest).toBeGreaterThan(2000);
  });
});
