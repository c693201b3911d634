import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, migrate } from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres } from "../../../../packages/db/test/postgres";
import { wholeEpochConsents } from "./consent-time";

/**
 * The consent read of the epoch split on both providers: it is the one query the rewards
 * depend on, so it must answer alike on SQLite and PostgreSQL (JSON arguments, bigint
 * timestamps, the ordering and paging the split assumes).
 */

const DATASET = `0x${"d1".repeat(32)}`;
/** A dataset id nobody registered: anyone can consent to it, nobody is paid for it. */
const UNREGISTERED = `0x${"ee".repeat(32)}`;
/** Consent pairs nobody enrolled, each opted in and out again within the window. */
const BULK_PAIRS = 1_700;
const CHAIN_ID = 31337;
const STREAM = "core";
const patient = (n: number) => `0x${String(n).padStart(40, "0")}`;

async function seed(db: Db) {
  await db.dataset.create({
    data: {
      id: DATASET,
      steward: patient(99),
      price: "0".padStart(78, "0"),
      accessDurationSeconds: 3600,
      metadataHash: `0x${"00".repeat(32)}`,
      listedBlock: 1n,
      listedTxHash: `0x${"aa".repeat(32)}`,
      updatedBlock: 1n,
    },
    select: { id: true },
  });
  // Identities 1-3 bound to enrolments; 4 consents without an enrolment; 5 is the wallet of
  // an enrolment without a bound identity (its own consent does not count).
  for (const n of [1, 2, 3]) {
    await db.enrolment.create({
      data: { datasetId: DATASET, personId: BigInt(n), identityAddress: patient(n), ordinal: n },
      select: { id: true },
    });
  }
  await db.enrolment.create({
    data: { datasetId: DATASET, personId: 5n, patientAddress: patient(5), ordinal: 5 },
    select: { id: true },
  });
  let block = 10n;
  const event = (n: number, at: bigint, granted: boolean, datasetId = DATASET) => {
    block += 1n;
    return {
      chainId: CHAIN_ID,
      stream: STREAM,
      blockNumber: block,
      blockHash: `0x${randomBytes(32).toString("hex")}`,
      blockTimestamp: at,
      txHash: `0x${randomBytes(32).toString("hex")}`,
      logIndex: 0,
      entityKey: `consent:${patient(n)}:${datasetId}`,
      address: patient(98),
      eventName: "ConsentSet",
      args: { patient: patient(n), datasetId, granted, nonce: "1" },
    };
  };
  await db.indexedEvent.createMany({
    data: [
      event(1, 900n, true), // before the window: the whole window, enrolled
      event(2, 1_100n, true), // opts in mid-window
      event(2, 1_150n, false), // and out again
      event(2, 1_180n, true), // and in again until the end
      event(3, 1_300n, true), // after the window's end: nothing
      event(4, 850n, true), // not enrolled: public, counted, not enrolled
      event(4, 900n, true), // (a repeated grant changes nothing)
      event(5, 900n, true), // a wallet, not a bound identity: the same
      event(5, 950n, true),
      event(6, 900n, true, UNREGISTERED), // no dataset: nothing
    ],
  });
  // 9 events above up to the window's end, then 3 per bulk pair: the first page of 5,000 ends after the second event
  // of a pair (opted in before the window, out within it), so a read that settled a pair at a
  // page's end would count it as a whole-epoch consent.
  await db.indexedEvent.createMany({
    data: Array.from({ length: BULK_PAIRS }, (_, i) => [
      event(1_000 + i, 900n, true),
      event(1_000 + i, 950n, true),
      event(1_000 + i, 1_100n, false),
    ]).flat(),
  });
}

const window = { start: 1_000n, end: 1_200n };

for (const provider of ["sqlite", "postgresql"] as const) {
  describe(`consent weights on ${provider}`, () => {
    let db: Db;
    let stop = async () => {};
    beforeAll(async () => {
      let url: string;
      if (provider === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "oc-weights-"));
        url = `file:${join(dir, "app.db")}`;
        stop = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const server = await startTestPostgres();
        if (server.url === undefined) throw new Error(`PostgreSQL: ${server.skipReason}`);
        const pg = new URL(server.url);
        pg.pathname = `/oc_weights_${randomBytes(6).toString("hex")}`;
        url = pg.toString();
        stop = server.stop;
      }
      await migrate(url);
      db = createDb(url);
      await seed(db);
    }, 120_000);
    afterAll(async () => {
      await db?.$disconnect();
      await stop();
    });

    it("counts every whole-epoch consent on a registered dataset and picks the enrolled ones", async () => {
      const consents = await db.$transaction((tx) =>
        wholeEpochConsents(tx, { chainId: CHAIN_ID, stream: STREAM, window }),
      );
      // #1 (enrolled), #4 (consents, not enrolled), #5 (a wallet's own consent): public alike.
      expect(consents.publicCount).toBe(3n);
      expect(consents.enrolled).toEqual([{ datasetId: DATASET, identityAddress: patient(1) }]);
    });

    it("counts nothing in an empty window", async () => {
      const consents = await db.$transaction((tx) =>
        wholeEpochConsents(tx, {
          chainId: CHAIN_ID,
          stream: STREAM,
          window: { start: 1_000n, end: 1_000n },
        }),
      );
      expect(consents).toEqual({ publicCount: 0n, enrolled: [] });
    });
  });
}
