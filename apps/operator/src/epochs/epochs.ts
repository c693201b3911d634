/**
 * One step of the reward-epoch machinery, run by the operator's loop after the indexer:
 * open the first epoch, finish publishing any closing epoch, and close the open epoch when
 * its time is up. Each step reads its state from the database and the chain, so the process
 * may die anywhere and the next step picks up where the last one stopped.
 */
import type { DeploymentManifest, SigningClient } from "@opencohort/chain";
import type { Db } from "@opencohort/db";
import type { PublicClient } from "viem";
import { countInFlightQueries, ensureOpenEpoch, epochDueAt, findOpenEpoch } from "./clock";
import { closeEpoch, type EpochCloseResult } from "./close";
import { publishClosingEpochs } from "./publish";
import { reclaimExpiredEpochs } from "./reclaim";

export interface EpochOperatorOptions {
  db: Db;
  reader: PublicClient;
  signer: SigningClient;
  manifest: DeploymentManifest;
  epochSeconds: number;
  epochSettleSeconds: number;
  log(line: string): void;
  now?: () => Date;
}

const short = (hex: string) => `${hex.slice(0, 10)}…`;

export function createEpochOperator(options: EpochOperatorOptions) {
  const { db, log } = options;
  const now = options.now ?? (() => new Date());
  // Remembered only to log the wait once per epoch, not on every tick.
  const settlingReported = new Set<number>();

  function logClosed(result: EpochCloseResult): void {
    if (result.reward === null && result.receipts === null) {
      log(
        `epoch ${result.epoch} closed with nothing to pay or anchor; epoch ${result.nextEpoch} opened`,
      );
      return;
    }
    const { reward } = result;
    log(
      reward
        ? `epoch ${result.epoch}: pays ${reward.unit} per whole-epoch consent to ${reward.payoutAddresses} payout address(es), total ${reward.total} of ${reward.pool} unallocated, root ${short(reward.merkleRoot)} stored`
        : `epoch ${result.epoch}: no rewards to pay (no consent active for the whole epoch with a payout address, or nothing unallocated)`,
    );
    log(
      result.receipts
        ? `epoch ${result.epoch}: ${result.receipts.count} receipt(s), root ${short(result.receipts.root)} stored`
        : `epoch ${result.epoch}: no receipts to anchor`,
    );
    log(`epoch ${result.epoch} closing; epoch ${result.nextEpoch} opened`);
  }

  /** Closes the open epoch if it is due (and settled); returns what was stored, if anything. */
  async function closeIfDue(): Promise<EpochCloseResult | null> {
    const open = await findOpenEpoch(db);
    if (!open) return null;
    const dueAt = epochDueAt(open, options.epochSeconds);
    const current = now();
    if (current < dueAt) return null;
    const inFlight = await countInFlightQueries(db, open.number);
    const settleUntil = new Date(dueAt.getTime() + options.epochSettleSeconds * 1000);
    if (inFlight > 0 && current < settleUntil) {
      if (!settlingReported.has(open.number)) {
        settlingReported.add(open.number);
        log(`epoch ${open.number} is due; waiting for ${inFlight} running query(ies) to finish`);
      }
      return null;
    }
    if (inFlight > 0) {
      log(
        `epoch ${open.number}: closing with ${inFlight} query(ies) still running; their receipts are not part of it`,
      );
    }
    const result = await closeEpoch(options, open.number, current);
    settlingReported.delete(open.number);
    if (result) logClosed(result);
    return result;
  }

  async function tick(): Promise<void> {
    const opened = await ensureOpenEpoch(db, now());
    if (opened !== null) log(`epoch ${opened} opened`);
    const published = await publishClosingEpochs(options);
    // A new close reads the chain's unallocated pool, which only counts roots already
    // posted: closing on top of an unpublished epoch could promise the same funds twice.
    if (published.unpublishedEpochs.size > 0) return;
    if (await closeIfDue()) {
      await publishClosingEpochs(options);
      // Once per epoch: leftovers of epochs past their claim window back to the pool.
      await reclaimExpiredEpochs(options);
    }
  }

  return { tick, closeIfDue };
}
