import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateCohort } from "@opencohort/synth";
import { type DatasetManifest, datasetManifestSchema } from "@opencohort/validators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/fixtures";
import { conceptsByCode, MAX_CONCEPT_PAGE, searchConcepts } from "./vocabulary";

/** Two synthetic omop-lite/2 versions of different persons: the vocabulary is the same. */
let small: { dir: string; manifest: DatasetManifest };
let other: { dir: string; manifest: DatasetManifest };
/** Every shipped concept as [id, name, vocabulary, code, domain], read with DuckDB directly. */
let shipped: [number, string, string, string, string][];

async function cohort(persons: number, seed: number) {
  const dir = await makeTempDir("oc-vocabulary-");
  await generateCohort({ persons, seed, outDir: dir, threads: 1 });
  const manifest = datasetManifestSchema.parse(
    JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")),
  );
  return { dir, manifest };
}

beforeAll(async () => {
  [small, other] = await Promise.all([cohort(40, 5), cohort(200, 6)]);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    "SELECT concept_id, concept_name, vocabulary_id, concept_code, domain_id FROM read_parquet($path) ORDER BY concept_id",
    { path: join(small.dir, "concept.parquet") },
  );
  shipped = reader
    .getRowsJS()
    .map((row) => [Number(row[0]), String(row[1]), String(row[2]), String(row[3]), String(row[4])]);
  connection.closeSync();
  instance.closeSync();
}, 60_000);
afterAll(async () => {
  await Promise.all([small, other].map((c) => rm(c.dir, { recursive: true, force: true })));
});

describe("conceptsByCode", () => {
  it("names VOCABULARY:CODE from the shipped concept table and leaves out unknown codes", async () => {
    const e11 = shipped.find(([, , vocabulary, code]) => vocabulary === "ICD10" && code === "E11");
    expect(e11).toBeDefined();
    const found = await conceptsByCode(small.dir, small.manifest, [
      { vocabulary: "ICD10", code: "E11" },
      { vocabulary: "ICD10", code: "X99.9" },
      { vocabulary: "SNOMED", code: "E11" },
    ]);
    expect([...(found?.keys() ?? [])]).toEqual(["ICD10:E11"]);
    expect(found?.get("ICD10:E11")).toEqual({
      conceptId: e11?.[0],
      name: e11?.[1],
      vocabulary: "ICD10",
      code: "E11",
      domain: e11?.[4],
    });
  });

  it("has nothing to say about an omop-lite/1 folder (no vocabulary)", async () => {
    expect(
      await conceptsByCode(small.dir, { vocabulary: undefined }, [
        { vocabulary: "ICD10", code: "E11" },
      ]),
    ).toBeUndefined();
  });
});

describe("searchConcepts", () => {
  it("finds names containing every word, case-insensitively, shorter names first", async () => {
    const expected = shipped
      .filter(([, name]) => name.toLowerCase().includes("diabetes"))
      .sort(
        (a, b) => a[1].length - b[1].length || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] - b[0]),
      )
      .map(([id]) => id);
    expect(expected.length).toBeGreaterThan(1);
    const page = await searchConcepts(small.dir, small.manifest, {
      text: "DIABETES",
      offset: 0,
      limit: 50,
    });
    expect(page?.concepts.map((c) => c.conceptId)).toEqual(expected);
    expect(page?.more).toBe(false);
  });

  it("puts an exact code, VOCABULARY:CODE or concept id first", async () => {
    const e11 = shipped.find(([, , vocabulary, code]) => vocabulary === "ICD10" && code === "E11");
    for (const text of ["E11", "ICD10:E11", String(e11?.[0])]) {
      const page = await searchConcepts(small.dir, small.manifest, { text, offset: 0, limit: 5 });
      expect(page?.concepts[0]?.conceptId).toBe(e11?.[0]);
    }
  });

  it("pages with a bounded size and says whether more follow, never how many", async () => {
    const all = shipped.filter(([, , vocabulary]) => vocabulary === "ATC").length;
    expect(all).toBeGreaterThan(3);
    const seen: number[] = [];
    for (let offset = 0; ; offset += 3) {
      const page = await searchConcepts(small.dir, small.manifest, {
        text: "",
        vocabulary: "ATC",
        offset,
        limit: 3,
      });
      expect(Object.keys(page ?? {}).sort()).toEqual(["concepts", "more"]);
      seen.push(...(page?.concepts.map((c) => c.conceptId) ?? []));
      if (!page?.more) break;
    }
    expect(seen.sort((a, b) => a - b)).toEqual(
      shipped.filter(([, , vocabulary]) => vocabulary === "ATC").map(([id]) => id),
    );
    const big = await searchConcepts(small.dir, small.manifest, {
      text: "",
      offset: 0,
      limit: 1e6,
    });
    expect(big?.concepts.length).toBe(Math.min(MAX_CONCEPT_PAGE, shipped.length));
  });

  it("answers the same over versions of other persons (reference data, not the data)", async () => {
    for (const text of ["hypertension", "E1", "ATC group"]) {
      const search = { text, offset: 0, limit: 50 };
      expect(await searchConcepts(other.dir, other.manifest, search)).toEqual(
        await searchConcepts(small.dir, small.manifest, search),
      );
    }
  });
});
