import { rm } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateCohort } from "@opencohort/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/fixtures";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import { type DatasetCatalogue, openDataset } from "../catalogue/dataset";
import { cohortToSql, parseCohortDefinition } from "../cohort/compile";
import { canonicalHash } from "./canonical";

/**
 * Queries that speak concepts, on a synthetic omop-lite/2 dataset (its ICD-10 and ATC
 * hierarchy ships as concept_ancestor): descendant_of plans as the concept set it stands for.
 */
let dir: string;
let catalogue: DatasetCatalogue;
let parser: TestParser;
/** concept id by "VOCABULARY:code", read from the dataset's own concept table. */
const conceptIds = new Map<string, number>();

beforeAll(async () => {
  dir = await makeTempDir("oc-concepts-");
  await generateCohort({ persons: 300, seed: 11, outDir: dir });
  catalogue = await openDataset(dir);
  parser = await TestParser.create();
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    "SELECT vocabulary_id || ':' || concept_code, concept_id FROM read_parquet($path)",
    { path: join(dir, "concept.parquet") },
  );
  for (const [key, id] of reader.getRowsJS()) conceptIds.set(String(key), Number(id));
  connection.closeSync();
  instance.closeSync();
}, 60_000);
afterAll(async () => {
  parser?.close();
  await rm(dir, { recursive: true, force: true });
});

const id = (key: string) => {
  const value = conceptIds.get(key);
  if (value === undefined) throw new Error(`no concept ${key}`);
  return value;
};
const hash = async (sql: string) => canonicalHash(await parser.plan(sql, catalogue));

describe("descendant_of", () => {
  it("plans as the concept and every concept below it in the shipped hierarchy", async () => {
    const diabetes = ["ICD10:E11", "ICD10:E11.9", "ICD10:E11.65"].map(id);
    expect(
      await hash(
        `SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE descendant_of(condition_concept_id, ${id("ICD10:E11")})`,
      ),
    ).toBe(
      await hash(
        `SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_concept_id IN (${diabetes.join(", ")})`,
      ),
    );
    // A leaf is only itself; an ATC group reaches its substances.
    expect(
      await hash(
        `SELECT count(*) FROM condition_occurrence WHERE descendant_of(condition_concept_id, ${id("ICD10:E11.9")})`,
      ),
    ).toBe(
      await hash(
        `SELECT count(*) FROM condition_occurrence WHERE condition_concept_id = ${id("ICD10:E11.9")}`,
      ),
    );
    const biguanides = await hash(
      `SELECT count(*) FROM drug_exposure WHERE descendant_of(drug_concept_id, ${id("ATC:A10BA")})`,
    );
    expect(biguanides).toBe(
      await hash(
        `SELECT count(*) FROM drug_exposure WHERE drug_concept_id IN (${id("ATC:A10BA")}, ${id("ATC:A10BA02")})`,
      ),
    );
  });

  it("works inside a membership, the way the cohort builder writes it", async () => {
    const sql = `SELECT sex, count(DISTINCT person_id) FROM person WHERE person_id IN
      (SELECT person_id FROM condition_occurrence WHERE descendant_of(condition_concept_id, ${id("ICD10:I10")}, ${id("ICD10:E11")}))
      GROUP BY sex`;
    expect(await parser.rule(sql, catalogue)).toBe("ok");
  });

  it("is refused on a column that is not a concept id, and on a dataset without a vocabulary", async () => {
    expect(
      await parser.rule(
        "SELECT count(*) FROM person WHERE descendant_of(year_of_birth, 1950)",
        catalogue,
      ),
    ).toBe("where-predicates");
    expect(
      await parser.rule(
        "SELECT count(*) FROM condition_occurrence WHERE descendant_of(condition_code, 1)",
        fixtureCatalogue(),
      ),
    ).toBe("where-predicates");
  });
});

describe("the cohort builder", () => {
  it("compiles concepts with descendants, and vocabulary-spelled code prefixes", async () => {
    const definition = parseCohortDefinition({
      inclusion: [
        { domain: "condition", concepts: [{ id: id("ICD10:E11") }] },
        { domain: "drug", codes: ["ATC:A10B*"] },
      ],
      exclusion: [{ domain: "condition", codes: ["ICD10:E10*"] }],
      output: { groupBy: ["sex", "age_band"] },
    });
    const sql = cohortToSql(definition, catalogue);
    expect(sql).toContain(`descendant_of(condition_concept_id, ${id("ICD10:E11")})`);
    expect(sql).toContain("drug_vocabulary IN ('ATC') AND drug_code LIKE 'A10B%'");
    expect(sql).toContain(
      "condition_vocabulary IN ('ICD10', 'ICD10CM') AND condition_code LIKE 'E10%'",
    );
    expect(await parser.rule(sql, catalogue)).toBe("ok");
    // The same definition spelled with codes plans like the concept version.
    const byCodes = cohortToSql(
      parseCohortDefinition({
        inclusion: [
          {
            domain: "condition",
            concepts: [
              { id: id("ICD10:E11"), descendants: false },
              { id: id("ICD10:E11.9"), descendants: false },
              { id: id("ICD10:E11.65"), descendants: false },
            ],
          },
        ],
      }),
      catalogue,
    );
    const byConcept = cohortToSql(
      parseCohortDefinition({
        inclusion: [{ domain: "condition", concepts: [{ id: id("ICD10:E11") }] }],
      }),
      catalogue,
    );
    expect(await hash(byConcept)).toBe(await hash(byCodes));
  });

  it("refuses a criterion that mixes codes and concepts, or codes of two vocabularies", () => {
    expect(() =>
      parseCohortDefinition({
        inclusion: [{ domain: "condition", codes: ["E11*"], concepts: [{ id: 1 }] }],
      }),
    ).toThrow(/codes or concepts/);
    expect(() =>
      parseCohortDefinition({
        inclusion: [{ domain: "drug", codes: ["ATC:A10*", "RxNorm:6809"] }],
      }),
    ).toThrow(/share one vocabulary/);
  });
});
