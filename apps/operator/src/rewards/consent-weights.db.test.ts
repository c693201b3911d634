import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, migrate } from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres } from "../../../../packages/db/test/postgres";
import { consentWeights } from "./consent-time";

/**
 * The consent-time read of the epoch split on both providers: it is the one query the
 * rewards depend on, so it must answer alike on SQLite and PostgreSQL (JSON arguments,
 * bigint timestamps, the ordering the split assumes).
 */

const DATASET = `0x${"d1".repeat(32)}`;
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
      data: { datasetId: DATASET, personId: BigInt(n), identityAddress: patient(n) },
      select: { id: true },
    });
  }
  await db.enrolment.create({
    data: { datasetId: DATASET, personId: 5n, patientAddress: patient(5) },
    select: { id: true },
  });
  let block = 10n;
  const consent = async (n: number, at: bigint, granted: boolean) => {
    block += 1n;
    await db.indexedEvent.create({
      data: {
        chainId: CHAIN_ID,
        stream: STREAM,
        blockNumber: block,
        blockHash: `0x${randomBytes(32).toString("hex")}`,
        blockTimestamp: at,
        txHash: `0x${randomBytes(32).toString("hex")}`,
        logIndex: 0,
        entityKey: `consent:${patient(n)}:${DATASET}`,
        address: patient(98),
        eventName: "ConsentSet",
        args: { patient: patient(n), datasetId: DATASET, granted, nonce: "1" },
      },
      select: { id: true },
    });
  };
  await consent(1, 900n, true); // before the window: the whole window
  await consent(2, 1_100n, true); // opts in mid-window
  await consent(2, 1_150n, false); // and out again
  await consent(2, 1_180n, true); // and in again until the end
  await consent(3, 1_300n, true); // after the window's end: nothing
  await consent(4, 900n, true); // not enrolled: nothing
  await consent(5, 900n, true); // a wallet, not a bound identity: nothing
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

    it("weighs bound identities by the seconds their consent was active in the window", async () => {
      const weights = await db.$transaction((tx) =>
        consentWeights(tx, { chainId: CHAIN_ID, stream: STREAM, datasetId: DATASET, window }),
      );
      expect(
        weights
          .map((w) => [w.identityAddress, w.consentSeconds])
          .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
      ).toEqual([
        [patient(1), 200n],
        [patient(2), 70n], // 1100-1150 and 1180-1200
      ]);
    });
  });
}
