/**
 * The epoch clock. Exactly one epoch is OPEN at a time: queries and purchases are assigned
 * to it by whoever records them, and the operator closes it when its time is up (see
 * close.ts, which opens the next one in the same transaction).
 */
import type { Db } from "@opencohort/db";

export interface OpenEpoch {
  number: number;
  startedAt: Date;
}

export async function findOpenEpoch(db: Db): Promise<OpenEpoch | null> {
  // The oldest open one, should a foreign writer ever have opened two: it is closed first.
  return db.epoch.findFirst({
    where: { status: "OPEN" },
    orderBy: { number: "asc" },
    select: { number: true, startedAt: true },
  });
}

/** Opens the first epoch (or the next, if none is open); returns the number it opened. */
export async function ensureOpenEpoch(db: Db, now: Date): Promise<number | null> {
  if (await findOpenEpoch(db)) return null;
  const latest = await db.epoch.findFirst({
    orderBy: { number: "desc" },
    select: { number: true },
  });
  const number = (latest?.number ?? 0) + 1;
  // A concurrent opener fails on the primary key instead of opening a second epoch.
  await db.epoch.create({ data: { number, startedAt: now }, select: { number: true } });
  return number;
}

export function epochDueAt(epoch: OpenEpoch, epochSeconds: number): Date {
  return new Date(epoch.startedAt.getTime() + epochSeconds * 1000);
}

/** Queries of the epoch still running: their receipts and inclusions belong to it. */
export async function countInFlightQueries(db: Db, epoch: number): Promise<number> {
  return db.query.count({ where: { epoch, status: { in: ["PENDING", "RUNNING"] } } });
}
