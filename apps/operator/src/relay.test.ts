/**
 * The claim relay on a real anvil and database: patients' claim requests (reward.requestClaim)
 * sent by the relayer as one `claimBatch` per payout address, the relayer paying the gas and
 * the tokens going to the payout address, exactly once across claims made meanwhile, crashes
 * and refusals.
 */
import {
  type ConsentIdentity,
  createSigningClient,
  devAccountKey,
  rewardDistributorAbi,
} from "@opencohort/chain";
import { type Address, type Hex, keccak256, parseEther, parseEventLogs, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureOpenEpoch } from "./epochs/clock";
import { createEpochOperator } from "./epochs/epochs";
import { reclaimExpiredEpochs } from "./epochs/reclaim";
import { relayPendingClaims } from "./relay";
import {
  addressOf,
  buyAccess,
  type ChainFixture,
  chainNow,
  claimStoredPayout,
  distributorPool,
  enrol,
  epochStatus,
  identityOf,
  listDataset,
  registerPayout,
  setConsents,
  startChainFixture,
  storedPayouts,
  tokenBalance,
} from "./testing/fixture";

const EPOCH_SECONDS = 60;
const price = parseEther("100");
/** The relayer is the operator's account, as in main.ts. */
const RELAYER = 9;

const keyOf = (label: string) => keccak256(stringToHex(`operator-relay-${label}`));
const addressOfKey = (key: Hex) => privateKeyToAccount(key).address.toLowerCase() as Address;
/** Four patients, each paid at a fresh address without any ether: it never pays gas. */
const PATIENTS = ["a", "b", "c", "d"] as const;
type Patient = (typeof PATIENTS)[number];
const payoutOf = (patient: Patient) => addressOfKey(keyOf(`payout-${patient}`));

let fixture: ChainFixture;
/** Stored leaves of epochs 1 and 2, payout address -> amount. */
let leaves: Record<number, Record<string, bigint>>;
const logs: string[] = [];

const relay = (signer = fixture.signer(RELAYER)) =>
  relayPendingClaims(fixture.db, signer, fixture.reader, fixture.manifest, (line) =>
    logs.push(line),
  );
const relayerNonce = () => fixture.reader.getTransactionCount({ address: addressOf(RELAYER) });
const requestClaim = (patient: Patient, epochs: number[], sent?: { txHash: Hex }) =>
  fixture.db.claimRelayRequest.create({
    data: {
      payoutAddress: payoutOf(patient),
      epochs,
      ...(sent ? { status: "SUBMITTED" as const, txHash: sent.txHash.toLowerCase() } : {}),
    },
    select: { id: true },
  });
const requestRow = (id: string) =>
  fixture.db.claimRelayRequest.findUniqueOrThrow({
    where: { id },
    select: { status: true, txHash: true, error: true, attempts: true },
  });
const leafOf = (epoch: number, patient: Patient) => {
  const amount = leaves[epoch]?.[payoutOf(patient)];
  if (amount === undefined) throw new Error(`no leaf of ${patient} in epoch ${epoch}`);
  return amount;
};
/** The Claimed events of a transaction, as (epoch, account, amount). */
async function claimedIn(txHash: Hex) {
  const receipt = await fixture.reader.getTransactionReceipt({ hash: txHash });
  return parseEventLogs({
    abi: rewardDistributorAbi,
    eventName: "Claimed",
    logs: receipt.logs,
  }).map((log) => ({
    epoch: Number(log.args.epoch),
    account: log.args.account.toLowerCase(),
    amount: log.args.amount,
  }));
}
/** The relayer's `claimBatch` as a dying relayer sent it, before it recorded anything. */
async function sendClaimBatchAsRelayer(patient: Patient, epoch: number): Promise<Hex> {
  const leaf = await fixture.db.rewardPayout.findUniqueOrThrow({
    where: { epoch_payoutAddress: { epoch, payoutAddress: payoutOf(patient) } },
    select: { amount: true, proof: true },
  });
  return fixture.signer(RELAYER).writeContract({
    address: fixture.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "claimBatch",
    args: [
      payoutOf(patient),
      [{ epoch: BigInt(epoch), amount: BigInt(leaf.amount), proof: leaf.proof as Hex[] }],
    ],
  });
}

beforeAll(async () => {
  fixture = await startChainFixture("relay");
  let clock = new Date(Number((await chainNow(fixture)) + 100n) * 1000);
  await ensureOpenEpoch(fixture.db, clock);
  const datasetId = await listDataset(fixture, "relay-cohort", price);
  await fixture.sync();
  const identities: ConsentIdentity[] = [];
  for (const [i, patient] of PATIENTS.entries()) {
    const walletKey = keyOf(`wallet-${patient}`);
    const identity = await identityOf(walletKey, datasetId);
    identities.push(identity);
    await enrol(fixture, datasetId, 500n + BigInt(i), {
      identity: identity.address,
      wallet: addressOfKey(walletKey),
    });
    await registerPayout(fixture, identity, payoutOf(patient));
  }
  // Somebody enrolled nowhere consents too: a unit of each epoch's total that no leaf claims.
  const stranger = keyOf("stranger");
  await setConsents(
    fixture,
    [...identities.map((identity) => identity.privateKey), stranger].map((patientKey) => ({
      patientKey,
      datasetId,
      granted: true,
    })),
    BigInt(clock.getTime() / 1000) - 50n,
  );
  // Two epochs, each bought once, closed and posted by the operator: every patient has a
  // leaf in both.
  const operator = createEpochOperator({
    db: fixture.db,
    reader: fixture.reader,
    signer: fixture.signer(RELAYER),
    manifest: fixture.manifest,
    epochSeconds: EPOCH_SECONDS,
    epochSettleSeconds: 0,
    log: () => {},
    now: () => clock,
  });
  leaves = {};
  for (const epoch of [1, 2]) {
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    clock = new Date(clock.getTime() + (EPOCH_SECONDS + 1) * 1000);
    await operator.tick();
    expect(await epochStatus(fixture, epoch)).toBe("CLOSED");
    leaves[epoch] = await storedPayouts(fixture, epoch);
    expect(Object.keys(leaves[epoch] ?? {}).sort()).toEqual(PATIENTS.map(payoutOf).sort());
  }
  await fixture.sync();
});

afterAll(async () => {
  await fixture?.rpc("evm_setAutomine", [true]).catch(() => {});
  await fixture?.close();
});

describe("relayPendingClaims on anvil", () => {
  it("claims a request's epochs in one transaction from the relayer, paying the payout address", async () => {
    const { id } = await requestClaim("a", [1, 2]);
    const relayerTokens = await tokenBalance(fixture, addressOf(RELAYER));
    const before = await tokenBalance(fixture, payoutOf("a"));
    const nonce = await relayerNonce();

    expect(await relay()).toBe(1);
    const row = await requestRow(id);
    expect(row).toMatchObject({ status: "APPLIED", error: null, attempts: 1 });
    const txHash = row.txHash as Hex;
    const tx = await fixture.reader.getTransaction({ hash: txHash });
    expect(tx.from.toLowerCase()).toBe(addressOf(RELAYER));
    expect(tx.to?.toLowerCase()).toBe(fixture.manifest.contracts.RewardDistributor.toLowerCase());
    expect(await relayerNonce()).toBe(nonce + 1);
    expect(await claimedIn(txHash)).toEqual([
      { epoch: 1, account: payoutOf("a"), amount: leafOf(1, "a") },
      { epoch: 2, account: payoutOf("a"), amount: leafOf(2, "a") },
    ]);
    expect((await tokenBalance(fixture, payoutOf("a"))) - before).toBe(
      leafOf(1, "a") + leafOf(2, "a"),
    );
    expect(await tokenBalance(fixture, addressOf(RELAYER))).toBe(relayerTokens);
    // The patient's reward page learns it from the mirrored Claimed events.
    await fixture.sync();
    const claimed = await fixture.db.rewardPayout.findMany({
      where: { payoutAddress: payoutOf("a") },
      select: { claimedTxHash: true },
    });
    expect(claimed).toEqual([{ claimedTxHash: txHash }, { claimedTxHash: txHash }]);
  });

  it("leaves out epochs already claimed, and applies a request with nothing left without a transaction", async () => {
    // The patient claimed epoch 1 themselves after requesting both.
    const { id } = await requestClaim("b", [1, 2]);
    expect(await claimStoredPayout(fixture, payoutOf("b"), 1, 0)).toBe(leafOf(1, "b"));
    const before = await tokenBalance(fixture, payoutOf("b"));

    expect(await relay()).toBe(1);
    const row = await requestRow(id);
    expect(row.status).toBe("APPLIED");
    expect(await claimedIn(row.txHash as Hex)).toEqual([
      { epoch: 2, account: payoutOf("b"), amount: leafOf(2, "b") },
    ]);
    expect((await tokenBalance(fixture, payoutOf("b"))) - before).toBe(leafOf(2, "b"));

    const again = await requestClaim("b", [1, 2]);
    const nonce = await relayerNonce();
    expect(await relay()).toBe(0);
    expect(await requestRow(again.id)).toMatchObject({
      status: "APPLIED",
      txHash: null,
      error: null,
    });
    expect(await relayerNonce()).toBe(nonce);
    expect(await tokenBalance(fixture, payoutOf("b"))).toBe(before + leafOf(2, "b"));
  });

  it("settles a request left SUBMITTED by a crash, without claiming twice", async () => {
    // Mined before the relayer died: settled from the chain, nothing sent.
    const minedHash = await sendClaimBatchAsRelayer("c", 1);
    await fixture.reader.waitForTransactionReceipt({ hash: minedHash });
    const mined = await requestClaim("c", [1], { txHash: minedHash });
    let nonce = await relayerNonce();
    expect(await relay()).toBe(0);
    expect(await requestRow(mined.id)).toMatchObject({ status: "APPLIED", txHash: minedHash });
    expect(await relayerNonce()).toBe(nonce);

    // Still in the mempool when the relayer restarts: waited for, not sent again.
    const before = await tokenBalance(fixture, payoutOf("c"));
    nonce = await relayerNonce();
    await fixture.rpc("evm_setAutomine", [false]);
    const pendingHash = await sendClaimBatchAsRelayer("c", 2);
    const pending = await requestClaim("c", [2], { txHash: pendingHash });
    const relaying = relay();
    const deadline = Date.now() + 30_000;
    while (!logs.some((line) => line.includes(`sent before (tx ${pendingHash})`))) {
      if (Date.now() > deadline) throw new Error(`the relayer did not wait:\n${logs.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await fixture.rpc("evm_setAutomine", [true]);
    await fixture.rpc("evm_mine");
    expect(await relaying).toBe(1);
    expect(await requestRow(pending.id)).toMatchObject({ status: "APPLIED", txHash: pendingHash });
    // One transaction: the one the dying relayer sent.
    expect(await relayerNonce()).toBe(nonce + 1);
    expect((await tokenBalance(fixture, payoutOf("c"))) - before).toBe(leafOf(2, "c"));
  });

  it("keeps a request it could not send, and claims it on the next turn", async () => {
    const { id } = await requestClaim("d", [2]);
    // The relayer's node is unreachable when it sends (reads still work).
    const unreachable = createSigningClient(
      { chainId: fixture.manifest.chainId, rpcUrl: "http://127.0.0.1:1" },
      devAccountKey(fixture.manifest.chainId, RELAYER),
    );
    await expect(relay(unreachable)).rejects.toThrow(/HTTP request failed/);
    expect(await requestRow(id)).toEqual({
      status: "PENDING",
      txHash: null,
      error: "The relayer could not reach the chain; it will try again.",
      attempts: 1,
    });

    const before = await tokenBalance(fixture, payoutOf("d"));
    expect(await relay()).toBe(1);
    expect(await requestRow(id)).toMatchObject({ status: "APPLIED", error: null, attempts: 2 });
    expect((await tokenBalance(fixture, payoutOf("d"))) - before).toBe(leafOf(2, "d"));
  });

  it("fails a request the chain refuses, with the contract's reason", async () => {
    // The claim window (365 days on the local deployment) ends before the request is relayed.
    const [, , , , expiresAt] = await fixture.reader.readContract({
      address: fixture.manifest.contracts.RewardDistributor,
      abi: rewardDistributorAbi,
      functionName: "epochOf",
      args: [1n],
    });
    await fixture.rpc("evm_setNextBlockTimestamp", [Number(expiresAt) + 1]);
    await fixture.rpc("evm_mine");
    const { id } = await requestClaim("d", [1]);
    const nonce = await relayerNonce();
    const before = await tokenBalance(fixture, payoutOf("d"));

    expect(await relay()).toBe(0);
    expect(await requestRow(id)).toEqual({
      status: "FAILED",
      txHash: null,
      error: "The chain refused the claim: ClaimWindowOver.",
      attempts: 1,
    });
    expect(await relayerNonce()).toBe(nonce);
    expect(await tokenBalance(fixture, payoutOf("d"))).toBe(before);
    // Settled: the next turn leaves it alone.
    expect(await relay()).toBe(0);
    expect((await requestRow(id)).attempts).toBe(1);
  });

  it("returns what expired epochs left unclaimed (and the units no leaf claims) to the pool, once", async () => {
    // The chain is past epoch 1's claim window (previous test) and so past epoch 2's.
    const read = (epoch: bigint) =>
      fixture.reader.readContract({
        address: fixture.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "epochOf",
        args: [epoch],
      });
    const left = async () => {
      let sum = 0n;
      for (const epoch of [1n, 2n]) {
        const [, total, claimed] = await read(epoch);
        sum += total - claimed;
      }
      return sum;
    };
    const leftovers = await left();
    // At least each epoch's units without a leaf (the stranger's): total minus the leaves.
    for (const epoch of [1, 2]) {
      const [, total] = await read(BigInt(epoch));
      const inLeaves = Object.values(leaves[epoch] ?? {}).reduce((sum, amount) => sum + amount, 0n);
      expect(total - inLeaves).toBe(total / BigInt(PATIENTS.length + 1));
    }
    expect(leftovers).toBeGreaterThan(0n);
    const { allocated: allocatedBefore } = await distributorPool(fixture);
    const context = {
      db: fixture.db,
      reader: fixture.reader,
      signer: fixture.signer(RELAYER),
      manifest: fixture.manifest,
      log: (line: string) => logs.push(line),
    };
    const report = await reclaimExpiredEpochs(context);
    expect(report.reclaimed.map((entry) => entry.epoch)).toEqual([1, 2]);
    expect(report.reclaimed.reduce((sum, entry) => sum + entry.amount, 0n)).toBe(leftovers);
    expect(await left()).toBe(0n);
    const { allocated: allocatedAfter } = await distributorPool(fixture);
    expect(allocatedBefore - allocatedAfter).toBe(leftovers);
    // Both epochs are settled: governance's walk starts after them.
    expect(
      await fixture.reader.readContract({
        address: fixture.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "settledCursor",
      }),
    ).toBe(2n);
    const nonce = await relayerNonce();
    expect((await reclaimExpiredEpochs(context)).reclaimed).toEqual([]);
    expect(await relayerNonce()).toBe(nonce);
  });
});
