import { createHash } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { computeContentHash } from "@opencohort/validators/content-hash";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateCohort } from "./generate-cohort";
import { MANIFEST_FILE, verifyDatasetFolder } from "./manifest";
import { makeTemporaryDirectory } from "./testing";

describe("computeContentHash", () => {
  let folder: Awaited<ReturnType<typeof makeTemporaryDirectory>>;
  beforeEach(async () => {
    folder = await makeTemporaryDirectory("hash");
  });
  afterEach(async () => {
    await folder.remove();
  });

  it("follows the documented framing: name, 0x00, u64 BE length, bytes, tables by name", async () => {
    await writeFile(join(folder.path, "person.parquet"), "PP");
    await writeFile(join(folder.path, "measurement.parquet"), "MMM");
    const frame = (name: string, body: string) => {
      const length = Buffer.alloc(8);
      length.writeBigUInt64BE(BigInt(body.length));
      return Buffer.concat([Buffer.from(name), Buffer.from([0]), length, Buffer.from(body)]);
    };
    const expected = createHash("sha256")
      .update(frame("measurement.parquet", "MMM"))
      .update(frame("person.parquet", "PP"))
      .digest("hex");
    const tables = [
      { name: "person", file: "person.parquet" },
      { name: "measurement", file: "measurement.parquet" },
    ];
    expect(await computeContentHash(folder.path, tables)).toBe(`0x${expected}`);
  });
});

describe("verifyDatasetFolder", () => {
  let folder: Awaited<ReturnType<typeof makeTemporaryDirectory>>;
  beforeEach(async () => {
    folder = await makeTemporaryDirectory("verify");
    await generateCohort({ persons: 500, seed: 5, outDir: folder.path });
  });
  afterEach(async () => {
    await folder.remove();
  });

  it("accepts an untouched folder", async () => {
    expect(await verifyDatasetFolder(folder.path)).toMatchObject({ ok: true });
  });

  it("detects a single changed byte in a Parquet file", async () => {
    const path = join(folder.path, "measurement.parquet");
    const bytes = await readFile(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    const result = await verifyDatasetFolder(folder.path);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringContaining("content hash mismatch"),
    ]);
  });

  it("detects a missing file and a tampered manifest", async () => {
    await rm(join(folder.path, "visit_occurrence.parquet"));
    const missing = await verifyDatasetFolder(folder.path);
    expect(missing.ok ? [] : missing.problems).toEqual(["visit_occurrence.parquet is missing"]);

    const manifestPath = join(folder.path, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    manifest.tables[0].file = "../etc.parquet";
    await writeFile(manifestPath, JSON.stringify(manifest));
    const tampered = await verifyDatasetFolder(folder.path);
    expect(tampered.ok).toBe(false);
    expect(tampered.ok ? [] : tampered.problems[0]).toMatch(/invalid at tables\.0\.file/);
  });
});
