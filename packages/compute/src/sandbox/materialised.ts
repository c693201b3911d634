/**
 * The bookkeeping of one sandbox worker's materialised consent snapshots: which consented
 * subsets exist, how much memory they hold, which ones a lease is using, and which ones to
 * drop to make room (least recently used snapshot first). The host runs the DuckDB
 * statements; this only decides.
 */

export interface MaterialisedTable {
  /** The table in the dataset's DuckDB instance. */
  name: string;
  /** Measured once built (DuckDB's in-memory table bytes). */
  bytes: number;
}

export interface MaterialisedSnapshot {
  datasetKey: string;
  consentKey: string;
  tables: Map<string, MaterialisedTable>;
  /**
   * Tables this snapshot answers by filtering instead: too large for the budget next to the
   * snapshot's other tables, or their build failed. Forgotten with the snapshot.
   */
  refused: Set<string>;
  /** Leases using the snapshot: it is never dropped while one is. */
  pins: number;
  /** A newer snapshot of the dataset arrived while this one was pinned: dropped when unpinned. */
  superseded: boolean;
  lastUsed: number;
  buildMs: number;
}

export interface MaterialisedSnapshotStatus {
  datasetKey: string;
  consentKey: string;
  tables: string[];
  refused: string[];
  bytes: number;
  buildMs: number;
  pinned: boolean;
}

export const snapshotBytes = (snapshot: MaterialisedSnapshot): number =>
  [...snapshot.tables.values()].reduce((sum, table) => sum + table.bytes, 0);

export class MaterialisedSnapshots {
  private readonly snapshots = new Map<string, MaterialisedSnapshot>();
  private clock = 0;

  /** The snapshot's entry (made empty on first use), marked as the most recently used. */
  use(datasetKey: string, consentKey: string): MaterialisedSnapshot {
    const id = `${datasetKey}|${consentKey}`;
    let snapshot = this.snapshots.get(id);
    if (!snapshot) {
      snapshot = {
        datasetKey,
        consentKey,
        tables: new Map(),
        refused: new Set(),
        pins: 0,
        superseded: false,
        lastUsed: 0,
        buildMs: 0,
      };
      this.snapshots.set(id, snapshot);
    }
    snapshot.lastUsed = ++this.clock;
    return snapshot;
  }

  bytes(): number {
    let total = 0;
    for (const snapshot of this.snapshots.values()) total += snapshotBytes(snapshot);
    return total;
  }

  /**
   * A new snapshot of a dataset replaces the older ones: those no lease uses are returned to
   * be dropped now (and forgotten here), the others are dropped when their last lease ends.
   */
  supersede(current: MaterialisedSnapshot): MaterialisedSnapshot[] {
    const dropNow: MaterialisedSnapshot[] = [];
    for (const snapshot of this.snapshots.values()) {
      if (snapshot === current || snapshot.datasetKey !== current.datasetKey) continue;
      if (snapshot.pins > 0) snapshot.superseded = true;
      else dropNow.push(snapshot);
    }
    for (const snapshot of dropNow) this.remove(snapshot);
    return dropNow;
  }

  /**
   * The least recently used snapshots to drop so that `needed` more bytes fit the budget,
   * never `keep` nor a pinned one; forgotten here and returned to be dropped. Undefined (and
   * nothing forgotten) when even dropping all of them would not make room.
   */
  evictFor(
    needed: number,
    budget: number,
    keep: MaterialisedSnapshot,
  ): MaterialisedSnapshot[] | undefined {
    let excess = this.bytes() + needed - budget;
    if (excess <= 0) return [];
    const candidates = [...this.snapshots.values()]
      .filter((s) => s !== keep && s.pins === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const evicted: MaterialisedSnapshot[] = [];
    for (const snapshot of candidates) {
      if (excess <= 0) break;
      evicted.push(snapshot);
      excess -= snapshotBytes(snapshot);
    }
    if (excess > 0) return undefined;
    for (const snapshot of evicted) this.remove(snapshot);
    return evicted;
  }

  /** Ends one lease's use; returns the snapshot if it is now to be dropped (superseded). */
  unpin(snapshot: MaterialisedSnapshot): MaterialisedSnapshot | undefined {
    snapshot.pins = Math.max(0, snapshot.pins - 1);
    if (snapshot.pins > 0 || !snapshot.superseded) return undefined;
    if (!this.remove(snapshot)) return undefined;
    return snapshot;
  }

  /** Forgets a snapshot; false if it was already gone. */
  remove(snapshot: MaterialisedSnapshot): boolean {
    const id = `${snapshot.datasetKey}|${snapshot.consentKey}`;
    if (this.snapshots.get(id) !== snapshot) return false;
    this.snapshots.delete(id);
    return true;
  }

  /** The dataset was closed in the worker: its tables died with its DuckDB instance. */
  forgetDataset(datasetKey: string): void {
    for (const [id, snapshot] of this.snapshots) {
      if (snapshot.datasetKey === datasetKey) this.snapshots.delete(id);
    }
  }

  status(): MaterialisedSnapshotStatus[] {
    return [...this.snapshots.values()]
      .sort((a, b) => b.lastUsed - a.lastUsed)
      .map((s) => ({
        datasetKey: s.datasetKey,
        consentKey: s.consentKey,
        tables: [...s.tables.keys()].sort(),
        refused: [...s.refused].sort(),
        bytes: snapshotBytes(s),
        buildMs: s.buildMs,
        pinned: s.pins > 0,
      }));
  }
}
