/**
 * The epoch clock's one rule, shared by everyone who records epoch-bound facts (the API's
 * queries, the indexer's purchases, the operator's close): the OPEN epoch is the oldest
 * OPEN one. The operator keeps exactly one open; should a foreign writer ever open two, the
 * oldest is the one closed first, so it is the one queries and purchases must join.
 */
import type { Prisma } from "./generated/sqlite/client";

/** A client or a transaction: what the epoch helpers read and write through. */
type EpochClient = Pick<Prisma.TransactionClient, "epoch">;

export interface OpenEpoch {
  number: number;
  startedAt: Date;
}

export function findOpenEpoch(client: EpochClient): Promise<OpenEpoch | null> {
  return client.epoch.findFirst({
    where: { status: "OPEN" },
    orderBy: { number: "asc" },
    select: { number: true, startedAt: true },
  });
}

/**
 * Opens the epoch after the latest one. A concurrent opener fails on the primary key
 * instead of opening a second epoch.
 */
export async function openNextEpoch(client: EpochClient, startedAt?: Date): Promise<number> {
  const latest = await client.epoch.findFirst({
    orderBy: { number: "desc" },
    select: { number: true },
  });
  const number = (latest?.number ?? 0) + 1;
  await client.epoch.create({
    data: { number, ...(startedAt ? { startedAt } : {}) },
    select: { number: true },
  });
  return number;
}

/** The open epoch's number; opens the first (or next) one when none is open. */
export async function openEpochNumber(client: EpochClient): Promise<number> {
  return (await findOpenEpoch(client))?.number ?? openNextEpoch(client);
}
