/**
 * Brings the mirrored tables up to the chain head before a read that must not lag (a pass
 * just bought, a consent just revoked). Syncs on one indexer run one after another: two
 * procedures syncing at once would otherwise fetch and apply the same range twice (harmless,
 * the indexer is idempotent, but wasted work and lock contention on SQLite).
 */
import type { Indexer } from "@opencohort/chain/indexer/indexer";

interface SyncQueue {
  /** The sync in progress (or the last one). */
  running: Promise<void>;
  /** A sync queued after it and not started yet: it will see whatever a new caller needs. */
  waiting: Promise<void> | null;
}
const queues = new WeakMap<Indexer, SyncQueue>();

/**
 * Syncs the indexer (or `chain.indexer`) up to the chain head as of the call. Callers that
 * arrive while a sync runs share the one queued after it, which starts after they arrived,
 * so 32 concurrent submits cost two syncs, not 32.
 */
export function syncIndexer(chain: Indexer | { indexer: Indexer }): Promise<void> {
  const indexer = "indexer" in chain ? chain.indexer : chain;
  const queue = queues.get(indexer) ?? { running: Promise.resolve(), waiting: null };
  queues.set(indexer, queue);
  if (queue.waiting) return queue.waiting;
  const next = queue.running
    .catch(() => undefined)
    .then(async () => {
      queue.waiting = null;
      await syncRetryingLockConflicts(indexer);
    });
  queue.waiting = next;
  queue.running = next;
  return next;
}

/**
 * Prisma's codes for a lost lock race: P1008 (SQLite busy: since transactions begin IMMEDIATE
 * (db's sqlite-gate.ts) only after the busy timeout, when the other process held the lock
 * that long) and P2034 (a write conflict, e.g. PostgreSQL serialization).
 */
const LOCK_CONFLICTS = new Set(["P1008", "P2034"]);
const SYNC_ATTEMPTS = 3;

/**
 * One sync, tried again when it lost a lock race with another writer (on the dev stack the
 * operator mirrors the same chain into the same SQLite file): the indexer is idempotent, so a
 * retry applies whatever the other writer has not.
 */
export async function syncRetryingLockConflicts(
  indexer: Pick<Indexer, "syncOnce">,
  pauseMs = 250,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await indexer.syncOnce();
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "string" || !LOCK_CONFLICTS.has(code) || attempt >= SYNC_ATTEMPTS) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs * attempt));
    }
  }
}
