/**
 * A patient's rewards: their allocation in each (dataset, epoch) reward tree the operator
 * built, with the Merkle proof, whether it is claimed, and the RewardDistributor arguments
 * the web app passes to the wallet (`claim` for one, `claimBatch` for all claimable at once).
 * Only allocations of epochs whose root is POSTED on chain are claimable. A patient sees their
 * own allocations only; nothing here says which other wallets were paid. Shares follow how
 * long the patient consented during the epoch, never which queries used their records: a
 * claim is public, so a share that followed a query's matches would reveal them.
 */
import { fromDbUint } from "@opencohort/db";
import type { TRPCRouterRecord } from "@trpc/server";
import type { Address, Hex } from "viem";
import { roleProcedure } from "../trpc";

export const rewardRouter = {
  /** My allocations, newest epoch first, and the claim arguments for the claimable ones. */
  myAllocations: roleProcedure("patient").query(async ({ ctx }) => {
    const account = ctx.session.address.toLowerCase() as Address;
    const rows = await ctx.db.rewardAllocation.findMany({
      where: { patientAddress: account },
      select: {
        amount: true,
        consentSeconds: true,
        proof: true,
        claimedTxHash: true,
        claimedBlock: true,
        rewardEpoch: {
          select: {
            datasetId: true,
            epoch: true,
            status: true,
            merkleRoot: true,
            postTxHash: true,
            dataset: { select: { title: true } },
          },
        },
      },
    });
    rows.sort(
      (a, b) =>
        b.rewardEpoch.epoch - a.rewardEpoch.epoch ||
        a.rewardEpoch.datasetId.localeCompare(b.rewardEpoch.datasetId),
    );
    const allocations = rows.map((row) => {
      const posted = row.rewardEpoch.status === "POSTED";
      const claimed = row.claimedTxHash !== null;
      const amount = fromDbUint(row.amount);
      const proof = (Array.isArray(row.proof) ? row.proof.map(String) : []) as Hex[];
      return {
        datasetId: row.rewardEpoch.datasetId as Hex,
        datasetTitle: row.rewardEpoch.dataset.title,
        epoch: row.rewardEpoch.epoch,
        amount,
        /**
         * Seconds of the epoch the patient's consent to the dataset was active: what the share
         * was weighted by (never which queries used the records). Null for shares allocated
         * before rewards followed consent time.
         */
        consentSeconds: row.consentSeconds,
        /** OPEN / CLOSING (root not yet on chain) / POSTED (claimable). */
        epochStatus: row.rewardEpoch.status,
        merkleRoot: posted ? row.rewardEpoch.merkleRoot : null,
        proof: posted ? proof : [],
        claimed,
        claimedTxHash: row.claimedTxHash,
        claimedBlock: row.claimedBlock,
        claimable: posted && !claimed && amount > 0n,
      };
    });
    const claimable = allocations.filter((allocation) => allocation.claimable);
    const distributor = ctx.chain.manifest.contracts.RewardDistributor;
    return {
      account,
      chainId: ctx.chain.chainId,
      distributor,
      allocations: allocations.map((allocation) => ({
        ...allocation,
        /** RewardDistributor.claim(account, datasetId, epoch, amount, proof). */
        claim: allocation.claimable
          ? {
              address: distributor,
              functionName: "claim" as const,
              args: [
                account,
                allocation.datasetId,
                BigInt(allocation.epoch),
                allocation.amount,
                allocation.proof,
              ] as const,
            }
          : null,
      })),
      totals: {
        claimable: claimable.reduce((sum, allocation) => sum + allocation.amount, 0n),
        claimed: allocations
          .filter((allocation) => allocation.claimed)
          .reduce((sum, allocation) => sum + allocation.amount, 0n),
      },
      /** RewardDistributor.claimBatch(account, claims) for everything claimable, one transfer. */
      claimBatch:
        claimable.length === 0
          ? null
          : {
              address: distributor,
              functionName: "claimBatch" as const,
              args: [
                account,
                claimable.map((allocation) => ({
                  datasetId: allocation.datasetId,
                  epoch: BigInt(allocation.epoch),
                  amount: allocation.amount,
                  proof: allocation.proof,
                })),
              ] as const,
            },
    };
  }),
} satisfies TRPCRouterRecord;
