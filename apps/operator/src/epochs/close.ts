/**
 * Closing an epoch: everything it will ever pay and anchor is computed and stored in one
 * transaction, together with the switch to the next epoch. After the commit the results
 * are fixed; publish.ts sends exactly what was stored, however often the operator restarts.
 */
import { type DeploymentManifest, rewardDistributorAbi } from "@opencohort/chain";
import { DEFAULT_STREAM } from "@opencohort/chain/indexer/indexer";
import { type Db, type Prisma, toDbUint } from "@opencohort/db";
import type { Hex, PublicClient } from "viem";
import { consentWeights, type EpochWindow, epochWindow } from "../rewards/consent-time";
import { splitPool } from "../rewards/split";
import { buildReceiptTree, buildRewardTree } from "../rewards/trees";

type Tx = Prisma.TransactionClient;

// Math.min takes numbers only; these are token amounts.
const smallerOf = (a: bigint, b: bigint): bigint => (a <= b ? a : b);

export interface ClosedDatasetReward {
  datasetId: string;
  /** Patients' shares of the epoch's purchases, capped by the distributor's unallocated funds. */
  pool: bigint;
  total: bigint;
  patients: number;
  merkleRoot: Hex;
}

export interface EpochCloseResult {
  epoch: number;
  nextEpoch: number;
  rewards: ClosedDatasetReward[];
  /** Datasets funded in the epoch whose pool pays nobody (no enrolled patient consented). */
  unpaidDatasets: string[];
  receipts: { root: Hex; count: number } | null;
}

export interface CloseContext {
  db: Db;
  reader: PublicClient;
  manifest: DeploymentManifest;
}

/** Funds in a dataset's pool that no posted root has reserved yet. */
async function readUnallocated(context: CloseContext, datasetId: string): Promise<bigint> {
  const [funded, allocated] = await context.reader.readContract({
    address: context.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "pool",
    args: [datasetId as Hex],
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
  const fundedDatasets = await db.purchase.findMany({
    where: { OR: [{ epoch }, { epoch: null }] },
    distinct: ["datasetId"],
    select: { datasetId: true },
  });
  const unallocatedByDataset = new Map<string, bigint>();
  for (const { datasetId } of fundedDatasets) {
    unallocatedByDataset.set(datasetId, await readUnallocated(context, datasetId));
  }

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

      const poolByDataset = await fundedPools(tx, epoch);
      const rewards: ClosedDatasetReward[] = [];
      const unpaidDatasets: string[] = [];
      for (const [datasetId, funded] of poolByDataset) {
        const unallocated = unallocatedByDataset.get(datasetId);
        if (unallocated === undefined)
          throw new Error(`The pool of dataset ${datasetId} was not read before closing.`);
        const pool = smallerOf(funded, unallocated);
        const reward = await storeDatasetReward(tx, context, datasetId, epoch, window, pool);
        if (reward) rewards.push(reward);
        else unpaidDatasets.push(datasetId);
      }
      const receipts = await storeReceiptAnchor(tx, epoch);
      // Nothing to send: the epoch is final now, and no chain transaction is made for it.
      if (rewards.length === 0 && receipts === null) {
        await tx.epoch.update({
          where: { number: epoch },
          data: { status: "CLOSED" },
          select: { number: true },
        });
      }
      return { epoch, nextEpoch: epoch + 1, rewards, unpaidDatasets, receipts };
    },
    // Large epochs build big trees; the default 5 s would abort them half way (harmlessly,
    // but forever).
    { timeout: 120_000, maxWait: 10_000 },
  );
}

/** Sum of the patients' shares of the epoch's purchases, per dataset. */
async function fundedPools(tx: Tx, epoch: number): Promise<Map<string, bigint>> {
  const purchases = await tx.purchase.findMany({
    where: { epoch },
    orderBy: { datasetId: "asc" },
    select: { datasetId: true, patientsShare: true },
  });
  const pools = new Map<string, bigint>();
  for (const { datasetId, patientsShare } of purchases) {
    pools.set(datasetId, (pools.get(datasetId) ?? 0n) + BigInt(patientsShare));
  }
  return pools;
}

/** The largest value of an Int column on both providers (PostgreSQL's is 32-bit). */
const MAX_DB_INT = 2_147_483_647n;

/**
 * Splits one dataset's pool among its enrolled patients by how long their consent was active
 * in the epoch's window (chain time), and stores the allocations and their tree.
 *
 * Deliberately reads nothing about queries: a leaf is public once claimed, and a weight taken
 * from a query's matches would tell its researcher which patients it matched. QueryInclusion
 * serves only the patient's own "who used my data" view.
 */
async function storeDatasetReward(
  tx: Tx,
  context: CloseContext,
  datasetId: string,
  epoch: number,
  window: EpochWindow,
  pool: bigint,
): Promise<ClosedDatasetReward | null> {
  if (pool === 0n) return null;
  const weights = await consentWeights(tx, {
    chainId: context.manifest.chainId,
    stream: DEFAULT_STREAM,
    datasetId,
    window,
  });
  const split = splitPool(pool, weights);
  // RewardDistributor refuses a zero total; the pool stays unallocated on chain.
  if (split.total === 0n) return null;
  const tree = buildRewardTree(split.shares);
  await tx.rewardEpoch.create({
    data: {
      datasetId,
      epoch,
      status: "CLOSING",
      pool: toDbUint(pool),
      total: toDbUint(split.total),
      merkleRoot: tree.root.toLowerCase(),
      allocations: {
        createMany: {
          data: split.shares.map((share) => ({
            patientAddress: share.patientAddress,
            amount: toDbUint(share.amount),
            consentSeconds: toDbInt(share.consentSeconds),
            proof: tree.proofs.get(share.patientAddress) ?? [],
          })),
        },
      },
    },
    select: { id: true },
  });
  return {
    datasetId,
    pool,
    total: split.total,
    patients: split.shares.length,
    merkleRoot: tree.root,
  };
}

function toDbInt(seconds: bigint): number {
  // An epoch window 68 years long: the column cannot hold it, and no real epoch is one.
  if (seconds > MAX_DB_INT)
    throw new RangeError(`consent seconds ${seconds} exceed what an allocation row can hold`);
  return Number(seconds);
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
