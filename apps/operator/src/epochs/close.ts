/**
 * Closing an epoch: everything it will ever pay and anchor is computed and stored in one
 * transaction, together with the switch to the next epoch. After the commit the results
 * are fixed; publish.ts sends exactly what was stored, however often the operator restarts.
 */
import { type DeploymentManifest, rewardDistributorAbi } from "@opencohort/chain";
import { type Db, type Prisma, toDbUint } from "@opencohort/db";
import type { Hex, PublicClient } from "viem";
import { type IncludedPerson, splitPool } from "../rewards/split";
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
  /** Datasets funded in the epoch whose pool pays nobody (no enrolled person was included). */
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
        const reward = await storeDatasetReward(tx, datasetId, epoch, pool);
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

/** Query ids bound in one inclusion read (well under every provider's bound-value limit). */
const QUERY_IDS_PER_READ = 1_000;

/** The epoch's included persons of a dataset, weighted by succeeded queries, with wallets. */
async function includedPersons(
  tx: Tx,
  datasetId: string,
  epoch: number,
): Promise<IncludedPerson[]> {
  // Both epochs must agree: an inclusion is paid in the epoch its query ran in, once.
  const queries = await tx.query.findMany({
    where: { datasetId, epoch, status: "SUCCEEDED" },
    select: { id: true },
  });
  // Read by query id, the primary key's first column: QueryInclusion has no epoch index
  // (it made every query's insert slow), and a join lets PostgreSQL scan the whole table.
  // A query's inclusions are in one chunk, so per-chunk counts add up.
  const inclusionsOf = new Map<bigint, number>();
  for (let start = 0; start < queries.length; start += QUERY_IDS_PER_READ) {
    const counts = await tx.queryInclusion.groupBy({
      by: ["personId"],
      where: {
        queryId: { in: queries.slice(start, start + QUERY_IDS_PER_READ).map((query) => query.id) },
        epoch,
      },
      _count: { _all: true },
    });
    for (const { personId, _count } of counts) {
      inclusionsOf.set(personId, (inclusionsOf.get(personId) ?? 0) + _count._all);
    }
  }
  if (inclusionsOf.size === 0) return [];
  const enrolments = await tx.enrolment.findMany({
    where: { datasetId },
    select: { personId: true, patientAddress: true },
  });
  const walletOf = new Map(enrolments.map((e) => [e.personId, e.patientAddress.toLowerCase()]));
  return [...inclusionsOf].map(([personId, inclusions]) => ({
    patientAddress: walletOf.get(personId) ?? null,
    inclusions,
  }));
}

async function storeDatasetReward(
  tx: Tx,
  datasetId: string,
  epoch: number,
  pool: bigint,
): Promise<ClosedDatasetReward | null> {
  if (pool === 0n) return null;
  const split = splitPool(pool, await includedPersons(tx, datasetId, epoch));
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
            inclusions: share.inclusions,
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
