import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS, type ImportReport } from "./build";
import { DEFAULT_CODE_BOUNDS, declaredCodeBounds } from "./code-bounds";
import { importFhir } from "./fhir-import";
import {
  FHIR_SAMPLE,
  literal,
  openQueries,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";
import { verifyDataset } from "./verify";

/**
 * Declared bounds of measurement values per code. The shared samples carry no numeric
 * observations, so this writes a small FHIR export: the sample's patients with a few LOINC
 * observations of a code with a default range, a code the config declares and a code that
 * has neither.
 */
const LOINC = "http://loinc.org";
const observations: { loinc: string; value: number; unit: string }[] = [
  { loinc: "4548-4", value: 6.1, unit: "%" },
  // Outside the default HbA1c range: kept in the file, clamped by compute when queried.
  { loinc: "4548-4", value: 25, unit: "%" },
  { loinc: "14749-6", value: 5.5, unit: "mmol/L" },
  { loinc: "1751-7", value: 4.2, unit: "g/dL" },
  { loinc: "1751-7", value: 3.9, unit: "g/dL" },
];
const config = { "LOINC:14749-6": { min: 0.5, max: 60, unit: "mmol/L" } };

const valueColumn = (report: ImportReport) =>
  report.manifest.tables
    .find((t) => t.name === "measurement")
    ?.columns.find((c) => c.name === "value_as_number");

describe.skipIf(sharedDataMissing)(`declared bounds per code ${sharedDataMissing ?? ""}`, () => {
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  let withObservations: string;
  let configured: ImportReport;
  let unconfigured: ImportReport;
  let noObservations: ImportReport;

  beforeAll(async () => {
    work = await temporaryDirectory("code-bounds");
    withObservations = join(work.path, "export");
    await mkdir(withObservations);
    await copyFile(
      join(FHIR_SAMPLE, "Patient.000.ndjson"),
      join(withObservations, "Patient.000.ndjson"),
    );
    const patients = (await readFile(join(FHIR_SAMPLE, "Patient.000.ndjson"), "utf8"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line).id as string);
    const lines = observations.map((o, i) =>
      JSON.stringify({
        resourceType: "Observation",
        id: `obs-${i}`,
        status: "final",
        code: { coding: [{ system: LOINC, code: o.loinc, display: o.loinc }] },
        subject: { reference: `Patient/${patients[i % patients.length]}` },
        effectiveDateTime: "2020-03-01T10:00:00Z",
        valueQuantity: { value: o.value, unit: o.unit },
      }),
    );
    await writeFile(join(withObservations, "Observation.000.ndjson"), `${lines.join("\n")}\n`);
    const run = (name: string, source: string, codeBounds?: typeof config) =>
      importFhir(source, {
        outDir: join(work.path, name),
        secret: TEST_SECRET,
        title: name,
        ...(codeBounds ? { codeBounds } : {}),
      });
    [configured, unconfigured, noObservations] = await Promise.all([
      run("configured", withObservations, config),
      run("unconfigured", withObservations),
      run("no-observations", FHIR_SAMPLE, config),
    ]);
  });
  afterAll(async () => {
    await work?.remove();
  });

  it("declares the documented defaults with the steward's config laid over them", () => {
    const declared = valueColumn(configured)?.codeBounds;
    expect(declared).toEqual(declaredCodeBounds(config, DEFAULT_BOUNDS.value_as_number).codeBounds);
    expect(declared?.map((range) => range.code)).toEqual(
      [...Object.keys(DEFAULT_CODE_BOUNDS), "LOINC:14749-6"].sort(),
    );
    expect(declared?.find((range) => range.code === "LOINC:4548-4")).toMatchObject({
      min: DEFAULT_CODE_BOUNDS["LOINC:4548-4"]?.min,
      max: DEFAULT_CODE_BOUNDS["LOINC:4548-4"]?.max,
    });
    expect(valueColumn(configured)?.bounds).toEqual(DEFAULT_BOUNDS.value_as_number);
  });

  it("cuts the default ranges to a column's bounds the steward declared narrower", () => {
    const { codeBounds, columnBounds } = declaredCodeBounds({}, { min: 0, max: 400 });
    expect(columnBounds).toEqual({ min: 0, max: 400 });
    for (const range of codeBounds) {
      const fallback = DEFAULT_CODE_BOUNDS[range.code];
      expect(range.min).toBe(Math.max(fallback?.min ?? Number.NaN, 0));
      expect(range.max).toBe(Math.min(fallback?.max ?? Number.NaN, 400));
    }
    // A default wholly outside the column is left out.
    const narrow = declaredCodeBounds({}, { min: 0, max: 5 }).codeBounds.map((r) => r.code);
    expect(narrow).not.toContain("LOINC:8480-6");
    expect(narrow).toContain("LOINC:4548-4");
  });

  it("declares the same whatever codes the data holds (never from the data)", () => {
    expect(valueColumn(noObservations)).toEqual(valueColumn(configured));
    expect(noObservations.undeclaredBounds.codes).toEqual([]);
  });

  it("reports the codes with values but no declared bounds, which fall back to the column's", () => {
    const declared = new Set(
      declaredCodeBounds(config, DEFAULT_BOUNDS.value_as_number).codeBounds.map(
        (range) => range.code,
      ),
    );
    const expected = (known: Set<string>) => {
      const rows = new Map<string, number>();
      for (const o of observations) {
        const code = `LOINC:${o.loinc}`;
        if (!known.has(code)) rows.set(code, (rows.get(code) ?? 0) + 1);
      }
      return [...rows].sort().map(([code, n]) => ({ code, rows: n }));
    };
    expect(configured.undeclaredBounds).toEqual({
      codes: expected(declared),
      fallback: DEFAULT_BOUNDS.value_as_number,
    });
    expect(configured.undeclaredBounds.codes.length).toBeGreaterThan(0);
    const withoutConfig = new Set(
      declaredCodeBounds(undefined, DEFAULT_BOUNDS.value_as_number).codeBounds.map(
        (range) => range.code,
      ),
    );
    expect(unconfigured.undeclaredBounds.codes).toEqual(expected(withoutConfig));
  });

  it("widens the column's bounds to cover a configured range, and keeps the file's values as they are", async () => {
    const wide = await importFhir(withObservations, {
      outDir: join(work.path, "wide"),
      secret: TEST_SECRET,
      title: "wide",
      codeBounds: { ...config, "LOINC:1751-7": { min: 0, max: 5_000 } },
    });
    expect(valueColumn(wide)?.bounds).toEqual({ min: 0, max: 5_000 });
    expect(wide.undeclaredBounds.codes).toEqual([]);
    expect(await verifyDataset(wide.outDir)).toMatchObject({ ok: true });
    const db = await openQueries();
    try {
      // Compute clamps at query time; the file keeps what the source said.
      expect(
        await db.number(
          `SELECT max(value_as_number) FROM read_parquet(${literal(join(configured.outDir, "measurement.parquet"))})
           WHERE measurement_code = '4548-4'`,
        ),
      ).toBe(Math.max(...observations.filter((o) => o.loinc === "4548-4").map((o) => o.value)));
    } finally {
      db.close();
    }
  });
});
