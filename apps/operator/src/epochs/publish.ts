/**
 * Puts the stored results of closing epochs on chain: reward roots (RewardDistributor) and
 * receipt roots (QueryLedger). Only what was stored is sent — a root is never recomputed
 * here — so a restart re-sends the same tree and nobody is paid twice or differently.
 */
import type { DeploymentManifest, SigningClient } from "@opencohort/chain";
import { queryLedgerAbi, rewardDistributorAbi } from "@opencohort/chain";
import type { Db } from "@opencohort/db";
import type { Hex, PublicClient } from "viem";
import { ensureOnChainOnce } from "./transactions";

export interface PublishContext {
  db: Db;
  reader: PublicClient;
  signer: SigningClient;
  manifest: DeploymentManifest;
  log(line: string): void;
}

export interface PublishReport {
  /** Epochs with a root or anchor not (yet) on chain: nothing newer may close meanwhile. */
  unpublishedEpochs: Set<number>;
  /** Epochs this call found fully on chain and marked CLOSED. */
  closedEpochs: number[];
}

const ZERO_ROOT = `0x${"0".repeat(64)}`;

export async function readRewardRoot(
  context: Pick<PublishContext, "reader" | "manifest">,
  epoch: number,
): Promise<string> {
  const [root] = await context.reader.readContract({
    address: context.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "epochOf",
    args: [BigInt(epoch)],
  });
  return root.toLowerCase();
}

export async function readAnchorRoot(
  context: Pick<PublishContext, "reader" | "manifest">,
  epoch: number,
): Promise<string> {
  const anchor = await context.reader.readContract({
    address: context.manifest.contracts.QueryLedger,
    abi: queryLedgerAbi,
    functionName: "anchorOf",
    args: [BigInt(epoch)],
  });
  return anchor.root.toLowerCase();
}

/**
 * Posts every CLOSING reward root and PENDING receipt anchor that is not on chain, then
 * marks CLOSED the closing epochs whose results are all on chain. RewardEpoch POSTED and
 * ReceiptAnchor ANCHORED are the indexer's to set, when it mirrors the events.
 */
export async function publishClosingEpochs(context: PublishContext): Promise<PublishReport> {
  const { db, manifest, signer, reader, log } = context;
  const unpublishedEpochs = new Set<number>();
  // Rows of epochs already CLOSED are re-checked only until the indexer mirrors them (or
  // re-posted after a reorg dropped them); finding them on chain is no news worth a line.
  const closingEpochs = new Set(
    (await db.epoch.findMany({ where: { status: "CLOSING" }, select: { number: true } })).map(
      (epoch) => epoch.number,
    ),
  );
  const report = (epoch: number, outcome: string, mined: string, alreadyOnChain: string) => {
    if (outcome === "mined") log(mined);
    else if (closingEpochs.has(epoch)) log(alreadyOnChain);
  };

  const rewardEpochs = await db.rewardEpoch.findMany({
    where: { status: "CLOSING" },
    orderBy: { epoch: "asc" },
    select: {
      epoch: true,
      merkleRoot: true,
      total: true,
      postTxHash: true,
    },
  });
  for (const row of rewardEpochs) {
    const label = `reward root of epoch ${row.epoch}`;
    if (!row.merkleRoot || !row.total) {
      unpublishedEpochs.add(row.epoch);
      log(`cannot post the ${label}: no stored root (the row was not written by closeEpoch)`);
      continue;
    }
    const storedRoot = row.merkleRoot.toLowerCase();
    const total = BigInt(row.total);
    const onChainRoot = await readRewardRoot(context, row.epoch);
    if (onChainRoot !== ZERO_ROOT && onChainRoot !== storedRoot) {
      // Someone else posted this epoch: the stored proofs do not prove against it,
      // and the chain will not take ours. A person has to look; newer epochs wait.
      unpublishedEpochs.add(row.epoch);
      log(`CONFLICT: the ${label} on chain is ${onChainRoot}, stored is ${storedRoot}`);
      continue;
    }
    const outcome = await ensureOnChainOnce(reader, {
      label,
      previousTxHash: row.postTxHash,
      log,
      isDone: async () => (await readRewardRoot(context, row.epoch)) === storedRoot,
      send: async () => {
        const { request } = await reader.simulateContract({
          account: signer.account,
          address: manifest.contracts.RewardDistributor,
          abi: rewardDistributorAbi,
          functionName: "postRoot",
          args: [BigInt(row.epoch), storedRoot as Hex, total],
        });
        return signer.writeContract(request);
      },
      recordSent: async (txHash) => {
        await db.rewardEpoch.update({
          where: { epoch: row.epoch },
          data: { postTxHash: txHash.toLowerCase() },
          select: { epoch: true },
        });
      },
    });
    report(
      row.epoch,
      outcome,
      `posted the ${label} (total ${total})`,
      `the ${label} is on chain already; not posting it again`,
    );
  }

  const anchors = await db.receiptAnchor.findMany({
    where: { status: "PENDING" },
    orderBy: { epoch: "asc" },
    select: { epoch: true, root: true, receiptCount: true, txHash: true },
  });
  for (const anchor of anchors) {
    const label = `receipt root of epoch ${anchor.epoch}`;
    const storedRoot = anchor.root.toLowerCase();
    const onChainRoot = await readAnchorRoot(context, anchor.epoch);
    if (onChainRoot !== ZERO_ROOT && onChainRoot !== storedRoot) {
      unpublishedEpochs.add(anchor.epoch);
      log(`CONFLICT: the ${label} on chain is ${onChainRoot}, stored is ${storedRoot}`);
      continue;
    }
    const outcome = await ensureOnChainOnce(reader, {
      label,
      previousTxHash: anchor.txHash,
      log,
      isDone: async () => (await readAnchorRoot(context, anchor.epoch)) === storedRoot,
      send: async () => {
        const { request } = await reader.simulateContract({
          account: signer.account,
          address: manifest.contracts.QueryLedger,
          abi: queryLedgerAbi,
          functionName: "anchor",
          args: [BigInt(anchor.epoch), storedRoot as Hex, BigInt(anchor.receiptCount)],
        });
        return signer.writeContract(request);
      },
      recordSent: async (txHash) => {
        await db.receiptAnchor.update({
          where: { epoch: anchor.epoch },
          data: { txHash: txHash.toLowerCase() },
          select: { epoch: true },
        });
      },
    });
    report(
      anchor.epoch,
      outcome,
      `anchored the ${label} (${anchor.receiptCount} receipt(s))`,
      `the ${label} is on chain already; not anchoring it again`,
    );
  }

  const closedEpochs: number[] = [];
  for (const number of [...closingEpochs].sort((a, b) => a - b)) {
    if (unpublishedEpochs.has(number)) continue;
    await db.epoch.update({
      where: { number },
      data: { status: "CLOSED" },
      select: { number: true },
    });
    closedEpochs.push(number);
    log(`epoch ${number} closed: its results are on chain`);
  }
  return { unpublishedEpochs, closedEpochs };
}
