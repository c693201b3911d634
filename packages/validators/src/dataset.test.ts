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

describe("declared column domains", () => {
  const withColumn = (column: Record<string, unknown>) => ({
    ...validManifest,
    tables: [{ ...validManifest.tables[0], columns: [column] }],
  });
  const ok = (column: Record<string, unknown>) =>
    datasetManifestSchema.safeParse(withColumn(column)).success;

  it("accepts value sets, nullability and date ranges on the right types", () => {
    expect(ok({ name: "sex", type: "VARCHAR", values: ["F", "M"], nullable: false })).toBe(true);
    expect(
      ok({ name: "d", type: "DATE", dateRange: { min: "2015-01-01", max: "2025-12-31" } }),
    ).toBe(true);
    expect(ok({ name: "x", type: "DOUBLE", bounds: { min: 0.5, max: 2.5 } })).toBe(true);
  });

  it("refuses a domain on the wrong type, unsorted or duplicated values, min > max", () => {
    expect(ok({ name: "x", type: "INTEGER", values: ["1"] })).toBe(false);
    expect(ok({ name: "s", type: "VARCHAR", bounds: { min: 0, max: 1 } })).toBe(false);
    expect(
      ok({ name: "s", type: "VARCHAR", dateRange: { min: "2020-01-01", max: "2020-01-02" } }),
    ).toBe(false);
    expect(ok({ name: "s", type: "VARCHAR", values: ["M", "F"] })).toBe(false);
    expect(ok({ name: "s", type: "VARCHAR", values: ["F", "F"] })).toBe(false);
    expect(ok({ name: "s", type: "VARCHAR", values: [] })).toBe(false);
    expect(ok({ name: "s", type: "VARCHAR", values: ["x".repeat(201)] })).toBe(false);
    expect(ok({ name: "x", type: "INTEGER", bounds: { min: 5, max: 1 } })).toBe(false);
    expect(ok({ name: "x", type: "INTEGER", bounds: { min: 0.5, max: 1 } })).toBe(false);
    expect(
      ok({ name: "d", type: "DATE", dateRange: { min: "2021-01-01", max: "2020-01-01" } }),
    ).toBe(false);
    expect(
      ok({ name: "d", type: "DATE", dateRange: { min: "2021-02-30", max: "2022-01-01" } }),
    ).toBe(false);
  });
});
