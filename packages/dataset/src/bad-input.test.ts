import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFhir } from "./fhir-import";
import { importOmop } from "./omop-import";
import {
  EUNOMIA,
  FHIR_SAMPLE,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";

/**
 * One test per kind of bad input, each on a copy of a shared sample with one thing broken.
 * Every failed import must leave nothing behind that looks like a dataset.
 */
describe.skipIf(sharedDataMissing)(`bad input ${sharedDataMissing ?? ""}`, () => {
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  beforeAll(async () => {
    work = await temporaryDirectory("bad");
  });
  afterAll(async () => {
    await work?.remove();
  });

  /** A small OMOP folder from Eunomia: person, concept and the first rows of condition_era. */
  async function omopCopy(name: string, edit?: (files: Map<string, string>) => void) {
    const dir = join(work.path, name);
    await mkdir(dir);
    const files = new Map<string, string>();
    for (const table of ["person", "concept"]) {
      files.set(`${table}.csv`, await readFile(join(EUNOMIA, `${table}.csv`), "utf8"));
    }
    const era = (await readFile(join(EUNOMIA, "condition_era.csv"), "utf8")).split("\n");
    files.set("condition_era.csv", `${era.slice(0, 200).join("\n")}\n`);
    edit?.(files);
    for (const [file, text] of files) await writeFile(join(dir, file), text);
    return dir;
  }

  async function expectNothingLeft(outDir: string) {
    const siblings = await readdir(dirname(outDir));
    expect(siblings.filter((name) => name.includes(outDir.split("/").pop() as string))).toEqual([]);
  }

  const importInto = (source: string, name: string) =>
    importOmop(source, {
      outDir: join(work.path, `${name}-out`),
      secret: TEST_SECRET,
      title: name,
    });

  it("a missing required table (person) names the table", async () => {
    const dir = await omopCopy("no-person", (files) => files.delete("person.csv"));
    await expect(importInto(dir, "no-person")).rejects.toThrow(/^required table person is missing/);
    await expectNothingLeft(join(work.path, "no-person-out"));
  });

  it("a malformed line (too few fields) names the file and line", async () => {
    const dir = await omopCopy("short-line", (files) => {
      const lines = (files.get("person.csv") as string).split("\n");
      lines.splice(41, 0, "99999,8507");
      files.set("person.csv", lines.join("\n"));
    });
    await expect(importInto(dir, "short-line")).rejects.toThrow(
      /^person\.csv:42: malformed line: the line does not have the header's 18 fields/,
    );
    await expectNothingLeft(join(work.path, "short-line-out"));
  });

  it("a malformed value (a year that is not a number) names the file, line and column", async () => {
    const dir = await omopCopy("bad-year", (files) => {
      const lines = (files.get("person.csv") as string).split("\n");
      lines[9] = (lines[9] as string).replace(/^(\d+),(\d+),(\d+),/, "$1,$2,19x0,");
      files.set("person.csv", lines.join("\n"));
    });
    await expect(importInto(dir, "bad-year")).rejects.toThrow(
      /^person\.csv:10: malformed line: column year_of_birth does not hold a valid integer/,
    );
  });

  it("an unknown vocabulary names the concept file and line", async () => {
    let line = 0;
    const dir = await omopCopy("unknown-vocabulary", (files) => {
      const used = (files.get("condition_era.csv") as string).split("\n")[1]?.split(",")[2];
      const lines = (files.get("concept.csv") as string).split("\n");
      const index = lines.findIndex((l) => l.startsWith(`${used},`));
      line = index + 1;
      lines[index] = (lines[index] as string).replace(",SNOMED,", ",LocalCodes,");
      files.set("concept.csv", lines.join("\n"));
    });
    expect(line).toBeGreaterThan(1);
    await expect(importInto(dir, "unknown-vocabulary")).rejects.toThrow(
      new RegExp(`^concept\\.csv:${line}: unknown vocabulary "LocalCodes"`),
    );
    await expectNothingLeft(join(work.path, "unknown-vocabulary-out"));
  });

  it("a reference to a missing patient names the file and line", async () => {
    const dir = await omopCopy("missing-patient", (files) => {
      const lines = (files.get("condition_era.csv") as string).split("\n");
      lines.splice(120, 0, "999999,987654321,192671,2010-01-01,2010-01-02,1");
      files.set("condition_era.csv", lines.join("\n"));
    });
    await expect(importInto(dir, "missing-patient")).rejects.toThrow(
      /^condition_era\.csv:121: refers to a patient who is not in the person table/,
    );
    await expectNothingLeft(join(work.path, "missing-patient-out"));
  });

  it("refuses to write into an existing dataset folder", async () => {
    const dir = await omopCopy("existing");
    const outDir = join(work.path, "existing-out");
    await mkdir(outDir);
    await writeFile(join(outDir, "manifest.json"), "{}");
    await expect(importOmop(dir, { outDir, secret: TEST_SECRET, title: "x" })).rejects.toThrow(
      /the output folder exists and is not empty/,
    );
    expect(await readFile(join(outDir, "manifest.json"), "utf8")).toBe("{}");
  });

  /** The FHIR sample with its Patient file and the first lines of Condition. */
  async function fhirCopy(name: string, conditionLines: (lines: string[]) => string[]) {
    const dir = join(work.path, name);
    await mkdir(dir);
    await copyFile(join(FHIR_SAMPLE, "Patient.000.ndjson"), join(dir, "Patient.000.ndjson"));
    const lines = (await readFile(join(FHIR_SAMPLE, "Condition.000.ndjson"), "utf8"))
      .split("\n")
      .slice(0, 20);
    await writeFile(join(dir, "Condition.000.ndjson"), conditionLines(lines).join("\n"));
    return dir;
  }
  const importFhirInto = (source: string, name: string) =>
    importFhir(source, {
      outDir: join(work.path, `${name}-out`),
      secret: TEST_SECRET,
      title: name,
    });

  it("FHIR: a missing Patient file", async () => {
    const dir = join(work.path, "fhir-no-patient");
    await mkdir(dir);
    await copyFile(join(FHIR_SAMPLE, "Condition.000.ndjson"), join(dir, "Condition.000.ndjson"));
    await expect(importFhirInto(dir, "fhir-no-patient")).rejects.toThrow(
      /required table Patient is missing/,
    );
  });

  it("FHIR: a malformed line names the file and line", async () => {
    const dir = await fhirCopy("fhir-malformed", (lines) => {
      lines[6] = (lines[6] as string).slice(0, 80);
      return lines;
    });
    await expect(importFhirInto(dir, "fhir-malformed")).rejects.toThrow(
      /^Condition\.000\.ndjson:7: malformed line: not a JSON object/,
    );
    await expectNothingLeft(join(work.path, "fhir-malformed-out"));
  });

  it("FHIR: a coding in an unknown system names the file, line and system", async () => {
    const dir = await fhirCopy("fhir-unknown-system", (lines) => {
      lines[3] = (lines[3] as string).replaceAll(
        "http://snomed.info/sct",
        "http://example.org/codes",
      );
      return lines;
    });
    await expect(importFhirInto(dir, "fhir-unknown-system")).rejects.toThrow(
      /^Condition\.000\.ndjson:4: unknown vocabulary http:\/\/example\.org\/codes/,
    );
  });

  it("FHIR: a reference to a missing patient names the file and line", async () => {
    const dir = await fhirCopy("fhir-missing-patient", (lines) => {
      lines[11] = (lines[11] as string).replace(
        /"subject":\{"reference":"Patient\/[^"]+"/,
        '"subject":{"reference":"Patient/not-in-this-export"',
      );
      return lines;
    });
    await expect(importFhirInto(dir, "fhir-missing-patient")).rejects.toThrow(
      /^Condition\.000\.ndjson:12: refers to Patient\/not-in-this-export, which is not in the Patient file/,
    );
  });
});
