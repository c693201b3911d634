/**
 * Reward epochs end to end against a real anvil and database: one pooled root per epoch over
 * every dataset, paid per payout address (rewards/pooled.ts), posted once whatever the
 * operator's crashes, and claimable on chain.
 */
import {
  type ConsentIdentity,
  devAccountKey,
  queryLedgerAbi,
  rewardDistributorAbi,
} from "@opencohort/chain";
import { type Address, type Hex, keccak256, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addressOf,
  buyAccess,
  CHAIN_ID,
  type ChainFixture,
  type ConsentChangeToSend,
  chainNow,
  chainWholeEpochConsents,
  claimStoredPayout,
  distributorPool,
  enrol,
  epochStatus,
  identityOf,
  listDataset,
  recordQuery,
  registerPayout,
  rootsPosted,
  setConsents,
  simulateStoredClaim,
  startChainFixture,
  storedPayouts,
} from "../testing/fixture";
import { ensureOpenEpoch } from "./clock";
import { closeEpoch } from "./close";
import { createEpochOperator } from "./epochs";
import { readRewardRoot } from "./publish";
import { receiptProof } from "./receipts";

const EPOCH_SECONDS = 60;
const SETTLE_SECONDS = 30;
const price = parseEther("100");
const ZERO_ROOT = `0x${"0".repeat(64)}`;

const keyOf = (label: string) => keccak256(stringToHex(`operator-epochs-${label}`));
const addressOfKey = (key: Hex) => privateKeyToAccount(key).address.toLowerCase() as Address;

/** Persons enrolled in dataset B by identity alone, none with a payout address. */
const UNPAID_SYNTHETIC = 17;
/** Patient #7's payout address: not their wallet. */
const payout7 = addressOfKey(keyOf("payout-7"));
/** A synthetic person's payout address, registered only after epoch 4 closed. */
const payoutS0 = addressOfKey(keyOf("payout-s0"));
const lateWalletKey = keyOf("late-wallet");
const leaverWalletKey = keyOf("leaver-wallet");

let fixture: ChainFixture;
let datasetA: Hex;
let datasetB: Hex;
/** Consent identities, by who and which dataset. */
let id6A: ConsentIdentity;
let id6B: ConsentIdentity;
let id7A: ConsentIdentity;
let lateA: ConsentIdentity;
let leaverB: ConsentIdentity;
let synthetic: ConsentIdentity[];
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
const change = (identity: ConsentIdentity | Hex, datasetId: Hex, granted: boolean) => ({
  patientKey: typeof identity === "string" ? identity : identity.privateKey,
  datasetId,
  granted,
});
/** Consent changes mined at chain time `at`, then mirrored. */
const consentAt = async (changes: ConsentChangeToSend[], at: bigint) => {
  await setConsents(fixture, changes, at);
  await fixture.sync();
};
const operatorNonce = () => fixture.reader.getTransactionCount({ address: addressOf(9) });
const storedEpoch = (epoch: number) =>
  fixture.db.rewardEpoch.findUniqueOrThrow({
    where: { epoch },
    select: { status: true, pool: true, unit: true, total: true, merkleRoot: true },
  });
const claimAgainReverts = (payout: Address, epoch: number) =>
  expect(simulateStoredClaim(fixture, payout, epoch)).rejects.toThrow(/AlreadyClaimed/);

beforeAll(async () => {
  fixture = await startChainFixture("epochs");
  // Epoch 1 starts 100 s ahead of the chain, so consent changes can be mined before it.
  clock = new Date(Number((await chainNow(fixture)) + 100n) * 1000);
  await ensureOpenEpoch(fixture.db, clock);
  datasetA = await listDataset(fixture, "cardio-epochs", price);
  datasetB = await listDataset(fixture, "lung-epochs", price);
  await fixture.sync();

  const wallet = (index: 6 | 7 | 8) => devAccountKey(CHAIN_ID, index);
  id6A = await identityOf(wallet(6), datasetA);
  id6B = await identityOf(wallet(6), datasetB);
  id7A = await identityOf(wallet(7), datasetA);
  lateA = await identityOf(lateWalletKey, datasetA);
  leaverB = await identityOf(leaverWalletKey, datasetB);
  synthetic = Array.from({ length: UNPAID_SYNTHETIC }, (_, i) => {
    const privateKey = keyOf(`synthetic-${i}`);
    return { privateKey, address: addressOfKey(privateKey) };
  });
  const unenrolledA = await identityOf(wallet(8), datasetA);

  // Patient #6 is in both datasets and is paid at their wallet; #7 in A, paid elsewhere.
  await enrol(fixture, datasetA, 101n, { identity: id6A.address, wallet: addressOf(6) });
  await enrol(fixture, datasetB, 201n, { identity: id6B.address, wallet: addressOf(6) });
  await enrol(fixture, datasetA, 102n, { identity: id7A.address, wallet: addressOf(7) });
  await enrol(fixture, datasetA, 104n, {
    identity: lateA.address,
    wallet: addressOfKey(lateWalletKey),
  });
  await enrol(fixture, datasetB, 203n, {
    identity: leaverB.address,
    wallet: addressOfKey(leaverWalletKey),
  });
  // Imported by identity alone (as the dev stack's synthetic persons): never paid.
  for (const [i, identity] of synthetic.entries()) {
    await enrol(fixture, datasetB, 300n + BigInt(i), { identity: identity.address });
  }
  // Enrolled by wallet but never bound: the wallet's own consent does not count.
  await enrol(fixture, datasetB, 208n, { wallet: addressOf(8) });
  // Person 103 of A has no enrolment: included in queries, nobody to pay.

  await registerPayout(fixture, id6A, addressOf(6));
  await registerPayout(fixture, id6B, addressOf(6));
  await registerPayout(fixture, id7A, payout7);
  await registerPayout(fixture, lateA, addressOfKey(lateWalletKey));
  await registerPayout(fixture, leaverB, addressOfKey(leaverWalletKey));

  const start = await startOf(1);
  await consentAt(
    [
      change(id6A, datasetA, true),
      change(id6B, datasetB, true),
      change(id7A, datasetA, true),
      change(leaverB, datasetB, true),
      ...synthetic.map((identity) => change(identity, datasetB, true)),
      // Consent without an enrolment, and a wallet's own consent: public like any other, so
      // they count in the unit's divisor; nobody is paid for them.
      change(unenrolledA, datasetA, true),
      change(wallet(8), datasetB, true),
    ],
    start - 50n,
  );
});

afterAll(async () => {
  await fixture?.close();
});

describe("reward epochs against a real anvil and database", () => {
  it("closes an epoch with consents but nothing unallocated without any transaction", async () => {
    const nonce = await operatorNonce();
    expect((await distributorPool(fixture)).funded).toBe(0n);
    advance(EPOCH_SECONDS + 1);
    await restartedOperator().tick();
    expect(await epochStatus(fixture, 1)).toBe("CLOSED");
    expect(await epochStatus(fixture, 2)).toBe("OPEN");
    expect(await fixture.db.rewardEpoch.count({ where: { epoch: 1 } })).toBe(0);
    expect(await fixture.db.receiptAnchor.count({ where: { epoch: 1 } })).toBe(0);
    expect(await operatorNonce()).toBe(nonce);
    expect(logs).toContain("epoch 1 closed with nothing to pay or anchor; epoch 2 opened");
  });

  it("pays the pool of all datasets as one root, one leaf per payout address, and patients claim it", async () => {
    const start = await startOf(2);
    // Mid-epoch changes: neither consent lasts the whole epoch, so neither counts.
    await consentAt([change(leaverB, datasetB, false)], start + 30n);
    await consentAt([change(lateA, datasetA, true)], start + 41n);
    await buyAccess(fixture, datasetA, price);
    await buyAccess(fixture, datasetB, price);
    await fixture.sync();
    const { unallocated: pool, funded } = await distributorPool(fixture);
    const purchases = await fixture.db.purchase.findMany({ select: { patientsShare: true } });
    expect(purchases).toHaveLength(2);
    expect(funded).toBe(purchases.reduce((sum, row) => sum + BigInt(row.patientsShare), 0n));
    // Queries only anchor receipts; the failed one anchors nothing. None of them pays.
    const first = await recordQuery(fixture, {
      datasetId: datasetA,
      epoch: 2,
      personIds: [101n, 102n, 103n],
    });
    const second = await recordQuery(fixture, { datasetId: datasetB, epoch: 2, personIds: [201n] });
    await recordQuery(fixture, {
      datasetId: datasetA,
      epoch: 2,
      personIds: [102n],
      status: "FAILED",
    });

    advance(EPOCH_SECONDS + 1);
    await restartedOperator().tick();
    expect(await epochStatus(fixture, 2)).toBe("CLOSED");
    expect(await epochStatus(fixture, 3)).toBe("OPEN");

    // Whole-epoch consents as anybody counts them on chain: #6 in A and B, #7 in A, the unpaid
    // synthetic persons, the unenrolled identity and #8's wallet (22). The unit divides the
    // pool by them and the total is that many units; three are paid.
    const consents = await chainWholeEpochConsents(fixture, 2);
    expect(consents).toBe(BigInt(3 + UNPAID_SYNTHETIC + 2));
    const unit = pool / consents;
    const total = unit * consents;
    const stored = await storedEpoch(2);
    expect(stored).toMatchObject({ status: "CLOSING" });
    expect([BigInt(stored.pool), BigInt(stored.unit), BigInt(stored.total ?? "0")]).toEqual([
      pool,
      unit,
      total,
    ]);
    // Patient #6's two datasets are one leaf at their wallet; the late joiner and the leaver,
    // though registered, are not paid.
    expect(await storedPayouts(fixture, 2)).toEqual({ [addressOf(6)]: 2n * unit, [payout7]: unit });
    const shares = await fixture.db.rewardShare.findMany({
      where: { epoch: 2 },
      orderBy: [{ payoutAddress: "asc" }, { datasetId: "asc" }],
      select: { datasetId: true, identityAddress: true, payoutAddress: true, amount: true },
    });
    expect(
      shares
        .map((share) => ({ ...share, amount: BigInt(share.amount) }))
        .sort((a, b) => (a.identityAddress < b.identityAddress ? -1 : 1)),
    ).toEqual(
      [
        { datasetId: datasetA, identityAddress: id6A.address, payoutAddress: addressOf(6) },
        { datasetId: datasetB, identityAddress: id6B.address, payoutAddress: addressOf(6) },
        { datasetId: datasetA, identityAddress: id7A.address, payoutAddress: payout7 },
      ]
        .map((share) => ({ ...share, amount: unit }))
        .sort((a, b) => (a.identityAddress < b.identityAddress ? -1 : 1)),
    );

    // One root on chain for the epoch, reserving the posted total: the units nobody can claim
    // return to the pool when the claim window ends (reclaimExpired); only the division's
    // remainder stays unallocated now.
    expect(await readRewardRoot(fixture, 2)).toBe(stored.merkleRoot);
    expect(await rootsPosted(fixture, 2)).toBe(1);
    const after = await distributorPool(fixture);
    expect(after.allocated).toBe(total);
    expect(after.unallocated).toBe(pool - total);
    expect(unit).toBeGreaterThan(0n);
    expect(after.unallocated).toBe(pool % consents);

    // The close report in the log: unit, payout addresses and total, not the consent count.
    const report = logs.find((line) => line.startsWith("epoch 2: pays"));
    expect(report).toBe(
      `epoch 2: pays ${unit} per whole-epoch consent to 2 payout address(es), total ${total} of ${pool} unallocated, root ${stored.merkleRoot?.slice(0, 10)}… stored`,
    );
    expect(logs).toContain(
      `epoch 2: 2 receipt(s), root ${(await receiptAnchorRoot(2)).slice(0, 10)}… stored`,
    );

    await fixture.sync();
    expect((await storedEpoch(2)).status).toBe("POSTED");
    // The patient claims from their wallet; #7's payout address is paid by anyone's gas.
    expect(await claimStoredPayout(fixture, addressOf(6), 2, 6)).toBe(2n * unit);
    expect(await claimStoredPayout(fixture, payout7, 2, 0)).toBe(unit);
    await claimAgainReverts(addressOf(6), 2);
    await fixture.sync();
    expect(
      await fixture.db.rewardPayout.count({ where: { epoch: 2, claimedTxHash: { not: null } } }),
    ).toBe(2);

    // The receipts: anchored, and each provable against the anchored root.
    const anchor = await fixture.db.receiptAnchor.findUniqueOrThrow({
      where: { epoch: 2 },
      select: { status: true, receiptCount: true },
    });
    expect(anchor).toEqual({ status: "ANCHORED", receiptCount: 2 });
    for (const query of [first, second]) {
      const found = await receiptProof(fixture.db, query.receiptHash as string);
      expect(found?.epoch).toBe(2);
      const verified = await fixture.reader.readContract({
        address: fixture.manifest.contracts.QueryLedger,
        abi: queryLedgerAbi,
        functionName: "verifyReceipt",
        args: [2n, query.receiptHash as Hex, found?.proof ?? []],
      });
      expect(verified).toBe(true);
    }
    const forged = await fixture.reader.readContract({
      address: fixture.manifest.contracts.QueryLedger,
      abi: queryLedgerAbi,
      functionName: "verifyReceipt",
      args: [2n, keccak256(stringToHex("not a receipt")), []],
    });
    expect(forged).toBe(false);
  });

  it("posts nothing when no consent with a payout address lasted the whole epoch, and still anchors", async () => {
    // Every paid identity opts out as epoch 3 starts; only the unpaid synthetic persons remain.
    await consentAt(
      [
        change(id6A, datasetA, false),
        change(id6B, datasetB, false),
        change(id7A, datasetA, false),
        change(lateA, datasetA, false),
      ],
      await startOf(3),
    );
    await buyAccess(fixture, datasetA, price);
    await fixture.sync();
    const before = await distributorPool(fixture);
    // Its query included #6's person: that pays nothing either.
    await recordQuery(fixture, { datasetId: datasetA, epoch: 3, personIds: [101n, 103n] });
    // A running query holds the due epoch open for the settle time, then no longer.
    await recordQuery(fixture, {
      datasetId: datasetA,
      epoch: 3,
      personIds: [101n],
      status: "RUNNING",
    });
    const operator = restartedOperator();
    advance(EPOCH_SECONDS + 1);
    await operator.tick();
    expect(await epochStatus(fixture, 3)).toBe("OPEN");
    expect(logs.at(-1)).toMatch(/epoch 3 is due; waiting for 1 running query/);
    advance(SETTLE_SECONDS);
    await operator.tick();
    expect(await epochStatus(fixture, 3)).toBe("CLOSED");
    expect(await fixture.db.rewardEpoch.count({ where: { epoch: 3 } })).toBe(0);
    expect(await rootsPosted(fixture, 3)).toBe(0);
    expect(await distributorPool(fixture)).toEqual(before);
    expect(logs).toContain(
      "epoch 3: no rewards to pay (no consent active for the whole epoch with a payout address, or nothing unallocated)",
    );
    await fixture.sync();
    expect(
      await fixture.db.receiptAnchor.findUnique({ where: { epoch: 3 }, select: { status: true } }),
    ).toEqual({ status: "ANCHORED" });
  });

  it("after a crash between storing and posting, posts the stored tree, not a recomputed one", async () => {
    // #6 opts in to A again as epoch 4 starts (a whole-epoch consent).
    await consentAt([change(id6A, datasetA, true)], await startOf(4));
    await buyAccess(fixture, datasetA, price);
    await fixture.sync();
    const { unallocated: pool } = await distributorPool(fixture);
    await recordQuery(fixture, { datasetId: datasetA, epoch: 4, personIds: [101n] });
    advance(EPOCH_SECONDS + 1);
    // The operator commits the close, then dies before sending anything.
    const closed = await closeEpoch(fixture, 4, clock);
    // #6 in A, the synthetic persons, the unenrolled identity and #8's wallet; one paid.
    const consents = await chainWholeEpochConsents(fixture, 4);
    expect(consents).toBe(BigInt(1 + UNPAID_SYNTHETIC + 2));
    const unit = pool / consents;
    expect(closed?.reward).toEqual({
      pool,
      unit,
      total: unit * consents,
      payoutAddresses: 1,
      merkleRoot: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    const stored = await storedEpoch(4);
    expect(await readRewardRoot(fixture, 4)).toBe(ZERO_ROOT);
    // While the operator is down a synthetic person registers a payout address (recomputing
    // would now pay them too), and a receipt is written late.
    await registerPayout(fixture, synthetic[0] as ConsentIdentity, payoutS0);
    const late = await recordQuery(fixture, { datasetId: datasetA, epoch: 4, personIds: [102n] });

    await restartedOperator().tick();
    expect(await readRewardRoot(fixture, 4)).toBe(stored.merkleRoot);
    expect(await rootsPosted(fixture, 4)).toBe(1);
    expect(await storedPayouts(fixture, 4)).toEqual({ [addressOf(6)]: unit });
    expect(await epochStatus(fixture, 4)).toBe("CLOSED");
    await expect(receiptProof(fixture.db, late.receiptHash as string)).rejects.toThrow(
      /changed after it was anchored/,
    );
    await fixture.sync();
    expect(await claimStoredPayout(fixture, addressOf(6), 4, 6)).toBe(unit);
    await claimAgainReverts(addressOf(6), 4);
  });

  it("after a crash between mining and recording, does not post or anchor again", async () => {
    await buyAccess(fixture, datasetB, price);
    await fixture.sync();
    const { unallocated: pool } = await distributorPool(fixture);
    await recordQuery(fixture, { datasetId: datasetB, epoch: 5, personIds: [300n] });
    advance(EPOCH_SECONDS + 1);
    const closed = await closeEpoch(fixture, 5, clock);
    const reward = closed?.reward;
    if (!reward || !closed?.receipts) throw new Error("epoch 5 should pay and anchor");
    // Now the synthetic person registered in epoch 4 is paid too, at their own address.
    const unit = pool / (await chainWholeEpochConsents(fixture, 5));
    expect(await storedPayouts(fixture, 5)).toEqual({ [addressOf(6)]: unit, [payoutS0]: unit });
    // The dying operator's transactions were mined; it never recorded them.
    const operatorWallet = fixture.signer(9);
    for (const hash of [
      await operatorWallet.writeContract({
        address: fixture.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [5n, reward.merkleRoot, reward.total],
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
    expect(logs.join("\n")).toMatch(/reward root of epoch 5 is on chain already/);
    expect(logs.join("\n")).toMatch(/receipt root of epoch 5 is on chain already/);
    expect(await epochStatus(fixture, 5)).toBe("CLOSED");
    expect(await rootsPosted(fixture, 5)).toBe(1);
    await fixture.sync();
    expect((await storedEpoch(5)).status).toBe("POSTED");
    expect(await claimStoredPayout(fixture, payoutS0, 5)).toBe(unit);
    await claimAgainReverts(payoutS0, 5);
  });
});

async function receiptAnchorRoot(epoch: number): Promise<string> {
  const anchor = await fixture.db.receiptAnchor.findUniqueOrThrow({
    where: { epoch },
    select: { root: true },
  });
  return anchor.root;
}
