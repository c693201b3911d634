import { rm } from "node:fs/promises";
import { generateCohort } from "@opencohort/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FixtureRows,
  makeTempDir,
  standardFixture,
  writeFixtureDataset,
} from "../../test/fixtures";
import { type ComputeEngine, createComputeEngine } from "../engine";
import { DatasetOpenError, openDataset, publicCatalogue } from "./dataset";

/**
 * Declared domains are public and the canonical form relies on them, so the engine refuses a
 * dataset whose data breaks them; the steward is told which column and which declaration,
 * never a value.
 */

const SECRET_VALUE = "SECRET-CODE-4711";
const dirs: string[] = [];
let engine: ComputeEngine;
const logs: string[] = [];

beforeAll(() => {
  engine = createComputeEngine({
    logger: {
      warn: (message) => logs.push(message),
      error: (message) => logs.push(message),
    },
    limits: { memoryMb: 256, threads: 1, timeoutMs: 20_000 },
    noiseSecret: "test-secret-0123456789abcdef",
  });
});
afterAll(async () => {
  await engine.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function fixtureWith(change: (rows: FixtureRows) => void): Promise<string> {
  const dir = await makeTempDir("oc-domains-");
  dirs.push(dir);
  const rows = standardFixture();
  change(rows);
  await writeFixtureDataset(dir, rows);
  return dir;
}

async function refusal(dir: string): Promise<string> {
  try {
    await engine.catalogue(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetOpenError);
    return (error as Error).message;
  }
  throw new Error("the dataset was accepted");
}

describe("declared domains are verified at open", () => {
  it("accepts the standard fixture, whose outlier lies outside the (winsorised) numeric bounds", async () => {
    const dir = await fixtureWith(() => undefined);
    const catalogue = await engine.catalogue(dir);
    const person = publicCatalogue(catalogue).tables.find((t) => t.name === "person");
    expect(person?.columns.find((c) => c.name === "sex")).toMatchObject({
      values: ["F", "M"],
      nullable: false,
    });
    const condition = catalogue.tables.find((t) => t.name === "condition_occurrence");
    expect(condition?.columns.find((c) => c.name === "condition_start_date")).toMatchObject({
      dateRange: { min: "2015-01-01", max: "2026-11-20" },
    });
  });

  it("refuses a value outside the declared value set, without naming it", async () => {
    const dir = await fixtureWith((rows) => {
      rows.condition_occurrence.push({
        person_id: 1001,
        condition_code: SECRET_VALUE,
        condition_start_date: "2020-01-01",
      });
    });
    const message = await refusal(dir);
    expect(message).toBe(
      "column condition_occurrence.condition_code holds values outside its declared value set",
    );
    expect(message).not.toContain(SECRET_VALUE);
  });

  it("refuses NULL in a column declared not nullable", async () => {
    const dir = await fixtureWith((rows) => {
      const first = rows.person[0];
      if (first) first.region = null;
    });
    expect(await refusal(dir)).toBe(
      "column person.region holds NULL values but is declared not nullable",
    );
  });

  it("refuses a date outside the declared date range, without naming it", async () => {
    const dir = await fixtureWith((rows) => {
      rows.visit_occurrence.push({
        person_id: 1001,
        visit_type: "outpatient",
        visit_start_date: "2020-01-01",
        visit_end_date: "2031-07-09",
      });
    });
    const message = await refusal(dir);
    expect(message).toBe(
      "column visit_occurrence.visit_end_date holds dates outside its declared date range",
    );
    expect(message).not.toContain("2031");
  });

  it("keeps NULLs possible in nullable numeric columns", async () => {
    const dir = await fixtureWith((rows) => {
      const first = rows.measurement[0];
      if (first) first.value_as_number = null;
    });
    await expect(engine.catalogue(dir)).resolves.toBeDefined();
  });

  it("accepts what the synthetic generator declares", async () => {
    const dir = await makeTempDir("oc-domains-synth-");
    dirs.push(dir);
    await generateCohort({ persons: 3000, seed: 7, outDir: dir, threads: 1 });
    const catalogue = await engine.catalogue(dir);
    const declared = catalogue.tables.flatMap((t) =>
      t.columns.filter((c) => c.values || c.dateRange || c.nullable === false).map((c) => c.name),
    );
    expect(declared).toEqual(expect.arrayContaining(["sex", "condition_code", "visit_end_date"]));
    // openDataset alone (no sandbox) reads the same declarations.
    expect((await openDataset(dir)).tables).toEqual(catalogue.tables);
  });
});
