import {
  cohortTokenAbi,
  devAccountKey,
  LOCAL_CHAIN_ID,
  payoutAddressTypedData,
  rewardDistributorAbi,
} from "@opencohort/chain";
import { toDbUint } from "@opencohort/db";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { type Address, getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncIndexer } from "../services/indexer-sync";
import {
  buyAccess,
  type SeededDataset,
  type SeededPatient,
  seedDataset,
  startTestSystem,
  type TestSystem,
  writeAs,
} from "../testing/harness";

type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];
type DemoPatient = 6 | 7 | 8;

let system: TestSystem;
/** Maria (#6) and Jonas (#7) are enrolled in `lakeside`; Maria and Priya (#8) in `harbour`. */
let lakeside: SeededDataset;
let harbour: SeededDataset;
const callers = new Map<DemoPatient, Caller>();
/** What one consent active for a whole epoch earns in these tests. */
let unit: bigint;

/** Payout addresses nobody enrolled uses (lower-case). */
const freshAddress = () =>
  privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Address;
const payouts = {
  mariaFirst: freshAddress(),
  maria: freshAddress(),
  mariaIgnored: freshAddress(),
  mariaSecond: freshAddress(),
  jonas: freshAddress(),
  jonasLater: freshAddress(),
};

/** Indexes up to the real head (see services/indexer-sync.ts on viem's block-number cache). */
const sync = () => syncIndexer(system.services.chain);
const bigintJson = (value: unknown) =>
  JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

function callerOf(index: DemoPatient): Caller {
  const caller = callers.get(index);
  if (!caller) throw new Error(`#${index} is not signed in`);
  return caller;
}

/** The dev patient's enrolment (identity bound to their wallet) in `dataset`. */
function patientIn(dataset: SeededDataset, index: DemoPatient): SeededPatient {
  const patient = dataset.patients.find((p) => p.devIndex === index);
  if (!patient) throw new Error(`#${index} is not enrolled in ${dataset.datasetId}`);
  return patient;
}

/** `signerKey`'s signature of PayoutAddress(identity, payout, issuedAt). */
function payoutSignature(signerKey: Hex, identity: Address, payout: Address, issuedAt: bigint) {
  return privateKeyToAccount(signerKey).signTypedData(
    payoutAddressTypedData(LOCAL_CHAIN_ID, {
      identity: getAddress(identity),
      payout: getAddress(payout),
      issuedAt,
    }),
  );
}

/** Patient `index` registers `payout` for their identity in `dataset`, signed by `signerKey`. */
async function registerPayout(
  index: DemoPatient,
  dataset: SeededDataset,
  payout: Address,
  options: { issuedAt?: bigint; signerKey?: Hex; identity?: Address } = {},
) {
  const patient = patientIn(dataset, index);
  const identity = options.identity ?? patient.identity;
  const issuedAt = options.issuedAt ?? nowSeconds();
  return callerOf(index).reward.registerPayout({
    datasetId: dataset.datasetId,
    identity,
    payout,
    issuedAt,
    signature: await payoutSignature(
      options.signerKey ?? patient.identityKey,
      identity,
      payout,
      issuedAt,
    ),
  });
}

const registrationOf = (identity: Address) =>
  system.db.payoutRegistration.findUnique({
    where: { identityAddress: identity },
    select: { payoutAddress: true, issuedAt: true },
  });

interface Share {
  dataset: SeededDataset;
  identity: Address;
  payout: Address;
}

/**
 * Consents the chain shows active for a whole emulated epoch, enrolled or not: the operator
 * divides the pool by them and posts that many units as the total (apps/operator
 * rewards/pooled.ts). More than any epoch here pays, so part of each total has no leaf.
 */
const PUBLIC_CONSENTS = 10n;

/**
 * What the operator stores when it closes an epoch (close.ts): one share of `unit` per paid
 * identity, one leaf per payout address summing them, with StandardMerkleTree proofs
 * (CLOSING). `post` sends the root with the operator key (#9) and the operator's total: the
 * unit times the public whole-epoch consents.
 */
async function closeRewardEpoch(epoch: number, shares: Share[]) {
  const perPayout = new Map<Address, bigint>();
  for (const share of shares) {
    perPayout.set(share.payout, (perPayout.get(share.payout) ?? 0n) + unit);
  }
  const tree = StandardMerkleTree.of(
    [...perPayout].map(([payout, amount]) => [payout, amount.toString()]),
    ["address", "uint256"],
  );
  if (BigInt(shares.length) > PUBLIC_CONSENTS) throw new Error("more shares than consents");
  const total = unit * PUBLIC_CONSENTS;
  await system.db.rewardEpoch.create({
    data: {
      epoch,
      status: "CLOSING",
      pool: toDbUint(unit * PUBLIC_CONSENTS),
      unit: toDbUint(unit),
      total: toDbUint(total),
      merkleRoot: tree.root,
    },
    select: { epoch: true },
  });
  for (const [index, [payout, amount]] of tree.entries()) {
    await system.db.rewardPayout.create({
      data: {
        epoch,
        payoutAddress: String(payout).toLowerCase(),
        amount: toDbUint(BigInt(amount as string)),
        proof: tree.getProof(index),
      },
      select: { epoch: true },
    });
  }
  await system.db.rewardShare.createMany({
    data: shares.map((share) => ({
      epoch,
      datasetId: share.dataset.datasetId,
      identityAddress: share.identity,
      payoutAddress: share.payout,
      amount: toDbUint(unit),
    })),
  });
  return {
    post: async () => {
      await writeAs(system, 9, {
        address: system.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [BigInt(epoch), tree.root as Hex, total],
      });
      await sync();
    },
  };
}

/** Sends the PENDING claim requests as the operator's relayer would (claimBatch from #9). */
async function relayClaims() {
  const requests = await system.db.claimRelayRequest.findMany({
    where: { status: "PENDING" },
    select: { id: true, payoutAddress: true, epochs: true },
  });
  for (const request of requests) {
    const epochs = request.epochs as number[];
    const rows = await system.db.rewardPayout.findMany({
      where: { payoutAddress: request.payoutAddress, epoch: { in: epochs } },
      orderBy: { epoch: "asc" },
      select: { epoch: true, amount: true, proof: true },
    });
    const { txHash } = await writeAs(system, 9, {
      address: system.manifest.contracts.RewardDistributor,
      abi: rewardDistributorAbi,
      functionName: "claimBatch",
      args: [
        getAddress(request.payoutAddress),
        rows.map((row) => ({
          epoch: BigInt(row.epoch),
          amount: BigInt(row.amount),
          proof: row.proof as Hex[],
        })),
      ],
    });
    await system.db.claimRelayRequest.update({
      where: { id: request.id },
      data: { status: "APPLIED", txHash },
      select: { id: true },
    });
  }
  await sync();
}

const balanceOf = (address: Address) =>
  system.services.chain.client.readContract({
    address: system.manifest.contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "balanceOf",
    args: [getAddress(address)],
  });

beforeAll(async () => {
  system = await startTestSystem();
  lakeside = await seedDataset(system, { persons: 40, seed: 31, devPatients: [6, 7] });
  harbour = await seedDataset(system, { persons: 40, seed: 32, devPatients: [6, 8] });
  // A purchase funds the patients' pool; a unit is a fortieth of what is unallocated, so the
  // four emulated epochs' pools (PUBLIC_CONSENTS units each) fit in it.
  await buyAccess(system, 4, lakeside);
  const [funded, allocated] = await system.services.chain.client.readContract({
    address: system.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "pool",
  });
  unit = (funded - allocated) / 40n;
  expect(unit).toBeGreaterThan(0n);
  for (const index of [6, 7, 8] as const) {
    callers.set(index, (await system.signIn(index)).caller);
  }
});
afterAll(async () => {
  await system?.stop();
});

describe("reward (patient)", () => {
  it("is for patients only", async () => {
    const researcher = (await system.signIn(4)).caller;
    const input = {
      datasetId: lakeside.datasetId,
      identity: patientIn(lakeside, 6).identity,
      payout: payouts.maria,
      issuedAt: nowSeconds(),
      signature: `0x${"11".repeat(65)}`,
    };
    for (const caller of [researcher, system.anonymous()]) {
      const code = caller === researcher ? "FORBIDDEN" : "UNAUTHORIZED";
      await expect(caller.reward.myRewards()).rejects.toMatchObject({ code });
      await expect(caller.reward.registerPayout(input)).rejects.toMatchObject({ code });
      await expect(caller.reward.requestClaim()).rejects.toMatchObject({ code });
    }
  });

  it("registers a payout address only with the identity's own signature", async () => {
    const maria = patientIn(lakeside, 6);
    const signatureRule = {
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule payout-signature"),
    };
    // Signed by her wallet, or by her identity for the other dataset.
    await expect(
      registerPayout(6, lakeside, payouts.maria, { signerKey: devAccountKey(LOCAL_CHAIN_ID, 6) }),
    ).rejects.toMatchObject(signatureRule);
    await expect(
      registerPayout(6, lakeside, payouts.maria, {
        signerKey: patientIn(harbour, 6).identityKey,
      }),
    ).rejects.toMatchObject(signatureRule);
    // Jonas cannot name the payout of Maria's identity, even with its signature.
    const signature = await payoutSignature(maria.identityKey, maria.identity, payouts.jonas, 1n);
    await expect(
      callerOf(7).reward.registerPayout({
        datasetId: lakeside.datasetId,
        identity: maria.identity,
        payout: payouts.jonas,
        issuedAt: 1n,
        signature,
      }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("rule identity-unbound"),
    });
    // Dated in the future (beyond clock skew).
    await expect(
      registerPayout(6, lakeside, payouts.maria, { issuedAt: nowSeconds() + 3_600n }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule payout-issued-at") });
    // Paid to her identity for this dataset, or for another: the chain would show it.
    for (const identity of [maria.identity, patientIn(harbour, 6).identity]) {
      await expect(registerPayout(6, lakeside, identity)).rejects.toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringContaining("rule payout-is-identity"),
      });
    }
    expect(await registrationOf(maria.identity)).toBeNull();
  });

  it("keeps the newest registration and refuses another patient's payout address", async () => {
    const maria = patientIn(lakeside, 6);
    const signedAt = nowSeconds() - 100n;
    expect(await registerPayout(6, lakeside, payouts.mariaFirst, { issuedAt: signedAt })).toEqual({
      identity: maria.identity,
      payout: payouts.mariaFirst,
      replaced: false,
    });
    // A newer registration replaces it.
    expect(await registerPayout(6, lakeside, payouts.maria, { issuedAt: signedAt + 10n })).toEqual({
      identity: maria.identity,
      payout: payouts.maria,
      replaced: true,
    });
    // An older one (a replayed or delayed message) and an equally old one are ignored.
    for (const issuedAt of [signedAt + 5n, signedAt + 10n]) {
      expect(await registerPayout(6, lakeside, payouts.mariaIgnored, { issuedAt })).toEqual({
        identity: maria.identity,
        payout: null,
        replaced: false,
      });
    }
    expect(await registrationOf(maria.identity)).toEqual({
      payoutAddress: payouts.maria,
      issuedAt: signedAt + 10n,
    });
    // Her identity for the other dataset may be paid at the same address: one leaf for both.
    await expect(registerPayout(6, harbour, payouts.maria)).resolves.toMatchObject({
      payout: payouts.maria,
    });
    // Jonas may not: his payouts would be summed with hers.
    await expect(registerPayout(7, lakeside, payouts.maria)).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("rule payout-shared"),
    });
    await expect(registerPayout(7, lakeside, payouts.jonas)).resolves.toMatchObject({
      payout: payouts.jonas,
    });
  });

  it("shows shares per dataset to their patient only, and the payouts of their addresses", async () => {
    const maria = { lakeside: patientIn(lakeside, 6), harbour: patientIn(harbour, 6) };
    const jonas = patientIn(lakeside, 7);
    const epoch1 = await closeRewardEpoch(1, [
      { dataset: lakeside, identity: maria.lakeside.identity, payout: payouts.maria },
      { dataset: harbour, identity: maria.harbour.identity, payout: payouts.maria },
      { dataset: lakeside, identity: jonas.identity, payout: payouts.jonas },
    ]);

    // Before the root is on chain: shown, not claimable, and no claim can be requested.
    const closing = await callerOf(6).reward.myRewards();
    expect(closing.payouts).toEqual([
      expect.objectContaining({
        epoch: 1,
        payoutAddress: payouts.maria,
        amount: 2n * unit,
        epochStatus: "CLOSING",
        claimable: false,
      }),
    ]);
    expect(closing.totals).toEqual({ claimable: 0n, claimed: 0n });
    await expect(callerOf(6).reward.requestClaim()).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule nothing-to-claim"),
    });

    await epoch1.post();
    const mine = await callerOf(6).reward.myRewards();
    expect(mine.distributor).toBe(system.manifest.contracts.RewardDistributor);
    expect(mine.identities).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          datasetId: lakeside.datasetId,
          identity: maria.lakeside.identity,
          payout: payouts.maria,
        }),
        expect.objectContaining({
          datasetId: harbour.datasetId,
          identity: maria.harbour.identity,
          payout: payouts.maria,
        }),
      ]),
    );
    expect(mine.identities).toHaveLength(2);
    expect(mine.shares).toEqual(
      [
        {
          epoch: 1,
          datasetId: lakeside.datasetId,
          datasetTitle: "Test cohort 31",
          payoutAddress: payouts.maria,
          amount: unit,
        },
        {
          epoch: 1,
          datasetId: harbour.datasetId,
          datasetTitle: "Test cohort 32",
          payoutAddress: payouts.maria,
          amount: unit,
        },
      ].sort((a, b) => (a.datasetId < b.datasetId ? -1 : 1)),
    );
    expect(mine.payouts).toEqual([
      expect.objectContaining({ epoch: 1, epochStatus: "POSTED", claimable: true, claimed: false }),
    ]);
    expect(mine.totals).toEqual({ claimable: 2n * unit, claimed: 0n });
    // Nothing of Jonas's (identity, payout address) leaks into Maria's view.
    const json = bigintJson(mine);
    expect(json).not.toContain(jonas.identity);
    expect(json).not.toContain(payouts.jonas);

    const his = await callerOf(7).reward.myRewards();
    expect(his.shares.map((share) => [share.datasetId, share.amount])).toEqual([
      [lakeside.datasetId, unit],
    ]);
    expect(his.payouts.map((payout) => [payout.payoutAddress, payout.amount])).toEqual([
      [payouts.jonas, unit],
    ]);
    expect(bigintJson(his)).not.toContain(payouts.maria);

    // Priya is bound in harbour but named no payout address: nothing to show or claim.
    const priya = await callerOf(8).reward.myRewards();
    expect(priya.identities).toEqual([
      expect.objectContaining({ datasetId: harbour.datasetId, payout: null }),
    ]);
    expect(priya.payouts).toEqual([]);
    await expect(callerOf(8).reward.requestClaim()).rejects.toMatchObject({
      message: expect.stringContaining("rule nothing-to-claim"),
    });
  });

  it("requests one claim per payout address, refuses while it is pending, and shows it claimed", async () => {
    const maria = { lakeside: patientIn(lakeside, 6), harbour: patientIn(harbour, 6) };
    // Maria's harbour identity is paid at another address from epoch 2 on.
    // (Dated a minute ahead, within the allowed skew: her first one may be from this second.)
    await expect(
      registerPayout(6, harbour, payouts.mariaSecond, { issuedAt: nowSeconds() + 60n }),
    ).resolves.toMatchObject({ payout: payouts.mariaSecond, replaced: true });
    const epoch2 = await closeRewardEpoch(2, [
      { dataset: lakeside, identity: maria.lakeside.identity, payout: payouts.maria },
      { dataset: harbour, identity: maria.harbour.identity, payout: payouts.mariaSecond },
      { dataset: lakeside, identity: patientIn(lakeside, 7).identity, payout: payouts.jonas },
    ]);
    await epoch2.post();

    const requested = await callerOf(6).reward.requestClaim();
    expect(requested.amount).toBe(4n * unit);
    expect(requested.requests).toHaveLength(2);
    const stored = await system.db.claimRelayRequest.findMany({
      where: { id: { in: requested.requests.map((request) => request.id) } },
      orderBy: { payoutAddress: "asc" },
      select: { payoutAddress: true, epochs: true, status: true },
    });
    expect(stored).toEqual(
      [
        { payoutAddress: payouts.maria, epochs: [1, 2], status: "PENDING" },
        { payoutAddress: payouts.mariaSecond, epochs: [2], status: "PENDING" },
      ].sort((a, b) => (a.payoutAddress < b.payoutAddress ? -1 : 1)),
    );
    await expect(callerOf(6).reward.requestClaim()).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("rule claim-pending"),
    });
    expect((await callerOf(6).reward.myRewards()).claimPending).toBe(true);
    // Jonas's claim is his own: Maria's pending one does not hold it up.
    await expect(callerOf(7).reward.requestClaim()).resolves.toMatchObject({
      amount: 2n * unit,
      requests: [{ payoutAddress: payouts.jonas, status: "PENDING" }],
    });

    const before = await Promise.all([balanceOf(payouts.maria), balanceOf(payouts.mariaSecond)]);
    await relayClaims();
    expect(await balanceOf(payouts.maria)).toBe((before[0] ?? 0n) + 3n * unit);
    expect(await balanceOf(payouts.mariaSecond)).toBe((before[1] ?? 0n) + unit);
    const after = await callerOf(6).reward.myRewards();
    expect(
      after.payouts.map((payout) => [payout.epoch, payout.payoutAddress, payout.claimed]),
    ).toEqual(
      expect.arrayContaining([
        [2, payouts.maria, true],
        [2, payouts.mariaSecond, true],
        [1, payouts.maria, true],
      ]),
    );
    expect(after.payouts).toHaveLength(3);
    expect(
      after.payouts.every((payout) => /^0x[0-9a-f]{64}$/.test(payout.claimedTxHash ?? "")),
    ).toBe(true);
    expect(after.totals).toEqual({ claimable: 0n, claimed: 4n * unit });
    expect(after.claimPending).toBe(false);
    await expect(callerOf(6).reward.requestClaim()).rejects.toMatchObject({
      message: expect.stringContaining("rule nothing-to-claim"),
    });
  });

  it("keeps a payout claimable after its address is replaced, and not its address's next owner's", async () => {
    const jonas = patientIn(lakeside, 7);
    const mariaLakeside = patientIn(lakeside, 6);
    await (
      await closeRewardEpoch(3, [
        { dataset: lakeside, identity: jonas.identity, payout: payouts.jonas },
      ])
    ).post();
    // Jonas names another address (dated ahead, within the skew: his first may be from this
    // second); his old address is then free, and Maria takes it.
    await expect(
      registerPayout(7, lakeside, payouts.jonasLater, { issuedAt: nowSeconds() + 120n }),
    ).resolves.toMatchObject({ payout: payouts.jonasLater, replaced: true });
    await expect(
      registerPayout(6, lakeside, payouts.jonas, { issuedAt: nowSeconds() + 120n }),
    ).resolves.toMatchObject({ payout: payouts.jonas, replaced: true });
    await (
      await closeRewardEpoch(4, [
        { dataset: lakeside, identity: mariaLakeside.identity, payout: payouts.jonas },
        { dataset: lakeside, identity: jonas.identity, payout: payouts.jonasLater },
      ])
    ).post();

    const unclaimed = (rewards: Awaited<ReturnType<Caller["reward"]["myRewards"]>>) =>
      rewards.payouts
        .filter((payout) => payout.claimable)
        .map((payout) => [payout.epoch, payout.payoutAddress]);
    expect(unclaimed(await callerOf(7).reward.myRewards())).toEqual([
      [4, payouts.jonasLater],
      [3, payouts.jonas],
    ]);
    expect(unclaimed(await callerOf(6).reward.myRewards())).toEqual([[4, payouts.jonas]]);

    const his = await callerOf(7).reward.requestClaim();
    expect(his.amount).toBe(2n * unit);
    const requested = await system.db.claimRelayRequest.findMany({
      where: { id: { in: his.requests.map((request) => request.id) } },
      select: { payoutAddress: true, epochs: true },
    });
    expect(requested).toEqual(
      expect.arrayContaining([
        { payoutAddress: payouts.jonas, epochs: [3] },
        { payoutAddress: payouts.jonasLater, epochs: [4] },
      ]),
    );
    expect(requested).toHaveLength(2);
    // Jonas's pending claim at the address is not Maria's: hers goes ahead and neither sees
    // the other's request.
    const hers = await callerOf(6).reward.requestClaim();
    expect(hers.amount).toBe(unit);
    expect(hers.requests).toEqual([expect.objectContaining({ payoutAddress: payouts.jonas })]);
    const hisIds = his.requests.map((request) => request.id);
    const herView = await callerOf(6).reward.myRewards();
    expect(herView.claimRequests.some((request) => hisIds.includes(request.id))).toBe(false);
    expect(herView.claimRequests.map((request) => request.id)).toContain(hers.requests[0]?.id);
  });
});
