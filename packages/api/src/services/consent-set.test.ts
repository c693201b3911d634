import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createDb,
  createEnrolments,
  type Db,
  migrate,
  sqlDialectOf,
  toDbUint,
} from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentSnapshot } from "./consent-set";

let db: Db;
let dir: string;
const datasetId = `0x${"11".repeat(32)}`;
const other = `0x${"22".repeat(32)}`;
const wallet = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
/** A consent identity (the address that consents on chain): apart from every wallet here. */
const identity = (n: number) => `0x${(n + 0x100000).toString(16).padStart(40, "0")}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "oc-consent-set-"));
  const url = `file:${join(dir, "db.sqlite")}`;
  await migrate(url);
  db = createDb(url);
  for (const id of [datasetId, other]) {
    await db.dataset.create({
      data: {
        id,
        steward: wallet(9999),
        price: toDbUint(1),
        accessDurationSeconds: 60,
        metadataHash: `0x${"00".repeat(32)}`,
        listedBlock: 1n,
        listedTxHash: `0x${"00".repeat(32)}`,
        updatedBlock: 1n,
      },
    });
  }
  // 2,500 persons, each under a consent identity (every other one bound to a wallet too);
  // every third consents, every seventh of those revoked.
  await db.$transaction((tx) =>
    createEnrolments(tx, sqlDialectOf(db), datasetId, [
      ...Array.from({ length: 2_500 }, (_, i) => ({
        personId: BigInt(9_000_000_000 - i * 3),
        identityAddress: identity(i + 1),
        patientAddress: i % 2 === 0 ? wallet(i + 1) : null,
      })),
      // Enrolled by wallet, identity not bound yet: the wallet's own consent does not count.
      { personId: 1n, patientAddress: wallet(4_000) },
    ]),
  );
  const consent = (patientAddress: string, id: string, granted: boolean) => ({
    patientAddress,
    datasetId: id,
    granted,
    nonce: toDbUint(1),
    lastBlock: 5n,
    lastLogIndex: 0,
    lastTxHash: `0x${"00".repeat(32)}`,
  });
  await db.consentState.createMany({
    data: [
      ...Array.from({ length: 2_500 }, (_, i) => i)
        .filter((i) => i % 3 === 0)
        .map((i) => consent(identity(i + 1), datasetId, i % 7 !== 0)),
      // Consent for another dataset, and a consenting identity that is not enrolled.
      consent(identity(2), other, true),
      consent(identity(5_000), datasetId, true),
      // Wallets that consented themselves (before identities): a bound one whose identity did
      // not consent (the third person), and an unbound one.
      consent(wallet(3), datasetId, true),
      consent(wallet(4_000), datasetId, true),
    ],
  });
  await db.indexerCursor.create({
    data: { chainId: 31337, stream: "core", block: 42n, blockHash: `0x${"ab".repeat(32)}` },
  });
});

afterAll(async () => {
  await db?.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe("consentSnapshot", () => {
  it("is the enrolled persons with granted consent for that dataset, ascending, with their ordinals", async () => {
    const consenting = Array.from({ length: 2_500 }, (_, i) => i).filter(
      (i) => i % 3 === 0 && i % 7 !== 0,
    );
    // Enrolled in descending id order: ascending ids have descending ordinals (i + 1).
    const expected = consenting.map((i) => BigInt(9_000_000_000 - i * 3)).reverse();
    const { personIds, ordinals } = await consentSnapshot(db, datasetId, 31337);
    expect(personIds).toBeInstanceOf(BigInt64Array);
    expect([...personIds]).toEqual(expected);
    expect([...ordinals]).toEqual(consenting.map((i) => i + 1).reverse());
    expect((await consentSnapshot(db, other, 31337)).personIds).toHaveLength(0);
  });

  it("comes with the indexer's block, and needs the indexer to have run", async () => {
    const snapshot = await consentSnapshot(db, datasetId, 31337);
    expect(snapshot.block).toBe(42n);
    await expect(consentSnapshot(db, datasetId, 1)).rejects.toThrow(/indexer has not run/);
  });
});
