import { appendFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateCohort, computeContentHash as synthContentHash } from "@opencohort/synth";
import { computeContentHash } from "@opencohort/validators/content-hash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, writeStandardFixture } from "../../test/fixtures";
import { DatasetOpenError, openDataset, publicCatalogue } from "./dataset";

let dir: string;
beforeAll(async () => {
  dir = await writeStandardFixture();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("openDataset", () => {
  it("exposes tables, columns, types and declared bounds", async () => {
    const catalogue = await openDataset(dir);
    expect(catalogue.tables.map((t) => t.name)).toEqual([
      "person",
      "condition_occurrence",
      "drug_exposure",
      "measurement",
      "visit_occurrence",
    ]);
    const measurement = catalogue.tables.find((t) => t.name === "measurement");
    expect(measurement?.columns.find((c) => c.name === "value_as_number")).toEqual({
      name: "value_as_number",
      type: "DOUBLE",
      bounds: { min: 0, max: 50 },
    });
    expect(catalogue.referenceYear).toBe(2026);
    const shown = JSON.stringify(publicCatalogue(catalogue));
    expect(shown).not.toContain(dir);
    expect(shown).not.toContain(".parquet");
  });

  it("refuses a dataset whose files do not match the content hash", async () => {
    const tampered = await writeStandardFixture();
    await appendFile(join(tampered, "person.parquet"), "x");
    await expect(openDataset(tampered)).rejects.toBeInstanceOf(DatasetOpenError);
    await rm(tampered, { recursive: true, force: true });
  });

  it("refuses a missing or invalid manifest", async () => {
    const empty = await makeTempDir();
    await expect(openDataset(empty)).rejects.toThrow(/manifest/);
    await writeFile(join(empty, "manifest.json"), JSON.stringify({ format: "other" }));
    await expect(openDataset(empty)).rejects.toThrow(/invalid/);
    await rm(empty, { recursive: true, force: true });
  });
});

describe("compatibility with @opencohort/synth", () => {
  it("computes the same content hash and opens a generated dataset", async () => {
    const out = await makeTempDir("oc-synth-");
    try {
      const manifest = await generateCohort({ persons: 300, seed: 7, outDir: out });
      expect(await computeContentHash(out, manifest.tables)).toBe(
        await synthContentHash(out, manifest.tables),
      );
      const catalogue = await openDataset(out);
      expect(catalogue.contentHash).toBe(manifest.contentHash);
      expect(catalogue.schemaVersion).toBe("omop-lite/2");
      // omop-lite/2 keeps its layout: a manifest that drops the concept id is refused.
      const conditions = manifest.tables.find((t) => t.name === "condition_occurrence");
      if (conditions)
        conditions.columns = conditions.columns.filter((c) => c.name !== "condition_concept_id");
      await writeFile(join(out, "manifest.json"), JSON.stringify(manifest));
      await expect(openDataset(out)).rejects.toThrow(
        /omop-lite\/2 layout: table condition_occurrence has columns/,
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
