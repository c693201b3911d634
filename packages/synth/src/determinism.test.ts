import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCohort } from "./generate-cohort";
import { makeTemporaryDirectory } from "./testing";

describe("determinism", () => {
  const folders: Awaited<ReturnType<typeof makeTemporaryDirectory>>[] = [];
  const generate = async (
    seed: number,
    threads: number,
    limits: { memoryLimitMb?: number; slicePersons?: number } = {},
  ) => {
    const folder = await makeTemporaryDirectory(`seed${seed}-t${threads}`);
    folders.push(folder);
    const manifest = await generateCohort({
      persons: 3000,
      seed,
      outDir: folder.path,
      threads,
      ...limits,
      createdAt: new Date("2026-01-01T00:00:00Z"),
    });
    return { manifest, dir: folder.path };
  };
  let first: Awaited<ReturnType<typeof generate>>;
  let again: Awaited<ReturnType<typeof generate>>;
  let otherSeed: Awaited<ReturnType<typeof generate>>;

  beforeAll(async () => {
    first = await generate(11, 1);
    // 3,000 persons in slices of 700: five slices, the last one short.
    again = await generate(11, 2, { memoryLimitMb: 256, slicePersons: 700 });
    otherSeed = await generate(12, 2);
  });

  afterAll(async () => {
    await Promise.all(folders.map((folder) => folder.remove()));
  });

  it("gives byte-identical files and the same hash for the same seed, whatever the threads, memory limit and slicing", async () => {
    expect(again.manifest).toEqual(first.manifest);
    for (const table of first.manifest.tables) {
      const [a, b] = await Promise.all([
        readFile(join(first.dir, table.file)),
        readFile(join(again.dir, table.file)),
      ]);
      expect(a.equals(b), table.file).toBe(true);
    }
    const [manifestA, manifestB] = await Promise.all([
      readFile(join(first.dir, "manifest.json"), "utf8"),
      readFile(join(again.dir, "manifest.json"), "utf8"),
    ]);
    expect(manifestA).toBe(manifestB);
  });

  it("gives different data and a different hash for a different seed", () => {
    expect(otherSeed.manifest.contentHash).not.toBe(first.manifest.contentHash);
    const rowCounts = (manifest: typeof first.manifest) =>
      manifest.tables.map((table) => table.rowCount);
    expect(rowCounts(otherSeed.manifest)).not.toEqual(rowCounts(first.manifest));
  });
});
