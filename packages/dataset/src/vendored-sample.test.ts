import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importOmop } from "./omop-import";
import { OMOP_SOURCE_TABLES } from "./omop-tables";
import {
  EUNOMIA,
  literal,
  openQueries,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";
import { VENDORED_EUNOMIA } from "./vendored-sample";
import { verifyDataset } from "./verify";

const createdAt = new Date("2026-12-01T00:00:00.000Z");
const gz = (table: string) => literal(join(VENDORED_EUNOMIA, `${table}.csv.gz`));

describe("the vendored Eunomia GiBleed sample (samples/eunomia-gibleed)", () => {
  let db: Awaited<ReturnType<typeof openQueries>>;
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  beforeAll(async () => {
    db = await openQueries();
    work = await temporaryDirectory("vendored");
  });
  afterAll(async () => {
    db?.close();
    await work?.remove();
  });

  it("holds, gzip-compressed, exactly the OMOP tables the importer reads that the source has", async () => {
    const files = (await readdir(VENDORED_EUNOMIA)).filter((f) => f.endsWith(".csv.gz")).sort();
    const tables = files.map((f) => f.replace(/\.csv\.gz$/, ""));
    for (const table of tables) expect(Object.keys(OMOP_SOURCE_TABLES)).toContain(table);
    expect(tables).toEqual(
      expect.arrayContaining([
        "person",
        "concept",
        "concept_ancestor",
        "condition_era",
        "drug_era",
      ]),
    );
  });

  it("imports from .csv.gz into a dataset that verifies, with every person of person.csv.gz", async () => {
    const out = join(work.path, "eunomia");
    const report = await importOmop(VENDORED_EUNOMIA, {
      outDir: out,
      secret: TEST_SECRET,
      title: "Eunomia GiBleed",
      skipOrphans: true,
      createdAt,
    });
    expect(await verifyDataset(out)).toMatchObject({ ok: true });
    expect(report.manifest.personCount).toBe(
      await db.number(`SELECT count(*) FROM ${gz("person")}`),
    );
    expect(report.manifest.personCount).toBeGreaterThan(0);
  }, 60_000);

  it.skipIf(sharedDataMissing)(
    `has the same rows as the shared copy, file by file ${sharedDataMissing ?? ""}`,
    async () => {
      const files = (await readdir(VENDORED_EUNOMIA)).filter((f) => f.endsWith(".csv.gz"));
      for (const file of files) {
        const table = file.replace(/\.csv\.gz$/, "");
        const read = (path: string) =>
          `SELECT * FROM read_csv(${literal(path)}, all_varchar = true)`;
        const vendored = read(join(VENDORED_EUNOMIA, file));
        const shared = read(join(EUNOMIA, `${table}.csv`));
        const rows = `SELECT (SELECT count(*) FROM (${vendored})) AS v, (SELECT count(*) FROM (${shared})) AS s,
          (SELECT count(*) FROM (${vendored} EXCEPT ALL ${shared})) AS only_vendored,
          (SELECT count(*) FROM (${shared} EXCEPT ALL ${vendored})) AS only_shared`;
        const [counts] = await db.rows(rows);
        expect({ table, ...counts }).toEqual({
          table,
          v: counts?.s,
          s: counts?.s,
          only_vendored: 0n,
          only_shared: 0n,
        });
      }
    },
    60_000,
  );
});
