/**
 * Scale benchmark (figures, not assertions): a national-registry-sized synthetic dataset
 * (SCALE_PERSONS, default 1,000,000) listed on a real anvil chain through DatasetRegistry,
 * its files registered on the version row as the steward's registration does, and its
 * enrolments and consent state seeded IN BULK into the database mirror (900,000 consenting
 * synthetic identities): signing and relaying a million consents is not what is measured.
 * Then, for 1 and 2 compute worker processes (apps/compute-worker, one DuckDB sandbox each):
 *
 * - 32 concurrent researchers (SCALE_CLIENTS) submit SCALE_QUERIES queries of five shapes;
 *   each measures query.submit → final status (polled every 25 ms): p50/p99 and results/s;
 * - one researcher alone: result latency against the compute time the row records
 *   (startedAt → finishedAt), p50 of both;
 * - database growth per 1,000 queries (SQLite file and WAL, or pg_database_size);
 * - "who used my data" (its first page, as the patient's page asks) for a patient with a
 *   wallet, p50/p99 over 200 calls, once the stored history holds SCALE_HISTORY (10,000)
 *   succeeded queries: running ten thousand queries over a million persons takes hours, so
 *   the history is topped up with copies of the queries this run executed (each copy with
 *   its query's inclusion set and "who used my data" rows, as the worker wrote them).
 *
 *   pnpm --filter @opencohort/api bench:scale        (SCALE_PERSONS=100000 for a quick run;
 *   SCALE_DATABASE=postgresql on a throwaway PostgreSQL cluster instead of SQLite)
 *
 * SCALE_POLL_MS: how often each client asks query.status (25); SCALE_WORKER_LOG=file keeps the
 * workers' JSON logs. Submit rate limits are raised for the run (the default 30 a minute per
 * researcher would be what is measured at small sizes). The dataset is generated once and
 * cached (the compute bench's cache, same seed). Identical repeats of a researcher's question
 * cost no privacy budget, so six researchers can send hundreds of queries of five shapes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import { type DevAccountIndex, devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain";
import { createEnrolments, Prisma, sqlDialectOf } from "@opencohort/db";
import { keccak256, stringToHex, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ensureBenchDataset } from "../../compute/bench/dataset";
import {
  accredit,
  buyAccess,
  listDatasetFolder,
  startTestSystem,
  type TestSystem,
} from "../src/testing/harness";

const PERSONS = Number(process.env.SCALE_PERSONS ?? 1_000_000);
const QUERIES = Number(process.env.SCALE_QUERIES ?? 320);
const CLIENTS = Number(process.env.SCALE_CLIENTS ?? 32);
const WORKER_COUNTS = (process.env.SCALE_WORKERS ?? "1,2").split(",").map(Number);
const HISTORY = Number(process.env.SCALE_HISTORY ?? 10_000);
const DATABASE = process.env.SCALE_DATABASE === "postgresql" ? "postgresql" : "sqlite";
/** How often each client asks query.status (SCALE_POLL_MS). */
const STATUS_POLL_MS = Number(process.env.SCALE_POLL_MS ?? 25);
const SOLO_QUERIES = 15;
const WHO_USED_CALLS = 200;
const RESEARCHERS: readonly DevAccountIndex[] = [1, 2, 3, 4, 5, 8];
const DEPLOY_ACCREDITED: ReadonlySet<DevAccountIndex> = new Set([4, 5]);
/** Patients with a wallet (they can sign in and ask who used their data). */
const WALLET_PATIENTS: readonly DevAccountIndex[] = [6, 7];
const APP_DIR = join(import.meta.dirname, "..", "..", "..", "apps", "compute-worker");

const SHAPES = [
  "SELECT sex, age_band(year_of_birth, 10) AS band, count(DISTINCT person_id) AS persons FROM person GROUP BY sex, band",
  "SELECT region, count(DISTINCT person_id) AS diabetics FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'E11%') GROUP BY region",
  "SELECT age_band(year_of_birth, 10) AS band, avg(least(greatest(value_as_number, 3.5), 20)) AS mean_hba1c, count(DISTINCT person_id) AS persons FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY band",
  "SELECT drug_code, count(*) AS exposures, count(DISTINCT person_id) AS persons FROM drug_exposure WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'E11%') GROUP BY drug_code",
  "SELECT sex, visit_type, count(*) AS visits, count(DISTINCT person_id) AS persons FROM person JOIN visit_occurrence USING (person_id) GROUP BY sex, visit_type",
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const ms = (value: number) => `${Math.round(value).toLocaleString("en")} ms`;

function progress(label: string, done: number, total: number) {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r  ${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done.toLocaleString("en")}/${total.toLocaleString("en")}`,
  );
  if (done >= total) process.stderr.write("\n");
}

/** A synthetic consent identity per person: nobody signs with it, the mirror only names it. */
const identityOf = (personId: bigint) =>
  keccak256(stringToHex(`scale-identity:${personId}`))
    .slice(0, 42)
    .toLowerCase();

async function personIdsOf(dir: string): Promise<bigint[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    `SELECT person_id FROM read_parquet('${join(dir, "person.parquet").replaceAll("'", "''")}') ORDER BY person_id`,
  );
  const ids = (reader.getColumns()[0] ?? []) as bigint[];
  connection.closeSync();
  instance.closeSync();
  return ids;
}

/** Enrolments and granted consent states written straight into the mirror, in chunks. */
async function seedConsentsInBulk(system: TestSystem, datasetId: string, ids: bigint[]) {
  const wallets = WALLET_PATIENTS.map((index) =>
    privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)).address.toLowerCase(),
  );
  const chunk = 2_000;
  let consented = 0;
  for (let start = 0; start < ids.length; start += chunk) {
    const rows = ids.slice(start, start + chunk).map((personId, offset) => {
      const position = start + offset;
      return {
        personId,
        identity: identityOf(personId),
        wallet: wallets[position] ?? null,
        // Nine in ten consent (the wallet patients always do).
        granted: position < wallets.length || personId % 10n !== 3n,
      };
    });
    await system.db.$transaction((tx) =>
      createEnrolments(
        tx,
        sqlDialectOf(system.db),
        datasetId,
        rows.map((row) => ({
          personId: row.personId,
          identityAddress: row.identity,
          patientAddress: row.wallet,
          boundAt: row.wallet ? new Date() : null,
        })),
      ),
    );
    const granted = rows.filter((row) => row.granted);
    consented += granted.length;
    await system.db.consentState.createMany({
      data: granted.map((row) => ({
        patientAddress: row.identity,
        datasetId,
        granted: true,
        nonce: "1",
        lastBlock: 1n,
        lastLogIndex: 0,
        lastTxHash: toHex(0, { size: 32 }),
      })),
    });
    progress("enrolments and consents", Math.min(start + chunk, ids.length), ids.length);
  }
  return consented;
}

interface WorkerProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

function startWorker(system: TestSystem, index: number): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      DATABASE_URL: system.databaseUrl,
      OPENCOHORT_NOISE_SECRET: "scale-bench-noise-secret",
      OPENCOHORT_QUERY_WORKERS: "1",
      OPENCOHORT_QUERY_MEMORY_MB: "6144",
      OPENCOHORT_QUERY_TIMEOUT_MS: "600000",
      OPENCOHORT_WORKER_ID: `scale-${index}`,
      LOG_FORMAT: "json",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString("utf8").includes('"worker-started"')) resolve();
    });
  });
  // SCALE_WORKER_LOG=file keeps the workers' JSON logs (each query's events and timings).
  const logFile = process.env.SCALE_WORKER_LOG;
  if (logFile) child.stdout?.on("data", (chunk: Buffer) => appendFileSync(logFile, chunk));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, ready, exited };
}

async function stopWorkers(workers: WorkerProcess[]) {
  for (const worker of workers) worker.child.kill("SIGTERM");
  await Promise.all(workers.map((worker) => worker.exited));
}

type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];

/** query.submit, then query.status every STATUS_POLL_MS until final: the latency a client sees. */
async function submitAndWait(caller: Caller, datasetId: string, sql: string) {
  const started = performance.now();
  const { id } = await caller.query.submit({ datasetId, sql });
  for (;;) {
    const status = await caller.query.status({ id });
    if (status.status === "SUCCEEDED") return { id, ms: performance.now() - started };
    if (status.status === "REJECTED" || status.status === "FAILED") {
      throw new Error(`query ${status.status}: ${status.error?.rule} ${status.error?.message}`);
    }
    await sleep(STATUS_POLL_MS);
  }
}

async function databaseBytes(system: TestSystem): Promise<number> {
  if (DATABASE === "postgresql") {
    const [row] = await system.db.$queryRaw<{ bytes: bigint }[]>`
      SELECT pg_database_size(current_database()) AS bytes`;
    return Number(row?.bytes ?? 0);
  }
  const file = system.databaseUrl.replace(/^file:/, "");
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return size(file) + size(`${file}-wal`);
}

/**
 * Copies of this run's succeeded queries (rows, inclusion sets, "who used my data" rows)
 * until the dataset's stored history holds `target` succeeded queries.
 */
async function topUpHistory(system: TestSystem, datasetId: string, target: number) {
  const have = await system.db.query.count({ where: { datasetId, status: "SUCCEEDED" } });
  if (have >= target) return have;
  const originals = await system.db.query.findMany({
    where: { datasetId, status: "SUCCEEDED", NOT: { id: { startsWith: "copy" } } },
    select: {
      id: true,
      researcherAddress: true,
      datasetVersionId: true,
      sql: true,
      epoch: true,
      finishedAt: true,
      inclusionSet: { select: { epoch: true, bitmap: true } },
    },
  });
  const dialect = sqlDialectOf(system.db);
  // Identifiers cannot be bound: the table's name, schema-qualified on PostgreSQL.
  const uses = Prisma.raw(
    dialect.provider === "postgresql"
      ? `"${dialect.schema ?? "public"}"."PatientQueryUse"`
      : '"PatientQueryUse"',
  );
  const missing = target - have;
  for (let start = 0; start < missing; start += 500) {
    const batch = Array.from({ length: Math.min(500, missing - start) }, (_, offset) => {
      const n = start + offset;
      const original = originals[n % originals.length] as (typeof originals)[number];
      return { id: `copy${String(n).padStart(6, "0")}${original.id}`, original };
    });
    await system.db.$transaction(async (tx) => {
      await tx.query.createMany({
        data: batch.map(({ id, original }) => ({
          id,
          researcherAddress: original.researcherAddress,
          datasetId,
          datasetVersionId: original.datasetVersionId,
          kind: "SQL" as const,
          sql: original.sql,
          status: "SUCCEEDED" as const,
          epoch: original.epoch,
          finishedAt: original.finishedAt,
        })),
      });
      await tx.queryInclusionSet.createMany({
        data: batch.flatMap(({ id, original }) =>
          original.inclusionSet
            ? [
                {
                  queryId: id,
                  datasetId,
                  epoch: original.inclusionSet.epoch,
                  bitmap: original.inclusionSet.bitmap,
                },
              ]
            : [],
        ),
      });
      for (const { id, original } of batch) {
        await tx.$executeRaw`
          INSERT INTO ${uses} ("datasetId", "personId", "queryId")
          SELECT "datasetId", "personId", ${id} FROM ${uses} WHERE "queryId" = ${original.id}`;
      }
    });
    progress("history top-up", Math.min(start + 500, missing), missing);
  }
  return target;
}

async function computeMsOf(system: TestSystem, ids: string[]): Promise<number[]> {
  const rows = await system.db.query.findMany({
    where: { id: { in: ids } },
    select: { startedAt: true, finishedAt: true },
  });
  return rows.flatMap((row) =>
    row.startedAt && row.finishedAt ? [row.finishedAt.getTime() - row.startedAt.getTime()] : [],
  );
}

async function main() {
  console.log(
    `scale bench: ${PERSONS.toLocaleString("en")} persons, ${CLIENTS} clients, ${QUERIES} queries per configuration, ${DATABASE}`,
  );
  const dir = await ensureBenchDataset(PERSONS, 42);
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
    contentHash: string;
    schemaVersion: string;
    personCount: number;
  };
  // The per-researcher submit limit (30 a minute) would cap the offered load at a few
  // queries a second: the bench measures the queue and the workers, not the limiter.
  const unlimited = { limit: 1_000_000, windowSeconds: 60 };
  const system = await startTestSystem({
    queryWorker: false,
    database: DATABASE,
    rateLimits: { submitResearcher: unlimited, submitIp: unlimited },
  });
  console.log("  submit rate limits raised to 1,000,000 a minute for the bench");
  const workers: WorkerProcess[] = [];
  try {
    const datasetId = keccak256(stringToHex(`opencohort-scale-bench:${PERSONS}`));
    const listed = await listDatasetFolder(system, {
      datasetId,
      dir,
      manifest,
      title: `Registry ${PERSONS.toLocaleString("en")}`,
      steward: 1,
    });
    const seedStarted = performance.now();
    const ids = await personIdsOf(dir);
    const consented = await seedConsentsInBulk(system, datasetId, ids);
    console.log(
      `  listed on chain; ${ids.length.toLocaleString("en")} enrolments and ${consented.toLocaleString("en")} consents seeded into the mirror in ${ms(performance.now() - seedStarted)}`,
    );
    for (const index of RESEARCHERS) {
      if (!DEPLOY_ACCREDITED.has(index)) await accredit(system, index);
      await buyAccess(system, index, { datasetId, price: listed.price });
    }
    const researchers = await Promise.all(RESEARCHERS.map((index) => system.signIn(index)));
    const patient = await system.signIn(WALLET_PATIENTS[0] ?? 6);

    const table: string[] = [];
    let submitted = 0;
    for (const count of WORKER_COUNTS) {
      for (let index = 0; index < count; index++) workers.push(startWorker(system, index + 1));
      await Promise.all(workers.map((worker) => worker.ready));
      // Warm-up: each shape once per worker, so every worker has opened the dataset and
      // materialised its consented subsets before the clock starts (first-query cost is the
      // compute bench's figure).
      await Promise.all(
        SHAPES.flatMap((sql) =>
          workers.map((_, index) =>
            submitAndWait(
              researchers[index % researchers.length]?.caller as Caller,
              datasetId,
              sql,
            ),
          ),
        ),
      );
      submitted += SHAPES.length * workers.length;

      const solo = researchers[0]?.caller as Caller;
      const soloIds: string[] = [];
      const soloMs: number[] = [];
      for (let n = 0; n < SOLO_QUERIES; n++) {
        const { id, ms: took } = await submitAndWait(
          solo,
          datasetId,
          SHAPES[n % SHAPES.length] ?? "",
        );
        soloIds.push(id);
        soloMs.push(took);
      }
      submitted += SOLO_QUERIES;
      const soloCompute = await computeMsOf(system, soloIds);

      const bytesBefore = await databaseBytes(system);
      const latencies: number[] = [];
      let next = 0;
      const loadStarted = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          const caller = researchers[client % researchers.length]?.caller as Caller;
          for (;;) {
            const n = next++;
            if (n >= QUERIES) return;
            const { ms: took } = await submitAndWait(
              caller,
              datasetId,
              SHAPES[n % SHAPES.length] ?? "",
            );
            latencies.push(took);
            progress(`${count} worker(s)`, latencies.length, QUERIES);
          }
        }),
      );
      const seconds = (performance.now() - loadStarted) / 1000;
      submitted += QUERIES;
      const grownPer1000 = (((await databaseBytes(system)) - bytesBefore) / QUERIES) * 1000;

      const history = await topUpHistory(system, datasetId, HISTORY);
      const whoUsed: number[] = [];
      for (let n = 0; n < WHO_USED_CALLS; n++) {
        const started = performance.now();
        await patient.caller.consent.whoUsedMyData();
        whoUsed.push(performance.now() - started);
      }
      table.push(
        `| ${count} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${(QUERIES / seconds).toFixed(2)} | ${ms(percentile(soloMs, 50))} / ${ms(percentile(soloCompute, 50))} = ${(percentile(soloMs, 50) / percentile(soloCompute, 50)).toFixed(2)} | ${(grownPer1000 / 1024 / 1024).toFixed(2)} MiB | ${ms(percentile(whoUsed, 50))} / ${ms(percentile(whoUsed, 99))} after ${history.toLocaleString("en")} queries (${submitted.toLocaleString("en")} run) |`,
      );
      await stopWorkers(workers.splice(0));
    }
    console.log(`
| workers | result p50 | result p99 | results/s | 1 client: result p50 / compute p50 | database per 1,000 queries | who used my data p50 / p99 |
|---|---|---|---|---|---|---|
${table.join("\n")}
`);
  } finally {
    await stopWorkers(workers);
    await system.stop();
  }
}

await main();
