/**
 * Closing an epoch: everything it will ever pay and anchor is computed and stored in one
 * transaction, together with the switch to the next epoch. After the commit the results
 * are fixed; publish.ts sends exactly what was stored, however often the operator restarts.
 */
import { type DeploymentManifest, rewardDistributorAbi } from "@opencohort/chain";
import { DEFAULT_STREAM } from "@opencohort/chain/indexer/indexer";
import { type Db, type Prisma, toDbUint } from "@opencohort/db";
import type { Hex, PublicClient } from "viem";
import { type EpochWindow, epochWindow } from "../rewards/consent-time";
import { splitEpoch } from "../rewards/epoch-split";
import { buildReceiptTree, buildRewardTree } from "../rewards/trees";

type Tx = Prisma.TransactionClient;

export interface ClosedReward {
  /** The distributor's unallocated funds at the close: what the epoch may pay. */
  pool: bigint;
  /** What one consent active for the whole epoch earns. */
  unit: bigint;
  /** The posted total: the unit times the public whole-epoch consents (rewards/pooled.ts). */
  total: bigint;
  payoutAddresses: number;
  merkleRoot: Hex;
}

export interface EpochCloseResult {
  epoch: number;
  nextEpoch: number;
  /** The epoch's one reward root, or null when it pays nobody. */
  reward: ClosedReward | null;
  receipts: { root: Hex; count: number } | null;
}

export interface CloseContext {
  db: Db;
  reader: PublicClient;
  manifest: DeploymentManifest;
}

/** Funds in the distributor that no posted root has reserved yet (all datasets). */
async function readUnallocated(context: CloseContext): Promise<bigint> {
  const [funded, allocated] = await context.reader.readContract({
    address: context.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "pool",
  });
  return funded - allocated;
}

/**
 * Closes `epoch` (which must be OPEN) and opens the next one. Returns null when the epoch
 * was not open any more (another operator closed it; nothing was written).
 *
 * The caller must have published every earlier epoch first: the pool cap read here is the
 * chain's unallocated balance, which does not yet know of roots stored but not posted.
 */
export async function closeEpoch(
  context: CloseContext,
  epoch: number,
  now: Date,
): Promise<EpochCloseResult | null> {
  const { db } = context;
  // Chain reads happen before the transaction, so no write lock is held across RPC calls.
  // Purchases are only written by the indexer, which runs in this same loop, so the set of
  // funded datasets cannot change between here and the transaction.
  const unallocated = await readUnallocated(context);

  return db.$transaction(
    async (tx) => {
      const flipped = await tx.epoch.updateMany({
        where: { number: epoch, status: "OPEN" },
        data: { status: "CLOSING", closedAt: now },
      });
      if (flipped.count !== 1) return null;
      const { startedAt } = await tx.epoch.findUniqueOrThrow({
        where: { number: epoch },
        select: { startedAt: true },
      });
      const window = epochWindow(startedAt, now);
      await tx.epoch.create({
        data: { number: epoch + 1, startedAt: now },
        select: { number: true },
      });
      // A purchase indexed while no epoch was open (before the operator first ran) would
      // otherwise fund no epoch at all; it funds the first one that closes.
      await tx.purchase.updateMany({ where: { epoch: null }, data: { epoch } });

      const reward = await storePooledReward(tx, context, epoch, window, unallocated);
      const receipts = await storeReceiptAnchor(tx, epoch);
      // Nothing to send: the epoch is final now, and no chain transaction is made for it.
      if (reward === null && receipts === null) {
        await tx.epoch.update({
          where: { number: epoch },
          data: { status: "CLOSED" },
          select: { number: true },
        });
      }
      return { epoch, nextEpoch: epoch + 1, reward, receipts };
    },
    // Large epochs build big trees; the default 5 s would abort them half way (harmlessly,
    // but forever).
    { timeout: 120_000, maxWait: 10_000 },
  );
}

/**
 * Splits the distributor's unallocated funds over every dataset's consents active for the
 * whole epoch (rewards/epoch-split.ts), and stores the one tree of payout addresses, its proofs
 * and each identity's share (private).
 *
 * Deliberately reads nothing about queries: a leaf is public once claimed, and a weight taken
 * from a query's matches would tell its researcher which patients it matched. Inclusion sets
 * (QueryInclusionSet) serve only the patient's own "who used my data" view.
 */
async function storePooledReward(
  tx: Tx,
  context: CloseContext,
  epoch: number,
  window: EpochWindow,
  pool: bigint,
): Promise<ClosedReward | null> {
  if (pool === 0n) return null;
  const split = await splitEpoch(
    tx,
    { chainId: context.manifest.chainId, stream: DEFAULT_STREAM, window },
    pool,
  );
  // No leaf, no tree (and a zero unit would be a zero total, which RewardDistributor refuses):
  // nothing is posted and the pool stays unallocated. Whether an epoch posts at all still tells
  // whether anybody was paid (docs/privacy.md, "Known limits").
  if (split.payouts.length === 0) return null;
  const tree = buildRewardTree(split.payouts);
  await tx.rewardEpoch.create({
    data: {
      epoch,
      status: "CLOSING",
      pool: toDbUint(pool),
      unit: toDbUint(split.unit),
      total: toDbUint(split.total),
      merkleRoot: tree.root.toLowerCase(),
      payouts: {
        createMany: {
          data: split.payouts.map((payout) => ({
            payoutAddress: payout.payoutAddress,
            amount: toDbUint(payout.amount),
            proof: tree.proofs.get(payout.payoutAddress) ?? [],
          })),
        },
      },
      shares: {
        createMany: {
          data: split.shares.map((share) => ({ ...share, amount: toDbUint(share.amount) })),
        },
      },
    },
    select: { epoch: true },
  });
  return {
    pool,
    unit: split.unit,
    total: split.total,
    payoutAddresses: split.payouts.length,
    merkleRoot: tree.root,
  };
}

/** The receipt hashes an epoch anchors: those of its succeeded queries. */
export async function epochReceiptHashes(tx: Tx | Db, epoch: number): Promise<string[]> {
  const queries = await tx.query.findMany({
    where: { epoch, status: "SUCCEEDED", receiptHash: { not: null } },
    orderBy: { receiptHash: "asc" },
    select: { receiptHash: true },
  });
  return queries.flatMap((query) => (query.receiptHash ? [query.receiptHash.toLowerCase()] : []));
}

async function storeReceiptAnchor(
  tx: Tx,
  epoch: number,
): Promise<{ root: Hex; count: number } | null> {
  const hashes = await epochReceiptHashes(tx, epoch);
  if (hashes.length === 0) return null;
  const tree = buildReceiptTree(hashes);
  const root = tree.root.toLowerCase() as Hex;
  const count = tree.length;
  await tx.receiptAnchor.create({
    data: { epoch, root, receiptCount: count, status: "PENDING" },
    select: { epoch: true },
  });
  return { root, count };
}
