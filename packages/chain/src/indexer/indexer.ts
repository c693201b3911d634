/**
 * Mirrors contract events into the database. Resumable (a cursor per chain and stream),
 * idempotent (a log is stored once, by block hash and log index, and state is rebuilt from
 * the stored log) and reorg-safe: the cursor remembers the hash of the last block it
 * applied; when the chain has another block there, the indexer rolls back to the newest
 * stored block that is still canonical and re-applies from there.
 */
import type { Db } from "@opencohort/db";
import {
  type Abi,
  BlockNotFoundError,
  type Log,
  type PublicClient,
  ResponseBodyTooLargeError,
} from "viem";
import type { DeploymentManifest } from "../manifest";
import { type DecodedEvent, decodeLog, type EventArgs, indexedContracts } from "./events";
import { entityKeyOf, mirroredEventNames, rebuildEntity, type StoredEvent } from "./projections";

/** The stream an indexer writes when given none: the one the operator and the API read. */
export const DEFAULT_STREAM = "core";

export interface IndexerOptions {
  db: Db;
  client: PublicClient;
  manifest: DeploymentManifest;
  /** Blocks behind the head that are left alone until they are this deep. */
  confirmations?: number;
  /** Blocks per getLogs request. */
  batchSize?: number;
  /** How far back a reorg is followed; a deeper one stops the indexer with an error. */
  reorgWindow?: number;
  stream?: string;
}

export interface SyncReport {
  fromBlock: bigint;
  toBlock: bigint;
  events: number;
  rolledBackTo?: bigint;
}

export class DeepReorgError extends Error {
  override name = "DeepReorgError";
}

export function createIndexer(options: IndexerOptions) {
  const { db, client, manifest } = options;
  const confirmations = BigInt(options.confirmations ?? 0);
  const batchSize = BigInt(options.batchSize ?? 2_000);
  const reorgWindow = BigInt(options.reorgWindow ?? 128);
  const stream = options.stream ?? DEFAULT_STREAM;
  const chainId = manifest.chainId;
  const contracts = indexedContracts(manifest.contracts);
  const abiByAddress = new Map<string, Abi>(contracts.map((c) => [c.address.toLowerCase(), c.abi]));
  const addresses = contracts.map((c) => c.address);
  const floor = BigInt(manifest.startBlock) - 1n;

  /** The canonical hash at a height, or "" when the chain is not that high (any more). */
  async function blockHash(number: bigint): Promise<string> {
    try {
      const block = await client.getBlock({ blockNumber: number, includeTransactions: false });
      return block.hash.toLowerCase();
    } catch (error) {
      if (error instanceof BlockNotFoundError) return "";
      throw error;
    }
  }

  async function cursor(): Promise<{ block: bigint; blockHash: string } | null> {
    return db.indexerCursor.findUnique({
      where: { chainId_stream: { chainId, stream } },
      select: { block: true, blockHash: true },
    });
  }

  type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

  /** Rebuilds the touched entities from their stored events, loaded in a few large reads. */
  async function rebuild(tx: Tx, keys: Iterable<string>) {
    const keyList = [...new Set(keys)];
    const byKey = new Map<string, StoredEvent[]>(keyList.map((key) => [key, []]));
    for (let start = 0; start < keyList.length; start += 500) {
      const rows = await tx.indexedEvent.findMany({
        where: { chainId, stream, entityKey: { in: keyList.slice(start, start + 500) } },
        orderBy: [{ blockNumber: "asc" }, { logIndex: "asc" }],
        select: {
          entityKey: true,
          blockNumber: true,
          logIndex: true,
          txHash: true,
          blockTimestamp: true,
          eventName: true,
          args: true,
        },
      });
      for (const { entityKey, ...row } of rows) {
        byKey.get(entityKey)?.push({ ...row, args: row.args as EventArgs });
      }
    }
    const relayQueue =
      (await tx.consentRelayRequest.count({ where: { status: { not: "FAILED" } } })) > 0;
    for (const [key, events] of byKey)
      await rebuildEntity(tx, chainId, key, events, { relayQueue });
  }

  /** The newest stored block that is still on the canonical chain (or the window's floor). */
  async function forkPoint(from: bigint): Promise<bigint> {
    const bottom = from - reorgWindow > floor ? from - reorgWindow : floor;
    const stored = await db.indexedEvent.findMany({
      where: { chainId, stream, blockNumber: { gt: bottom, lte: from } },
      distinct: ["blockNumber"],
      orderBy: { blockNumber: "desc" },
      select: { blockNumber: true, blockHash: true },
    });
    for (const { blockNumber, blockHash: hash } of stored) {
      if ((await blockHash(blockNumber)) === hash) return blockNumber;
    }
    if (bottom > floor) {
      const below = await db.indexedEvent.findFirst({
        where: { chainId, stream, blockNumber: { lte: bottom } },
        orderBy: { blockNumber: "desc" },
        select: { blockNumber: true, blockHash: true },
      });
      if (below && (await blockHash(below.blockNumber)) !== below.blockHash) {
        throw new DeepReorgError(
          `Chain ${chainId} reorganised deeper than ${reorgWindow} blocks (block ${below.blockNumber} changed); re-index from scratch.`,
        );
      }
    }
    return bottom;
  }

  async function rollBackTo(target: bigint): Promise<void> {
    const hash = target >= 0n ? await blockHash(target) : "0x";
    await db.$transaction(
      async (tx) => {
        const undone = await tx.indexedEvent.findMany({
          where: { chainId, stream, blockNumber: { gt: target } },
          distinct: ["entityKey"],
          select: { entityKey: true },
        });
        await tx.indexedEvent.deleteMany({
          where: { chainId, stream, blockNumber: { gt: target } },
        });
        await rebuild(
          tx,
          undone.map((row) => row.entityKey),
        );
        await tx.indexerCursor.update({
          where: { chainId_stream: { chainId, stream } },
          data: { block: target, blockHash: hash },
          select: { block: true },
        });
      },
      { timeout: 120_000 },
    );
  }

  async function apply(events: DecodedEvent[], toBlock: bigint): Promise<void> {
    const toHash = await blockHash(toBlock);
    const timestamps = new Map<bigint, bigint>();
    for (const event of events) {
      if (event.blockTimestamp === undefined && !timestamps.has(event.blockNumber)) {
        const block = await client.getBlock({ blockNumber: event.blockNumber });
        timestamps.set(event.blockNumber, block.timestamp);
      }
    }
    await db.$transaction(
      async (tx) => {
        // Logs already stored (a replayed range) are recognised by their identity and skipped.
        const stored = new Set(
          (
            await tx.indexedEvent.findMany({
              where: {
                chainId,
                blockHash: { in: [...new Set(events.map((event) => event.blockHash))] },
              },
              select: { blockHash: true, logIndex: true },
            })
          ).map((row) => `${row.blockHash}:${row.logIndex}`),
        );
        const touched = new Set<string>();
        const fresh = [];
        for (const event of events) {
          const entityKey = entityKeyOf(event.eventName, event.args);
          touched.add(entityKey);
          if (stored.has(`${event.blockHash}:${event.logIndex}`)) continue;
          fresh.push({
            chainId,
            stream,
            entityKey,
            blockHash: event.blockHash,
            logIndex: event.logIndex,
            blockNumber: event.blockNumber,
            blockTimestamp: event.blockTimestamp ?? timestamps.get(event.blockNumber) ?? 0n,
            txHash: event.txHash,
            address: event.address,
            eventName: event.eventName,
            args: event.args,
          });
        }
        for (let start = 0; start < fresh.length; start += 500) {
          await tx.indexedEvent.createMany({ data: fresh.slice(start, start + 500) });
        }
        await rebuild(tx, touched);
        await tx.indexerCursor.upsert({
          where: { chainId_stream: { chainId, stream } },
          create: { chainId, stream, block: toBlock, blockHash: toHash },
          update: { block: toBlock, blockHash: toHash },
          select: { block: true },
        });
      },
      { timeout: 120_000 },
    );
  }

  /**
   * getLogs over [from, to]; a range whose answer is too large for the node or the HTTP
   * client (dense blocks, provider result caps) is split in halves until it fits.
   */
  async function getLogsSplitting(from: bigint, to: bigint): Promise<Log[]> {
    try {
      return await client.getLogs({ address: addresses, fromBlock: from, toBlock: to });
    } catch (error) {
      const tooLarge =
        error instanceof ResponseBodyTooLargeError ||
        /too (many|large)|response size|limit exceeded|query returned more than/i.test(
          (error as Error).message,
        );
      if (!tooLarge || from === to) throw error;
      const middle = from + (to - from) / 2n;
      return [
        ...(await getLogsSplitting(from, middle)),
        ...(await getLogsSplitting(middle + 1n, to)),
      ];
    }
  }

  /** Indexes up to `head - confirmations`, one getLogs batch at a time. */
  async function syncOnce(): Promise<SyncReport> {
    // Uncached: a block mined a moment ago must be seen by the sync that follows it.
    const head = (await client.getBlockNumber({ cacheTime: 0 })) - confirmations;
    let current = await cursor();
    let rolledBackTo: bigint | undefined;
    if (
      current &&
      current.block > floor &&
      (await blockHash(current.block)) !== current.blockHash
    ) {
      rolledBackTo = await forkPoint(current.block);
      await rollBackTo(rolledBackTo);
      current = await cursor();
    }
    const start = (current?.block ?? floor) + 1n;
    let from = start;
    let count = 0;
    while (from <= head) {
      const to = from + batchSize - 1n < head ? from + batchSize - 1n : head;
      const logs = await getLogsSplitting(from, to);
      const events = logs
        .map((log) => decodeLog(log, abiByAddress, mirroredEventNames))
        .filter((event): event is DecodedEvent => event !== undefined);
      await apply(events, to);
      count += events.length;
      from = to + 1n;
    }
    return {
      fromBlock: start,
      toBlock: head,
      events: count,
      ...(rolledBackTo === undefined ? {} : { rolledBackTo }),
    };
  }

  return { syncOnce, cursor };
}

export type Indexer = ReturnType<typeof createIndexer>;
