/**
 * Inclusion storage and "who used my data" (figures, not assertions), on SQLite files in a
 * temp dir.
 *
 * 1. Bytes per query for 2k, 100k, 900k and all 1M included persons of a 1M-person dataset:
 *    the old per-person QueryInclusion rows (the table and indexes of the last migration that
 *    had them, measured as the file's growth), a set of the person ids (format 1, before
 *    ordinals) and the set of enrolment ordinals queries write now (format 2: the blob, and
 *    the file's growth). Two kinds of person ids: dense (1..1M) and scattered like the
 *    synthetic generator's pseudonyms (13-digit ids spread over 2^40); ordinals are dense
 *    whatever the ids.
 * 2. A 1M-person dataset (dense ids) with 1,000 wallet patients and 10,000 stored queries
 *    (included shares log-uniform from 0.2% to 90%), then: `recordQueryInclusions` per query
 *    (p50), `queriesThatUsedPatient` (consent.whoUsedMyData's read, its first page of 50)
 *    p50/p99 over 200 patients,
 *    a back-fill for one newly bound patient and for an import of 1,000, and the file size.
 *
 *   pnpm --filter @opencohort/db bench
 */
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { sqlDialectOf } from "../src/bulk";
import { createDb } from "../src/client";
import { EnrolmentOrdinalSet, PersonIdSet } from "../src/inclusion-bitmap";
import {
  backfillPatientQueryUses,
  queriesThatUsedPatient,
  recordQueryInclusions,
} from "../src/inclusions";
import { migrate } from "../src/migrate";

const PERSONS = 1_000_000;
const QUERIES = 10_000;
const WALLET_PATIENTS = 1_000;
const DISTINCT_SUBSETS = 40;
const READS = 200;
const DATASET = `0x${"d".repeat(64)}`;

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` distinct indexes of 0..PERSONS-1, uniformly at random (partial Fisher-Yates). */
function sample(count: number, seed: number): Uint32Array {
  const next = random(seed);
  const order = new Uint32Array(PERSONS);
  for (let i = 0; i < PERSONS; i++) order[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (PERSONS - i));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  return order.slice(0, count);
}

const denseId = (index: number) => BigInt(index + 1);
/** A fixed scatter of the 1M indexes over 2^40, offset by 10^12 (as synth's pseudonyms). */
const scatteredIds = (() => {
  const next = random(7);
  const seen = new Set<number>();
  const ids = new BigInt64Array(PERSONS);
  for (let i = 0; i < PERSONS; ) {
    const value = Math.floor(next() * 2 ** 40);
    if (seen.has(value)) continue;
    seen.add(value);
    ids[i++] = 1_000_000_000_000n + BigInt(value);
  }
  return ids;
})();

const fileBytes = (db: Database.Database) =>
  db
    .prepare("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
    .pluck()
    .get() as number;

/** The QueryInclusion table as the last migration before inclusion sets left it. */
const OLD_TABLE = `
  CREATE TABLE "QueryInclusion" ("queryId" TEXT NOT NULL, "personId" BIGINT NOT NULL,
    "datasetId" TEXT NOT NULL, "epoch" INTEGER NOT NULL, PRIMARY KEY ("queryId", "personId"));
  CREATE INDEX "QueryInclusion_datasetId_personId_idx" ON "QueryInclusion"("datasetId", "personId");
  CREATE TABLE "Set" ("queryId" TEXT NOT NULL PRIMARY KEY, "datasetId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL, "bitmap" BLOB NOT NULL);
  CREATE INDEX "Set_datasetId_queryId_idx" ON "Set"("datasetId", "queryId");`;

function bytesPerQuery(dir: string) {
  const lines = [
    "| included | ids | old rows: bytes/query | set of person ids: blob bytes | set of ordinals: blob bytes | set of ordinals: file growth |",
    "|---|---|---|---|---|---|",
  ];
  for (const included of [2_000, 100_000, 900_000, PERSONS]) {
    const indexes = sample(included, included);
    for (const kind of ["dense", "scattered"] as const) {
      const ids = BigInt64Array.from(indexes, (index) =>
        kind === "dense" ? denseId(index) : (scatteredIds[index] as bigint),
      );
      const file = join(dir, `bytes-${included}-${kind}.db`);
      const db = new Database(file);
      db.exec(OLD_TABLE);
      db.exec("VACUUM");
      // Two queries each, so the figure is a steady-state one rather than the first page's.
      const insertRow = db.prepare(`INSERT INTO "QueryInclusion" VALUES (?, ?, '${DATASET}', 1)`);
      const rows = (queryId: string) =>
        db.transaction(() => {
          for (const id of ids) insertRow.run(queryId, id);
        })();
      rows("cq00000000000000000000001");
      const beforeRows = fileBytes(db);
      rows("cq00000000000000000000002");
      const rowBytes = fileBytes(db) - beforeRows;
      const personIdBlob = PersonIdSet.of(ids).toBytes();
      // Enrolled in index order: a person's ordinal is its index + 1, whatever its id.
      const blob = EnrolmentOrdinalSet.of(
        Uint32Array.from(indexes, (index) => index + 1),
      ).toBytes();
      const insertSet = db.prepare(`INSERT INTO "Set" VALUES (?, '${DATASET}', 1, ?)`);
      insertSet.run("cq00000000000000000000001", blob);
      const beforeSet = fileBytes(db);
      insertSet.run("cq00000000000000000000002", blob);
      const setBytes = fileBytes(db) - beforeSet;
      db.close();
      lines.push(
        `| ${included.toLocaleString("en-US")} | ${kind} | ${rowBytes.toLocaleString("en-US")} | ${personIdBlob.length.toLocaleString("en-US")} | ${blob.length.toLocaleString("en-US")} | ${setBytes.toLocaleString("en-US")} |`,
      );
    }
  }
  console.log("Bytes per query (SQLite, 1M-person dataset):");
  console.log(lines.join("\n"));
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

async function whoUsedMyData(dir: string) {
  const file = join(dir, "who.db");
  const url = `file:${file}`;
  await migrate(url);
  const raw = new Database(file);
  raw.pragma("journal_mode = WAL");
  const t0 = performance.now();
  raw.exec(`
    INSERT INTO "Dataset" ("id", "steward", "title", "price", "accessDurationSeconds", "metadataHash", "listedBlock", "listedTxHash", "updatedBlock", "updatedAt")
      VALUES ('${DATASET}', '0x1', 'Bench', '0', 60, '0x0', 1, '0x0', 1, CURRENT_TIMESTAMP);
    INSERT INTO "DatasetVersion" ("id", "datasetId", "version", "manifestHash", "schemaVersion", "publishedAt", "publishedBlock", "publishedTxHash")
      VALUES ('v1', '${DATASET}', 1, '0x0', '0x0', CURRENT_TIMESTAMP, 1, '0x0');`);
  const wallets = sample(WALLET_PATIENTS, 99);
  const walletOf = new Map<number, string>();
  for (const index of wallets) walletOf.set(index, `0x${index.toString(16).padStart(40, "0")}`);
  const enrol = raw.prepare(
    `INSERT INTO "Enrolment" ("id", "datasetId", "personId", "patientAddress", "ordinal") VALUES (?, '${DATASET}', ?, ?, ?)`,
  );
  raw.transaction(() => {
    for (let index = 0; index < PERSONS; index++) {
      enrol.run(`e${index}`, denseId(index), walletOf.get(index) ?? null, index + 1);
    }
  })();
  // A few distinct included sets (the set size, not its contents, drives the costs), shares
  // log-uniform from 0.2% to 90%; every query gets one of them.
  const shares = Array.from({ length: DISTINCT_SUBSETS }, (_, i) =>
    Math.exp(Math.log(0.002) + (i / (DISTINCT_SUBSETS - 1)) * Math.log(0.9 / 0.002)),
  );
  const subsets = shares.map((share, i) => {
    const ordinals = sample(Math.round(share * PERSONS), 1_000 + i).map((index) => index + 1);
    const set = EnrolmentOrdinalSet.of(ordinals);
    const walletPersons = [...wallets].filter((index) => set.has(index + 1)).map(denseId);
    return { ordinals, bytes: set.toBytes(), walletPersons };
  });
  const insertQuery = raw.prepare(
    `INSERT INTO "Query" ("id", "researcherAddress", "datasetId", "datasetVersionId", "kind", "sql", "status", "epoch", "createdAt", "finishedAt")
     VALUES (?, '0x2', '${DATASET}', 'v1', 'SQL', 'SELECT 1', 'SUCCEEDED', 1, ?, ?)`,
  );
  const insertSet = raw.prepare(`INSERT INTO "QueryInclusionSet" VALUES (?, '${DATASET}', 1, ?)`);
  const insertUse = raw.prepare(`INSERT INTO "PatientQueryUse" VALUES ('${DATASET}', ?, ?)`);
  const queryId = (q: number) => `cq${q.toString().padStart(23, "0")}`;
  let blobBytes = 0;
  for (let start = 0; start < QUERIES; start += 500) {
    raw.transaction(() => {
      for (let q = start; q < Math.min(QUERIES, start + 500); q++) {
        const subset = subsets[q % DISTINCT_SUBSETS] as (typeof subsets)[number];
        const at = 1_700_000_000_000 + q * 1_000;
        insertQuery.run(queryId(q), at, at);
        insertSet.run(queryId(q), subset.bytes);
        blobBytes += subset.bytes.length;
        for (const personId of subset.walletPersons) insertUse.run(personId, queryId(q));
      }
    })();
  }
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
  const size = statSync(file).size;
  console.log(
    `\nSeeded ${PERSONS.toLocaleString("en-US")} enrolments (${WALLET_PATIENTS} with a wallet) and ${QUERIES.toLocaleString("en-US")} queries in ${((performance.now() - t0) / 1_000).toFixed(0)} s: file ${(size / 2 ** 20).toFixed(0)} MiB, ${(size / 2 ** 20 / (QUERIES / 1_000)).toFixed(1)} MiB per 1,000 queries (sets alone ${(blobBytes / 2 ** 20 / (QUERIES / 1_000)).toFixed(1)} MiB; the enrolments are in it too)`,
  );

  const db = createDb(url);
  const dialect = sqlDialectOf(db);
  const writes: { share: number; ms: number }[] = [];
  for (const [i, subset] of subsets.entries()) {
    if (i % 8 !== 0 && i !== subsets.length - 1) continue;
    const id = queryId(QUERIES + i);
    await db.query.create({
      data: {
        id,
        researcherAddress: "0x2",
        datasetId: DATASET,
        datasetVersionId: "v1",
        kind: "SQL",
        sql: "SELECT 1",
        status: "SUCCEEDED",
        epoch: 1,
        finishedAt: new Date(),
      },
      select: { id: true },
    });
    const started = performance.now();
    await db.$transaction(
      (tx) =>
        recordQueryInclusions(tx, dialect, {
          queryId: id,
          datasetId: DATASET,
          epoch: 1,
          ordinals: subset.ordinals,
        }),
      { timeout: 60_000 },
    );
    writes.push({ share: shares[i] as number, ms: performance.now() - started });
  }
  console.log(
    `recordQueryInclusions (set + wallet index rows, one transaction): ${writes
      .map(
        (write) =>
          `${(write.share * PERSONS).toLocaleString("en-US", { maximumFractionDigits: 0 })} included ${write.ms.toFixed(0)} ms`,
      )
      .join(", ")}`,
  );

  const usesPerPatient =
    (await db.patientQueryUse.count({ where: { datasetId: DATASET } })) / WALLET_PATIENTS;
  const times: number[] = [];
  let returned = 0;
  const patients = [...walletOf.values()];
  await queriesThatUsedPatient(db, patients[0] as string); // warm
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    returned += (await queriesThatUsedPatient(db, patients[i % patients.length] as string)).queries
      .length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `who used my data (queriesThatUsedPatient) after ${QUERIES.toLocaleString("en-US")} queries: p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms, max ${(times.at(-1) ?? 0).toFixed(1)} ms (first page: ${Math.round(returned / READS)} queries on average; ${Math.round(usesPerPatient)} in all per patient)`,
  );

  // Back-fill: persons without a wallet gain one (as bindIdentity and a wallet import do).
  const unbound = [...sample(WALLET_PATIENTS + 1_001, 5)]
    .filter((index) => !walletOf.has(index))
    .slice(0, 1_001);
  const bind = async (indexes: number[]) => {
    const started = performance.now();
    const added = await db.$transaction(
      async (tx) => {
        for (const index of indexes) {
          await tx.enrolment.update({
            where: { datasetId_personId: { datasetId: DATASET, personId: denseId(index) } },
            data: { patientAddress: `0xb${index.toString(16).padStart(39, "0")}` },
            select: { id: true },
          });
        }
        return backfillPatientQueryUses(tx, dialect, DATASET, indexes.map(denseId));
      },
      { timeout: 600_000 },
    );
    return { ms: performance.now() - started, added };
  };
  const one = await bind(unbound.slice(0, 1));
  const thousand = await bind(unbound.slice(1));
  console.log(
    `back-fill after ${QUERIES.toLocaleString("en-US")} queries: one patient binding ${(one.ms / 1_000).toFixed(1)} s (${one.added} rows), an import of 1,000 wallets ${(thousand.ms / 1_000).toFixed(1)} s (${thousand.added} rows)`,
  );
  await db.$disconnect();
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "opencohort-inclusions-bench-"));
  bytesPerQuery(dir);
  await whoUsedMyData(dir);
  console.log(`\n(files in ${dir})`);
}

await main();
