import { cohortTokenAbi, rewardDistributorAbi } from "@opencohort/chain";
import { toDbUint } from "@opencohort/db";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncIndexer } from "../services/indexer-sync";
import {
  buyAccess,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
  writeAs,
} from "../testing/harness";

let system: TestSystem;
let dataset: SeededDataset;
type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];
let patient: { caller: Caller; address: Address };

/** Indexes up to the real head (see services/indexer-sync.ts on viem's block-number cache). */
const sync = () => syncIndexer(system.services.chain);
const token = (n: bigint) => n * 10n ** 18n;

beforeAll(async () => {
  system = await startTestSystem();
  dataset = await seedDataset(system, { persons: 300, seed: 31 });
  // A purchase funds the dataset's patient pool (30% of 100 tokens).
  await buyAccess(system, 4, dataset);
  patient = await system.signIn(6);
});
afterAll(async () => {
  await system?.stop();
});

/**
 * What the operator does at the end of an epoch: allocations with StandardMerkleTree proofs
 * stored (CLOSING), then the root posted on chain with the operator key (#9).
 */
async function closeRewardEpoch(
  epoch: number,
  shares: [Address, bigint][],
  consentSeconds: number | null = 300,
) {
  const tree = StandardMerkleTree.of(
    shares.map(([address, amount]) => [address, amount.toString()]),
    ["address", "uint256"],
  );
  const total = shares.reduce((sum, [, amount]) => sum + amount, 0n);
  await system.db.epoch.upsert({
    where: { number: epoch },
    create: { number: epoch, status: "CLOSED", closedAt: new Date() },
    update: {},
    select: { number: true },
  });
  const rewardEpoch = await system.db.rewardEpoch.create({
    data: {
      datasetId: dataset.datasetId,
      epoch,
      status: "CLOSING",
      pool: toDbUint(total),
      total: toDbUint(total),
      merkleRoot: tree.root,
    },
    select: { id: true },
  });
  for (const [index, [address, amount]] of tree.entries()) {
    await system.db.rewardAllocation.create({
      data: {
        rewardEpochId: rewardEpoch.id,
        patientAddress: String(address).toLowerCase(),
        amount: toDbUint(BigInt(amount as string)),
        consentSeconds,
        proof: tree.getProof(index),
      },
      select: { patientAddress: true },
    });
  }
  return {
    tree,
    total,
    post: () =>
      writeAs(system, 9, {
        address: system.manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [dataset.datasetId, BigInt(epoch), tree.root as Hex, total],
      }),
  };
}

const balanceOf = (address: Address) =>
  system.services.chain.client.readContract({
    address: system.manifest.contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "balanceOf",
    args: [address],
  });

describe("reward.myAllocations (patient)", () => {
  it("claims on chain with the returned proof, then shows the allocation claimed", async () => {
    const someoneElse = dataset.patients.find((p) => p.devIndex === undefined)?.address as Address;
    const epoch1 = await closeRewardEpoch(1, [
      [patient.address, token(5n)],
      [someoneElse, token(3n)],
    ]);

    // Before the root is on chain: listed, not claimable, no proof handed out.
    const pending = await patient.caller.reward.myAllocations();
    expect(pending.allocations).toHaveLength(1);
    expect(pending.allocations[0]).toMatchObject({
      epoch: 1,
      amount: token(5n),
      consentSeconds: 300,
      epochStatus: "CLOSING",
      claimable: false,
      claim: null,
      proof: [],
    });
    expect(pending.claimBatch).toBeNull();

    await epoch1.post();
    await sync();
    const posted = await patient.caller.reward.myAllocations();
    expect(posted.distributor).toBe(system.manifest.contracts.RewardDistributor);
    const [allocation] = posted.allocations;
    expect(allocation).toMatchObject({
      datasetId: dataset.datasetId,
      epoch: 1,
      epochStatus: "POSTED",
      merkleRoot: epoch1.tree.root,
      claimed: false,
      claimable: true,
    });
    // Nobody else's allocation, address or amount leaks into my view.
    expect(
      JSON.stringify(posted, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    ).not.toContain(someoneElse);

    const before = await balanceOf(patient.address);
    if (!allocation?.claim) throw new Error("no claim arguments");
    await writeAs(system, 6, {
      address: allocation.claim.address,
      abi: rewardDistributorAbi,
      functionName: allocation.claim.functionName,
      args: allocation.claim.args,
    });
    expect(await balanceOf(patient.address)).toBe(before + token(5n));

    await sync();
    const claimed = await patient.caller.reward.myAllocations();
    expect(claimed.allocations[0]).toMatchObject({ claimed: true, claimable: false, claim: null });
    expect(claimed.allocations[0]?.claimedTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(claimed.totals).toEqual({ claimable: 0n, claimed: token(5n) });
  });

  it("claims several epochs at once with claimBatch", async () => {
    const someoneElse = dataset.patients.at(-1)?.address as Address;
    for (const [epoch, amount] of [
      [2, token(2n)],
      [3, token(1n)],
    ] as const) {
      // Epoch 2 as allocated before shares followed consent time: no consent seconds.
      const closed = await closeRewardEpoch(
        epoch,
        [
          [patient.address, amount],
          [someoneElse, token(1n)],
        ],
        epoch === 2 ? null : 300,
      );
      await closed.post();
    }
    await sync();
    const mine = await patient.caller.reward.myAllocations();
    expect(mine.allocations.map((a) => [a.epoch, a.claimable, a.consentSeconds])).toEqual([
      [3, true, 300],
      [2, true, null],
      [1, false, 300],
    ]);
    expect(mine.totals.claimable).toBe(token(3n));
    if (!mine.claimBatch) throw new Error("no batch");
    const before = await balanceOf(patient.address);
    await writeAs(system, 6, {
      address: mine.claimBatch.address,
      abi: rewardDistributorAbi,
      functionName: mine.claimBatch.functionName,
      args: mine.claimBatch.args,
    });
    expect(await balanceOf(patient.address)).toBe(before + token(3n));
    await sync();
    const after = await patient.caller.reward.myAllocations();
    expect(after.allocations.every((a) => a.claimed)).toBe(true);
    expect(after.claimBatch).toBeNull();
  });

  it("is for patients only", async () => {
    const researcher = await system.signIn(4);
    await expect(researcher.caller.reward.myAllocations()).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(system.anonymous().reward.myAllocations()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
  });
});
