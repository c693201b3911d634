/**
 * After an epoch's claim window, what its payouts left unclaimed (and the units of its total no
 * leaf can claim: consents nobody enrolled or pays, rewards/pooled.ts) goes back to the
 * distributor's pool, so later epochs pay it out.
 * `reclaimExpired` is open to anyone; the operator calls it once per closed epoch for every
 * posted epoch past its window, then moves the distributor's settled cursor so governance's
 * `owed()` stays a short walk.
 */
import { rewardDistributorAbi } from "@opencohort/chain";
import type { Hex } from "viem";
import type { PublishContext } from "./publish";

/** Settled epochs passed by one cursor move (a bound on its gas). */
const CURSOR_STEPS = 256n;

export interface ReclaimReport {
  /** Epochs whose leftovers went back to the pool, with the amounts. */
  reclaimed: { epoch: number; amount: bigint }[];
}

export async function reclaimExpiredEpochs(
  context: Pick<PublishContext, "db" | "reader" | "signer" | "manifest" | "log">,
): Promise<ReclaimReport> {
  const { db, reader, signer, manifest, log } = context;
  const distributor = { address: manifest.contracts.RewardDistributor, abi: rewardDistributorAbi };
  const posted = await db.rewardEpoch.findMany({
    where: { status: "POSTED" },
    orderBy: { epoch: "asc" },
    select: { epoch: true },
  });
  const now = (await reader.getBlock({ blockTag: "latest" })).timestamp;
  const reclaimed: ReclaimReport["reclaimed"] = [];
  for (const { epoch } of posted) {
    const [, total, claimed, , expiresAt] = await reader.readContract({
      ...distributor,
      functionName: "epochOf",
      args: [BigInt(epoch)],
    });
    if (total === claimed || now < expiresAt) continue;
    const { request } = await reader.simulateContract({
      ...distributor,
      account: signer.account,
      functionName: "reclaimExpired",
      args: [BigInt(epoch)],
    });
    const hash: Hex = await signer.writeContract(request);
    const receipt = await reader.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new Error(`reclaimExpired(${epoch}) reverted (tx ${hash})`);
    reclaimed.push({ epoch, amount: total - claimed });
    log(
      `epoch ${epoch}: its claim window ended; ${total - claimed} unclaimed went back to the pool`,
    );
  }
  if (reclaimed.length > 0) {
    const { request } = await reader.simulateContract({
      ...distributor,
      account: signer.account,
      functionName: "advanceSettledCursor",
      args: [CURSOR_STEPS],
    });
    await reader.waitForTransactionReceipt({ hash: await signer.writeContract(request) });
  }
  return { reclaimed };
}
