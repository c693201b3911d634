import { devAccountKey, queryLedgerAbi, rewardDistributorAbi } from "@opencohort/chain";
import { type Hex, keccak256, parseEther, stringToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addressOf,
  buyAccess,
  CHAIN_ID,
  type ChainFixture,
  chainNow,
  claimStoredAllocation,
  enrol,
  epochStatus,
  listDataset,
  recordQuery,
  rootsPosted,
  setConsents,
  startChainFixture,
} from "../testing/fixture";
import { ensureOpenEpoch } from "./clock";
import { closeEpoch } from "./close";
import { createEpochOperator } from "./epochs";
import { readRewardRoot } from "./publish";
import { receiptProof } from "./receipts";

const EPOCH_SECONDS = 60;
const SETTLE_SECONDS = 30;
const price = parseEther("100");

let fixture: ChainFixture;
let datasetId: Hex;
// The operator's clock, set from the chain's in beforeAll: consent time is chain time, and
// the epoch windows must lie where the tests mine consent changes.
let clock: Date;
const logs: string[] = [];

/** A fresh operator each time: what a restarted process has is the database and the chain. */
const restartedOperator = () =>
  createEpochOperator({
    db: fixture.db,
    reader: fixture.reader,
    signer: fixture.signer(9),
    manifest: fixture.manifest,
    epochSeconds: EPOCH_SECONDS,
    epochSettleSeconds: SETTLE_SECONDS,
    log: (line) => logs.push(line),
    now: () => clock,
  });
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};
/** Unix seconds at which `epoch` started (its window's start). */
const startOf = async (epoch: number) => {
  const row = await fixture.db.epoch.findUniqueOrThrow({
    where: { number: epoch },
    select: { startedAt: true },
  });
  return BigInt(row.startedAt.getTime() / 1000);
};
/** Patient #index (6, 7, 8) opts in or out of the dataset at chain time `at`. */
const consent = async (index: 6 | 7 | 8, granted: boolean, at: bigint) => {
  await setConsents(
    fixture,
    [{ patientKey: devAccountKey(CHAIN_ID, index), datasetId, granted }],
    at,
  );
  await fixture.sync();
};
const operatorNonce = () => fixture.reader.getTransactionCount({ address: addressOf(9) });
const patientsShareOf = async (epoch: number) =>
  (await fixture.db.purchase.findMany({ where: { epoch }, select: { patientsShare: true } }))
    .map((purchase) => BigInt(purchase.patientsShare))
    .reduce((sum, share) => sum + share, 0n);
const allocationsOf = async (epoch: number) =>
  Object.fromEntries(
    (
      await fixture.db.rewardAllocation.findMany({
        where: { rewardEpoch: { datasetId, epoch } },
        select: { patientAddress: true, amount: true },
      })
    ).map((row) => [row.patientAddress, BigInt(row.amount)]),
  );
const consentSecondsOf = async (epoch: number) =>
  Object.fromEntries(
    (
      await fixture.db.rewardAllocation.findMany({
        where: { rewardEpoch: { datasetId, epoch } },
        select: { patientAddress: true, consentSeconds: true },
      })
    ).map((row) => [row.patientAddress, row.consentSeconds]),
  );
const claimAgainReverts = async (patientIndex: 6 | 7, epoch: number) => {
  const allocation = await fixture.db.rewardAllocation.findFirstOrThrow({
    where: { patientAddress: addressOf(patientIndex), rewardEpoch: { datasetId, epoch } },
    select: { amount: true, proof: true },
  });
  await expect(
    fixture.reader.simulateContract({
      account: fixture.signer(patientIndex).account,
      address: fixture.manifest.contracts.RewardDistributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [
        addressOf(patientIndex),
        datasetId,
        BigInt(epoch),
        BigInt(allocation.amount),
        allocation.proof as Hex[],
      ],
    }),
  ).rejects.toThrow(/AlreadyClaimed/);
};

beforeAll(async () => {
  fixture = await startChainFixture("epochs");
  // Epoch 1 starts 100 s ahead of the chain, so consent changes can be mined before it.
  clock = new Date(Number((await chainNow(fixture)) + 100n) * 1000);
  await ensureOpenEpoch(fixture.db, clock);
  datasetId = await listDataset(fixture, "cardio-epochs", price);
  await fixture.sync();
  await enrol(fixture, datasetId, 101n, addressOf(6));
  await enrol(fixture, datasetId, 102n, addressOf(7));
  // Person 103 has no enrolment: included in queries, but nobody to pay. Patient #8 consents
  // to the dataset without an enrolment in it: paid nothing.
});

afterAll(async () => {
  await fixture?.close();
});

describe("reward epochs against a real anvil and database", () => {
  it("splits an epoch's pool by consent time, posts the root, and patients claim it", async () => {
    const start = await startOf(1);
    // #6 consents from before the epoch, #7 from 41 s into it; #8 is not enrolled.
    await consent(6, true, start - 50n);
    await consent(8, true, start - 40n);
    await consent(7, true, start + 41n);
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    const pool = await patientsShareOf(1);
    expect(pool).toBeGreaterThan(0n);
    // Queries only anchor receipts; the failed one anchors nothing. None of them pays.
    const first = await recordQuery(fixture, {
      datasetId,
      epoch: 1,
      personIds: [101n, 102n, 103n],
    });
    const second = await recordQuery(fixture, { datasetId, epoch: 1, personIds: [101n] });
    await recordQuery(fixture, { datasetId, epoch: 1, personIds: [102n], status: "FAILED" });

    advance(EPOCH_SECONDS + 1);
    await restartedOperator().tick();
    expect(await epochStatus(fixture, 1)).toBe("CLOSED");
    expect(await epochStatus(fixture, 2)).toBe("OPEN");

    // A 61 s window: #6 consented all of it, #7 the last 20 s. The whole pool is paid, 61:20
    // (largest remainder: each within one unit of the exact share).
    expect(await consentSecondsOf(1)).toEqual({ [addressOf(6)]: 61, [addressOf(7)]: 20 });
    const total = pool;
    const stored = await fixture.db.rewardEpoch.findUniqueOrThrow({
      where: { datasetId_epoch: { datasetId, epoch: 1 } },
      select: { status: true, pool: true, total: true, merkleRoot: true },
    });
    expect(stored.status).toBe("CLOSING");
    expect(BigInt(stored.pool)).toBe(pool);
    expect(BigInt(stored.total ?? "0")).toBe(total);
    const amounts = await allocationsOf(1);
    expect(Object.keys(amounts).sort()).toEqual([addressOf(6), addressOf(7)].sort());
    expect((amounts[addressOf(6)] ?? 0n) + (amounts[addressOf(7)] ?? 0n)).toBe(total);
    for (const [index, seconds] of [
      [6, 61n],
      [7, 20n],
    ] as const) {
      const exact = (pool * seconds) / 81n;
      expect([exact, exact + 1n]).toContain(amounts[addressOf(index)]);
    }
    expect(await readRewardRoot(fixture, datasetId, 1)).toBe(stored.merkleRoot);

    await fixture.sync();
    const posted = await fixture.db.rewardEpoch.findUniqueOrThrow({
      where: { datasetId_epoch: { datasetId, epoch: 1 } },
      select: { status: true },
    });
    expect(posted.status).toBe("POSTED");
    const [, allocated] = await fixture.reader.readContract({
      address: fixture.manifest.contracts.RewardDistributor,
      abi: rewardDistributorAbi,
      functionName: "pool",
      args: [datasetId],
    });
    expect(allocated).toBe(total);

    expect(await claimStoredAllocation(fixture, 6, datasetId, 1)).toBe(amounts[addressOf(6)]);
    expect(await claimStoredAllocation(fixture, 7, datasetId, 1)).toBe(amounts[addressOf(7)]);
    await claimAgainReverts(6, 1);
    await fixture.sync();
    expect(
      await fixture.db.rewardAllocation.count({
        where: { rewardEpoch: { datasetId, epoch: 1 }, claimedTxHash: { not: null } },
      }),
    ).toBe(2);

    // The receipts: anchored, and each provable against the anchored root.
    const anchor = await fixture.db.receiptAnchor.findUniqueOrThrow({
      where: { epoch: 1 },
      select: { status: true, receiptCount: true },
    });
    expect(anchor).toEqual({ status: "ANCHORED", receiptCount: 2 });
    for (const query of [first, second]) {
      const found = await receiptProof(fixture.db, query.receiptHash as string);
      expect(found?.epoch).toBe(1);
      const verified = await fixture.reader.readContract({
        address: fixture.manifest.contracts.QueryLedger,
        abi: queryLedgerAbi,
        functionName: "verifyReceipt",
        args: [1n, query.receiptHash as Hex, found?.proof ?? []],
      });
      expect(verified).toBe(true);
    }
    const forged = await fixture.reader.readContract({
      address: fixture.manifest.contracts.QueryLedger,
      abi: queryLedgerAbi,
      functionName: "verifyReceipt",
      args: [1n, keccak256(stringToHex("not a receipt")), []],
    });
    expect(forged).toBe(false);
  });

  it("closes an epoch with nothing to pay or anchor without any transaction", async () => {
    const nonce = await operatorNonce();
    advance(EPOCH_SECONDS + 1);
    await restartedOperator().tick();
    expect(await epochStatus(fixture, 2)).toBe("CLOSED");
    expect(await epochStatus(fixture, 3)).toBe("OPEN");
    expect(await fixture.db.rewardEpoch.count({ where: { epoch: 2 } })).toBe(0);
    expect(await fixture.db.receiptAnchor.count({ where: { epoch: 2 } })).toBe(0);
    expect(await operatorNonce()).toBe(nonce);
  });

  it("leaves a pool unallocated when no enrolled patient consented, and still anchors", async () => {
    // #6 and #7 opt out as epoch 3 starts; only #8, who is not enrolled, still consents.
    const start = await startOf(3);
    await setConsents(
      fixture,
      [6, 7].map((index) => ({
        patientKey: devAccountKey(CHAIN_ID, index as 6 | 7),
        datasetId,
        granted: false,
      })),
      start,
    );
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    // Its query included #6's person: that pays nothing either.
    await recordQuery(fixture, { datasetId, epoch: 3, personIds: [101n, 103n] });
    // A running query holds the due epoch open for the settle time, then no longer.
    await recordQuery(fixture, { datasetId, epoch: 3, personIds: [101n], status: "RUNNING" });
    const operator = restartedOperator();
    advance(EPOCH_SECONDS + 1);
    await operator.tick();
    expect(await epochStatus(fixture, 3)).toBe("OPEN");
    expect(logs.at(-1)).toMatch(/epoch 3 is due; waiting for 1 running query/);
    advance(SETTLE_SECONDS);
    await operator.tick();
    expect(await epochStatus(fixture, 3)).toBe("CLOSED");
    expect(await fixture.db.rewardEpoch.count({ where: { epoch: 3 } })).toBe(0);
    expect(logs.join("\n")).toMatch(
      /dataset 0x\S+ was funded but no enrolled patient consented during the epoch/,
    );
    await fixture.sync();
    expect(
      await fixture.db.receiptAnchor.findUnique({ where: { epoch: 3 }, select: { status: true } }),
    ).toEqual({ status: "ANCHORED" });
  });

  it("after a crash between storing and posting, posts the stored tree, not a recomputed one", async () => {
    const start = await startOf(4);
    await consent(6, true, start + 10n);
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    const pool = await patientsShareOf(4);
    expect(pool).toBeGreaterThan(0n);
    await recordQuery(fixture, { datasetId, epoch: 4, personIds: [101n] });
    advance(EPOCH_SECONDS + 1);
    // The operator commits the close, then dies before sending anything.
    await closeEpoch(fixture, 4, clock);
    const stored = await fixture.db.rewardEpoch.findUniqueOrThrow({
      where: { datasetId_epoch: { datasetId, epoch: 4 } },
      select: { merkleRoot: true },
    });
    expect(await readRewardRoot(fixture, datasetId, 4)).toBe(`0x${"0".repeat(64)}`);
    // Indexed while the operator was down, mined before the close: recomputing would now pay
    // patient #7 too. And a receipt written late.
    await consent(7, true, start + 20n);
    const late = await recordQuery(fixture, { datasetId, epoch: 4, personIds: [102n] });

    await restartedOperator().tick();
    expect(await readRewardRoot(fixture, datasetId, 4)).toBe(stored.merkleRoot);
    expect(await rootsPosted(fixture, datasetId, 4)).toBe(1);
    expect(await allocationsOf(4)).toEqual({ [addressOf(6)]: pool });
    expect(await consentSecondsOf(4)).toEqual({ [addressOf(6)]: 51 });
    expect(await epochStatus(fixture, 4)).toBe("CLOSED");
    await expect(receiptProof(fixture.db, late.receiptHash as string)).rejects.toThrow(
      /changed after it was anchored/,
    );
    await fixture.sync();
    expect(await claimStoredAllocation(fixture, 6, datasetId, 4)).toBe(pool);
    await claimAgainReverts(6, 4);
  });

  it("after a crash between mining and recording, does not post or anchor again", async () => {
    // #6 opts out as epoch 5 starts: #7, consenting since epoch 4, is paid the whole pool.
    await consent(6, false, await startOf(5));
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    const pool = await patientsShareOf(5);
    expect(pool).toBeGreaterThan(0n);
    await recordQuery(fixture, { datasetId, epoch: 5, personIds: [102n] });
    advance(EPOCH_SECONDS + 1);
    const closed = await closeEpoch(fixture, 5, clock);
    const reward = closed?.rewards[0];
    if (!reward || !closed?.receipts) throw new Error("epoch 5 should pay and anchor");
    // The dying operator's transactions were mined; it never recorded them.
    const operatorWallet = fixture.signer(9);
    for (const hash of [
      await operatorWallet.writeContract({
        address: fixture.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [datasetId, 5n, reward.merkleRoot, reward.total],
      }),
      await operatorWallet.writeContract({
        address: fixture.manifest.contracts.QueryLedger,
        abi: queryLedgerAbi,
        functionName: "anchor",
        args: [5n, closed.receipts.root, BigInt(closed.receipts.count)],
      }),
    ]) {
      await fixture.reader.waitForTransactionReceipt({ hash });
    }

    const nonce = await operatorNonce();
    await restartedOperator().tick();
    expect(await operatorNonce()).toBe(nonce);
    expect(logs.join("\n")).toMatch(/reward root of dataset \S+ epoch 5 is on chain already/);
    expect(logs.join("\n")).toMatch(/receipt root of epoch 5 is on chain already/);
    expect(await epochStatus(fixture, 5)).toBe("CLOSED");
    expect(await rootsPosted(fixture, datasetId, 5)).toBe(1);
    await fixture.sync();
    expect(
      await fixture.db.rewardEpoch.findUnique({
        where: { datasetId_epoch: { datasetId, epoch: 5 } },
        select: { status: true },
      }),
    ).toEqual({ status: "POSTED" });
    expect(await claimStoredAllocation(fixture, 7, datasetId, 5)).toBe(pool);
    await claimAgainReverts(7, 5);
  });
});
