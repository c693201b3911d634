import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FHIR_SAMPLE, sharedDataMissing, TEST_SECRET, temporaryDirectory } from "./testing";

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(
    process.execPath,
    [join(import.meta.dirname, "..", "bin", "opencohort-dataset.mjs"), ...args],
    { encoding: "utf8", env: { ...process.env, ...env } },
  );

describe.skipIf(sharedDataMissing)(`opencohort-dataset CLI ${sharedDataMissing ?? ""}`, () => {
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  beforeAll(async () => {
    work = await temporaryDirectory("cli");
  });
  afterAll(async () => {
    await work?.remove();
  });

  it("imports a FHIR export with progress on stderr and a report on stdout, then verifies it", () => {
    const out = join(work.path, "fhir");
    const imported = cli(["import", "fhir", FHIR_SAMPLE, "--out", out, "--title", "Synthea"], {
      OPENCOHORT_STEWARD_SECRET: TEST_SECRET,
    });
    expect(imported.status).toBe(0);
    expect(imported.stderr).toMatch(/\[\d+\/100\] reading NDJSON/);
    expect(imported.stderr).toMatch(/\[5\/5\] done/);
    expect(imported.stdout).toMatch(/^Imported 13 persons in \d+\.\d s/);
    expect(imported.stdout).toMatch(/Patient\.name \(13\): name/);
    const verified = cli(["verify", out]);
    expect(verified.status).toBe(0);
    expect(verified.stdout).toMatch(
      /: ok \(omop-lite\/2, 13 persons, content hash 0x[0-9a-f]{64}\)/,
    );
  });

  it("refuses without a steward secret, and on bad usage", () => {
    const noSecret = cli(["import", "fhir", FHIR_SAMPLE, "--out", join(work.path, "x")], {
      OPENCOHORT_STEWARD_SECRET: "",
    });
    expect(noSecret.status).toBe(1);
    expect(noSecret.stderr).toMatch(/no steward secret/);
    const usage = cli(["import", "csv", "somewhere"]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/Usage:/);
  });
});
