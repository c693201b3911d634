/**
 * The epoch close's consent read (figures, not assertions), on a SQLite file in a temp dir:
 * `wholeEpochConsents` reads every mirrored ConsentSet event up to the close, on every dataset,
 * because the unit divides by every whole-epoch consent on chain (rewards/pooled.ts). The
 * close runs it inside its transaction, so its time is how long the close holds the database.
 *
 * PAIRS consent pairs over DATASETS datasets, each with EVENTS_PER_PAIR events (opt-in before
 * the epoch, then out again for a fifth of them), a tenth of them enrolled; the read is timed
 * READS times. The pair count is the first argument (default 100,000).
 *
 *   pnpm --filter @opencohort/operator bench
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createDb, migrate, type Prisma } from "@opencohort/db";
import { wholeEpochConsents } from "../src/rewards/consent-time";

const DATASETS = 10;
const PAIRS = Number(process.argv[2] ?? 100_000);
const EVENTS_PER_PAIR = 2;
const ENROLLED_SHARE = 10;
const READS = 3;
const INSERT_CHUNK = 5_000;
const CHAIN_ID = 31337;
const STREAM = "core";
const window = { start: 1_000_000n, end: 1_000_300n };
const datasetId = (d: number) => `0x${d.toString(16).padStart(64, "0")}`;
const identity = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "oc-bench-consents-"));
  const url = `file:${join(dir, "app.db")}`;
  try {
    await migrate(url);
    const db = createDb(url);
    for (let d = 0; d < DATASETS; d++) {
      await db.dataset.create({
        data: {
          id: datasetId(d),
          steward: identity(1),
          price: "0".padStart(78, "0"),
          accessDurationSeconds: 3600,
          metadataHash: `0x${"00".repeat(32)}`,
          listedBlock: 1n,
          listedTxHash: `0x${"aa".repeat(32)}`,
          updatedBlock: 1n,
        },
        select: { id: true },
      });
    }
    const seeding = performance.now();
    let block = 0n;
    let rows: Prisma.IndexedEventCreateManyInput[] = [];
    const flush = async () => {
      if (rows.length > 0) await db.indexedEvent.createMany({ data: rows });
      rows = [];
    };
    for (let n = 0; n < PAIRS; n++) {
      const dataset = datasetId(n % DATASETS);
      const who = identity(0x1000 + n);
      for (let e = 0; e < EVENTS_PER_PAIR; e++) {
        block += 1n;
        // Opt-in well before the window, then out and in again: a fifth end revoked.
        const granted = e % 2 === 0 || n % 5 !== 0;
        rows.push({
          chainId: CHAIN_ID,
          stream: STREAM,
          blockNumber: block,
          blockHash: `0x${block.toString(16).padStart(64, "0")}`,
          blockTimestamp: 1_000n + BigInt(n % 900_000) + BigInt(e),
          txHash: `0x${block.toString(16).padStart(64, "0")}`,
          logIndex: 0,
          entityKey: `consent:${who}:${dataset}`,
          address: identity(2),
          eventName: "ConsentSet",
          args: { patient: who, datasetId: dataset, granted, nonce: String(e + 1) },
        });
      }
      if (rows.length >= INSERT_CHUNK) await flush();
    }
    await flush();
    await db.enrolment.createMany({
      data: Array.from({ length: PAIRS / ENROLLED_SHARE }, (_, i) => {
        const n = i * ENROLLED_SHARE + 1;
        return {
          datasetId: datasetId(n % DATASETS),
          personId: BigInt(n),
          identityAddress: identity(0x1000 + n),
          // Unique across datasets, so unique within each.
          ordinal: i + 1,
        };
      }),
    });
    console.log(
      `seeded ${PAIRS} pairs, ${PAIRS * EVENTS_PER_PAIR} events, ${PAIRS / ENROLLED_SHARE} enrolled in ${((performance.now() - seeding) / 1000).toFixed(1)} s`,
    );
    for (let read = 0; read < READS; read++) {
      const heapBefore = process.memoryUsage().heapUsed;
      const started = performance.now();
      const consents = await db.$transaction(
        (tx) => wholeEpochConsents(tx, { chainId: CHAIN_ID, stream: STREAM, window }),
        { timeout: 600_000 },
      );
      const ms = performance.now() - started;
      console.log(
        `read ${read + 1}: ${ms.toFixed(0)} ms (${((PAIRS * EVENTS_PER_PAIR) / ms).toFixed(0)} events/ms), public ${consents.publicCount}, enrolled ${consents.enrolled.length}, heap +${((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    await db.$disconnect();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
