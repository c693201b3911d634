/**
 * The epoch clock. Exactly one epoch is OPEN at a time: queries and purchases are assigned
 * to it by whoever records them, and the operator closes it when its time is up (see
 * close.ts, which opens the next one in the same transaction).
 */
import { type Db, findOpenEpoch, type OpenEpoch, openNextEpoch } from "@opencohort/db";

export { findOpenEpoch, type OpenEpoch };

/** Opens the first epoch (or the next, if none is open); returns the number it opened. */
export async function ensureOpenEpoch(db: Db, now: Date): Promise<number | null> {
  if (await findOpenEpoch(db)) return null;
  return openNextEpoch(db, now);
}

export function epochDueAt(epoch: OpenEpoch, epochSeconds: number): Date {
  return new Date(epoch.startedAt.getTime() + epochSeconds * 1000);
}

/** Queries of the epoch still running: their receipts belong to it (anchored with it). */
export async function countInFlightQueries(db: Db, epoch: number): Promise<number> {
  return db.query.count({ where: { epoch, status: { in: ["PENDING", "RUNNING"] } } });
}
