import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateCohort } from "@opencohort/synth";
import { type DatasetManifest, datasetManifestSchema } from "@opencohort/validators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/fixtures";
import { createHarness, expectOk, type Harness } from "../../test/harness";
import { codeBoundsClause, DatasetOpenError, openDataset } from "./dataset";

/**
 * Declared bounds per code (manifest codeBounds on measurement.value_as_number): the sandbox
 * clamps each value into its code's range when it loads the table. A synthetic cohort's HbA1c
 * (LOINC 4548-4) is declared [3.5, 5] here, far below most of its values.
 */
const HBA1C = { code: "LOINC:4548-4", min: 3.5, max: 5, unit: "%" };
const precise = { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 };

let dir: string;
let raw: { code: string; persons: number; above: number }[];
let h: Harness;

async function rows(sql: string) {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

beforeAll(async () => {
  dir = await makeTempDir("oc-code-bounds-");
  await generateCohort({ persons: 400, seed: 21, outDir: dir, threads: 1 });
  const path = join(dir, "manifest.json");
  const manifest: DatasetManifest = datasetManifestSchema.parse(
    JSON.parse(await readFile(path, "utf8")),
  );
  const value = manifest.tables
    .find((t) => t.name === "measurement")
    ?.columns.find((c) => c.name === "value_as_number");
  if (!value?.bounds) throw new Error("the synthetic measurement table has no bounded value");
  value.codeBounds = [HBA1C];
  // The content hash covers the Parquet files, not the manifest's declarations.
  await writeFile(path, JSON.stringify(manifest, null, 2));
  const measurement = literal(join(dir, "measurement.parquet"));
  raw = (
    await rows(
      `SELECT measurement_vocabulary || ':' || measurement_code AS code,
         count(DISTINCT person_id)::INTEGER AS persons,
         count(DISTINCT person_id) FILTER (WHERE value_as_number >= ${HBA1C.max})::INTEGER AS above
       FROM read_parquet(${measurement}) GROUP BY 1 ORDER BY 1`,
    )
  ).map((row) => ({
    code: String(row.code),
    persons: Number(row.persons),
    above: Number(row.above),
  }));
  const persons = await rows(
    `SELECT person_id FROM read_parquet(${literal(join(dir, "person.parquet"))})`,
  );
  h = await createHarness({ dir, ids: persons.map((row) => BigInt(row.person_id as bigint)) });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

describe("declared bounds per code", () => {
  it("clamps values of a declared code into its range and leaves other codes as they are", async () => {
    const catalogue = await openDataset(dir);
    const table = catalogue.tables.find((t) => t.name === "measurement");
    if (!table) throw new Error("no measurement table");
    const clause = codeBoundsClause(table);
    expect(clause).toMatch(/^REPLACE \(/);
    const summary = (select: string) =>
      rows(
        `SELECT measurement_vocabulary || ':' || measurement_code AS code, min(value_as_number) AS lo,
           max(value_as_number) AS hi, sum(value_as_number) AS total
         FROM (${select}) GROUP BY 1 ORDER BY 1`,
      );
    const source = `read_parquet(${literal(join(dir, "measurement.parquet"))})`;
    const before = await summary(`SELECT * FROM ${source}`);
    const after = await summary(`SELECT * ${clause} FROM ${source}`);
    expect(after.map((r) => r.code)).toEqual(before.map((r) => r.code));
    for (const [index, row] of after.entries()) {
      if (row.code === HBA1C.code) {
        expect(Number(row.lo)).toBeGreaterThanOrEqual(HBA1C.min);
        expect(Number(row.hi)).toBeLessThanOrEqual(HBA1C.max);
        expect(Number(before[index]?.hi)).toBeGreaterThan(HBA1C.max);
      } else {
        expect(row).toEqual(before[index]);
      }
    }
    expect(codeBoundsClause(catalogue.tables.find((t) => t.name === "person") ?? table)).toBe("");
  });

  it("is what queries see: nothing above the code's bound, the clamped values at it", async () => {
    const hba1c = raw.find((r) => r.code === HBA1C.code);
    expect(hba1c?.above).toBeGreaterThan(20);
    const count = async (where: string) => {
      const outcome = expectOk(
        await h.run(
          `SELECT count(DISTINCT person_id) AS n FROM measurement WHERE measurement_code = '4548-4' AND ${where}`,
          { params: precise },
        ),
      );
      return Number(outcome.researcherResult.rows[0]?.[0] ?? 0);
    };
    expect(await count(`value_as_number > ${HBA1C.max}`)).toBeLessThan(2);
    // The clamped values sit at the bound: as many persons as had a value at or above it.
    expect(
      Math.abs((await count(`value_as_number >= ${HBA1C.max}`)) - (hba1c?.above ?? 0)),
    ).toBeLessThan(5);
    expect(
      Math.abs((await count(`value_as_number = ${HBA1C.max}`)) - (hba1c?.above ?? 0)),
    ).toBeLessThan(5);
  });

  it("refuses per-code bounds outside the column's bounds", async () => {
    const path = join(dir, "manifest.json");
    const text = await readFile(path, "utf8");
    try {
      const manifest = JSON.parse(text);
      const value = manifest.tables
        .find((t: { name: string }) => t.name === "measurement")
        .columns.find((c: { name: string }) => c.name === "value_as_number");
      value.codeBounds = [{ ...HBA1C, max: value.bounds.max + 1 }];
      await writeFile(path, JSON.stringify(manifest));
      await expect(openDataset(dir)).rejects.toThrow(DatasetOpenError);
      await expect(openDataset(dir)).rejects.toThrow(
        /LOINC:4548-4: lies outside the column's bounds/,
      );
    } finally {
      await writeFile(path, text);
    }
  });
});
