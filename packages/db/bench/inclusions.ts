/**
 * QueryInclusion indexes (figures, not assertions), on SQLite files in a temp dir. A table of
 * ~450k inclusions (250 queries × ~1,800 of 2,000 persons, one dataset) is built once; each
 * index set (VARIANTS) is measured on its own copy, with what each index exists for:
 *
 * - one more query's inclusions written in a transaction (every query.submit does this),
 * - the operator's epoch close read (the groupBy of apps/operator/src/epochs/close.ts), for
 *   the epoch holding all rows and for the last of ten epochs,
 * - a patient's "who used my data" read (consent.whoUsedMyData's query).
 *
 *   pnpm --filter @opencohort/db bench
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { insertQueryInclusions, sqlDialectOf } from "../src/bulk";
import { createDb, type Db } from "../src/client";
import { migrate } from "../src/migrate";

const PERSONS = 2_000;
const QUERIES = 250;
const EPOCHS = 10;
const INCLUDED_SHARE = 0.9;
const WRITES = 20;
const READS = 5;
const DATASET = `0x${"d".repeat(64)}`;
const personId = (n: number) => 4_000_000_000_000_000n + BigInt(n) * 7_919n;

/** A deterministic ~90% of the persons for query `q`. */
function included(q: number): bigint[] {
  const ids: bigint[] = [];
  for (let n = 0; n < PERSONS; n++) {
    if (((n * 2_654_435_761 + q * 40_503) >>> 0) % 1_000 < INCLUDED_SHARE * 1_000)
      ids.push(personId(n));
  }
  return ids;
}

async function seed(db: Db): Promise<number> {
  const now = new Date();
  await db.dataset.create({
    data: {
      id: DATASET,
      steward: `0x${"1".repeat(40)}`,
      price: "0",
      accessDurationSeconds: 86_400,
      metadataHash: `0x${"0".repeat(64)}`,
      listedBlock: 1n,
      listedTxHash: `0x${"0".repeat(64)}`,
      updatedBlock: 1n,
      versions: {
        create: {
          version: 1,
          manifestHash: `0x${"0".repeat(64)}`,
          schemaVersion: `0x${"0".repeat(64)}`,
          publishedAt: now,
          publishedBlock: 1n,
          publishedTxHash: `0x${"0".repeat(64)}`,
        },
      },
      enrolments: {
        createMany: {
          data: Array.from({ length: PERSONS }, (_, n) => ({
            personId: personId(n),
            patientAddress: `0x${n.toString(16).padStart(40, "0")}`,
          })),
        },
      },
    },
    select: { id: true },
  });
  const version = await db.datasetVersion.findFirstOrThrow({ select: { id: true } });
  const dialect = sqlDialectOf(db);
  let rows = 0;
  for (let q = 0; q < QUERIES; q++) {
    rows += await writeQuery(db, dialect, version.id, `seed${q}`, epochOf(q), included(q));
  }
  return rows;
}

const epochOf = (q: number) => Math.floor((q * EPOCHS) / QUERIES) + 1;

async function writeQuery(
  db: Db,
  dialect: ReturnType<typeof sqlDialectOf>,
  datasetVersionId: string,
  id: string,
  epoch: number,
  personIds: bigint[],
): Promise<number> {
  return db.$transaction(async (tx) => {
    await tx.query.create({
      data: {
        id,
        researcherAddress: `0x${"2".repeat(40)}`,
        datasetId: DATASET,
        datasetVersionId,
        kind: "SQL",
        sql: "SELECT 1",
        status: "SUCCEEDED",
        epoch,
        finishedAt: new Date(),
      },
      select: { id: true },
    });
    return insertQueryInclusions(tx, dialect, {
      queryId: id,
      datasetId: DATASET,
      epoch,
      personIds,
    });
  });
}

/**
 * The operator's epoch close read (includedPersons in apps/operator/src/epochs/close.ts).
 * `ids`: as it reads now, the epoch's succeeded query ids, then their inclusions by primary
 * key (it chunks the ids; one chunk here). `inclusion`: as it read while QueryInclusion had
 * a (datasetId, epoch, personId) index, filtering on the inclusion's copied datasetId.
 */
async function epochWeights(db: Db, epoch: number, form: "ids" | "inclusion") {
  if (form === "inclusion") {
    return db.queryInclusion.groupBy({
      by: ["personId"],
      where: { datasetId: DATASET, epoch, query: { status: "SUCCEEDED", epoch } },
      _count: { _all: true },
    });
  }
  const queries = await db.query.findMany({
    where: { datasetId: DATASET, epoch, status: "SUCCEEDED" },
    select: { id: true },
  });
  return db.queryInclusion.groupBy({
    by: ["personId"],
    where: { queryId: { in: queries.map((query) => query.id) }, epoch },
    _count: { _all: true },
  });
}

/** consent.whoUsedMyData's read for a patient with one enrolment. */
function whoUsed(db: Db, person: bigint) {
  return db.query.findMany({
    where: {
      status: "SUCCEEDED",
      inclusions: { some: { OR: [{ datasetId: DATASET, personId: person }] } },
    },
    orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
    select: { id: true },
  });
}

async function median(times: number, work: (i: number) => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await work(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)] ?? Number.NaN;
}

/** Index sets, as SQL run on a copy of the migrated table. */
const VARIANTS: { name: string; sql: string }[] = [
  {
    name: "+ (datasetId, epoch, personId): before 20261121203506",
    sql: 'CREATE INDEX "QueryInclusion_datasetId_epoch_personId_idx" ON "QueryInclusion"("datasetId", "epoch", "personId")',
  },
  { name: "(datasetId, personId): migrations now", sql: "" },
  { name: "primary key only", sql: 'DROP INDEX "QueryInclusion_datasetId_personId_idx"' },
];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "opencohort-inclusions-bench-"));
  const base = join(dir, "base.db");
  await migrate(`file:${base}`);
  const seeding = createDb(`file:${base}`);
  const t0 = performance.now();
  const rows = await seed(seeding);
  await seeding.$disconnect();
  console.log(
    `seeded ${rows} inclusions (${QUERIES} queries over ${EPOCHS} epochs) in ${((performance.now() - t0) / 1_000).toFixed(1)}s`,
  );
  // One epoch holding every row: the bench's and a busy epoch's shape.
  const allInOne = join(dir, "all-in-one.db");
  copyFileSync(base, allInOne);
  const raw = new Database(allInOne);
  raw.exec('UPDATE "QueryInclusion" SET "epoch" = 1; UPDATE "Query" SET "epoch" = 1;');
  raw.close();
  const present = new Database(base, { readonly: true })
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'QueryInclusion' ORDER BY name",
    )
    .pluck()
    .all();
  console.log(`indexes now: ${present.join(", ")}\n`);

  const closeTimes = async (db: Db, epoch: number) => {
    const times: string[] = [];
    for (const form of ["inclusion", "ids"] as const) {
      await epochWeights(db, epoch, form); // warm
      times.push((await median(READS, () => epochWeights(db, epoch, form))).toFixed(0));
    }
    return times.join(" / ");
  };
  const table = [
    `| indexes | write 2k rows, p50 ms | close, epoch of all ${rows} rows, ms | close, epoch of ${Math.round(rows / EPOCHS)}, ms | who used my data, ms | file MB |`,
    "|---|---|---|---|---|---|",
  ];
  for (const variant of VARIANTS) {
    const copy = (source: string, name: string) => {
      const file = join(dir, `${VARIANTS.indexOf(variant)}-${name}.db`);
      copyFileSync(source, file);
      const admin = new Database(file);
      if (variant.sql !== "") admin.exec(variant.sql);
      admin.exec("VACUUM");
      const bytes = admin
        .prepare("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
        .pluck()
        .get() as number;
      admin.close();
      return { db: createDb(`file:${file}`), megabytes: (bytes / 2 ** 20).toFixed(0) };
    };
    const oneEpoch = copy(allInOne, "one");
    const closeAll = await closeTimes(oneEpoch.db, 1);
    await oneEpoch.db.$disconnect();

    const { db, megabytes } = copy(base, "epochs");
    const closeLast = await closeTimes(db, EPOCHS);
    await whoUsed(db, personId(7));
    const who = await median(READS, (i) => whoUsed(db, personId(7 + i)));
    const dialect = sqlDialectOf(db);
    const { id: versionId } = await db.datasetVersion.findFirstOrThrow({ select: { id: true } });
    const write = await median(WRITES, (i) =>
      writeQuery(db, dialect, versionId, `extra${i}`, EPOCHS, included(QUERIES + i)),
    );
    await db.$disconnect();
    table.push(
      `| ${variant.name} | ${write.toFixed(1)} | ${closeAll} | ${closeLast} | ${who.toFixed(1)} | ${megabytes} |`,
    );
  }
  console.log(
    "close: the operator's read before (inclusion's datasetId) / now (query ids; see epochWeights)",
  );
  console.log(table.join("\n"));
}

await main();
