import { describe, expect, it } from "vitest";
import { datasetManifestSchema } from "./dataset";

const validManifest = {
  format: "opencohort-dataset/1",
  schemaVersion: "omop-lite/1",
  title: "Synthetic cohort",
  description: "",
  personCount: 10,
  tables: [
    {
      name: "person",
      file: "person.parquet",
      rowCount: 10,
      columns: [{ name: "year_of_birth", type: "INTEGER", bounds: { min: 1900, max: 2026 } }],
    },
  ],
  contentHash: `0x${"ab".repeat(32)}`,
  createdAt: "2026-11-21T00:00:00.000Z",
};

describe("datasetManifestSchema", () => {
  it("accepts a well-formed manifest", () => {
    expect(datasetManifestSchema.parse(validManifest).personCount).toBe(10);
  });

  it("rejects a table file that escapes the dataset folder", () => {
    const result = datasetManifestSchema.safeParse({
      ...validManifest,
      tables: [{ ...validManifest.tables[0], file: "../secret.parquet" }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["tables", 0, "file"]);
  });

  it("rejects an uppercase content hash", () => {
    const result = datasetManifestSchema.safeParse({
      ...validManifest,
      contentHash: `0x${"AB".repeat(32)}`,
    });
    expect(result.success).toBe(false);
  });
});
