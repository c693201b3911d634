import { type ChildProcess, fork } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { materialisedTableSql } from "../query/compile";
import {
  type MaterialisedSnapshot,
  type MaterialisedSnapshotStatus,
  MaterialisedSnapshots,
  snapshotBytes,
} from "./materialised";

/**
 * The host side of the sandbox: a pool of forked worker.mjs processes with a fair queue.
 *
 * Every request runs under a lease on one worker, granted per tenant (the researcher): each
 * tenant's requests wait in their own FIFO, tenants are served round-robin, and one tenant
 * holds at most `maxLeasesPerTenant` workers at once (default 1), so a researcher's runaway
 * query (or ten queued ones) delays that researcher only while another worker is free. Calls
 * made through one lease go to the same worker, in order: a run's per-worker temp tables and
 * consent set stay where its later steps look for them.
 *
 * Each worker locks DuckDB down the same way. The host enforces the time limit per request by
 * interrupting (repeatedly: an interrupt that lands before execution starts is dropped) and,
 * if the worker still does not answer, kills it. A dead worker is replaced when its slot is
 * next needed, and datasets are (re)opened in a worker on first use there.
 *
 * Each worker also keeps consented subsets of datasets materialised per consent snapshot
 * (`SandboxLease.materialise`): made by the first query of a snapshot that reads a table,
 * reused by every later one, within `materialiseMb` per worker (least recently used snapshot
 * evicted first; a newer snapshot of a dataset replaces the older ones once no lease uses
 * them). A table that would not fit is answered by filtering through the consent table.
 */

export interface SandboxLimits {
  /** DuckDB memory_limit per dataset instance (each worker opens its own instance). */
  memoryMb: number;
  threads: number;
  /** Wall-clock limit of one request. */
  timeoutMs: number;
  /** Spill space DuckDB may use before failing. */
  maxTempMb?: number;
  /** After the time limit, how long interrupts may take before the worker is killed. */
  killGraceMs?: number;
  /**
   * Worker processes (default 2). Each one loads every dataset it serves into memory
   * ("memory" table storage), so memory grows with this number.
   */
  workers?: number;
  /**
   * Workers one tenant may hold at once (default 1). Above 1, one researcher can again keep
   * every worker busy; it never exceeds `workers`.
   */
  maxLeasesPerTenant?: number;
  /**
   * Memory per worker for consented subsets materialised per consent snapshot (default half
   * of `memoryMb`; 0: never materialise, every query filters). They live in the dataset's
   * DuckDB instance, so they also count against its `memoryMb`.
   */
  materialiseMb?: number;
}

export type TableStorage = "memory" | "parquet";

export interface SandboxDataset {
  key: string;
  dir: string;
  /** `replace`: a REPLACE (...) clause of SELECT * (per-code clamps), built from the manifest. */
  tables: Array<{ name: string; file: string; replace?: string }>;
  storage: TableStorage;
}

export interface ExecStep {
  sql: string;
  params?: Record<string, unknown> | unknown[];
  read: "none" | "rows" | "bigint-column" | "index-bitmap";
  /** For "index-bitmap": how many positions the bitmap covers. */
  bitmapSize?: number;
}

export interface RowsResult {
  columns: string[];
  rows: unknown[][];
}

/** Why a sandbox request failed; `detail` is for the server log only. */
export class SandboxError extends Error {
  override name = "SandboxError";
  constructor(
    readonly kind: "timeout" | "crashed" | "failed",
    readonly detail: string,
  ) {
    super(`sandbox request ${kind}`);
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: SandboxError) => void;
}

interface WorkerState {
  child: ChildProcess;
  ready: Promise<void>;
  openDatasets: Set<string>;
  /** Per dataset: the consent sets loaded, oldest first, with their distinct persons. */
  consentSets: Map<string, Map<string, number>>;
  materialised: MaterialisedSnapshots;
  pending: Map<number, Pending>;
  exited: boolean;
}

/** One place in the pool; its worker is started on first use and after it died. */
interface Slot {
  worker: WorkerState | undefined;
  /** Whether a lease (or the host itself) is using the slot. */
  busy: boolean;
  /** Who used it last: a tenant's next lease prefers the worker that has its consent set. */
  lastTenant: string | undefined;
  /** Datasets closed while the slot was busy: closed in its worker when the slot is freed. */
  closeKeys: Set<string>;
}

/**
 * Calls on one worker of the pool, reserved for one tenant until `release()`. Calls run in
 * order on that worker; if it dies during the lease, later calls fail (its temp tables died
 * with it) and the next lease on the slot starts a fresh worker.
 */
export interface SandboxLease {
  readonly tenant: string;
  /** The worker's process id once the first call started it (tests, benchmark). */
  readonly workerPid: number | undefined;
  /**
   * Makes sure the consented person set is loaded for the dataset in this lease's worker;
   * returns its digest when it had to be loaded, undefined if the worker already had it.
   */
  ensureConsent(
    datasetKey: string,
    consentKey: string,
    ids: () => BigInt64Array,
  ): Promise<{ distinctPersons: number; digest: string } | undefined>;
  /**
   * The consented subsets of `tables` for a consent set loaded through `ensureConsent` in
   * this lease: table -> materialised table, built on first use and kept for later queries
   * on the snapshot, in use (never dropped) until the lease is released. Tables missing from
   * the answer did not fit the budget or could not be built: the caller reads them filtered
   * (at 10M persons the event tables outgrow any budget, while the person table still fits).
   */
  materialise(
    datasetKey: string,
    consentKey: string,
    tables: string[],
  ): Promise<Record<string, string>>;
  /** Runs steps on a dataset's connection (or, with key null, on the data-less parser). */
  exec(datasetKey: string | null, steps: ExecStep[]): Promise<unknown[]>;
  /** Gives the worker back once the calls made so far have finished; later calls fail. */
  release(): void;
}

/** What a test hold looks like from the test: see `holdForTest`. */
export interface SandboxHold {
  pid: number;
  /** Settles when the hold ends: resolved by `end()`, rejected on time limit or crash. */
  ended: Promise<void>;
  end(): void;
}

export interface SandboxStatus {
  workers: Array<{ pid: number | undefined; tenant: string | undefined }>;
  /** Leases waiting, per tenant. */
  waiting: Record<string, number>;
  materialisation: MaterialisationStatus;
}

/** Counters since the host started, and each live worker's snapshots (newest use first). */
export interface MaterialisationStatus {
  /** `materialise` calls that built nothing and answered with tables built before. */
  reused: number;
  /** Tables built. */
  built: number;
  /** Tables `materialise` answered "read filtered": over the budget, a failed build, or off. */
  fallbacks: number;
  /** Snapshots dropped to make room for another. */
  evicted: number;
  /** Snapshots dropped because a newer snapshot of their dataset was materialised. */
  replaced: number;
  budgetBytes: number;
  snapshots: Array<MaterialisedSnapshotStatus & { workerPid: number }>;
}

/** Size of each dataset table, for estimating a consented subset before building it. */
interface TableStats {
  rows: number;
  /** Bytes per row in DuckDB's in-memory layout, estimated from the column types. */
  rowBytes: number;
}

/** The tenant of one-shot requests through `exec` (the engine's parsing). */
export const SHARED_TENANT = "(shared)";
/** The tenant of `openDataset`. */
const OPEN_TENANT = "(open)";

/** The worker next to this module; a bundler that moves the module (Next.js) passes the path. */
const defaultWorkerPath = () => fileURLToPath(new URL("./worker.mjs", import.meta.url));

interface InternalLease extends SandboxLease {
  /** Runs a task on the lease's worker, after the lease's earlier calls. */
  run<T>(task: (worker: WorkerState) => Promise<T>): Promise<T>;
}

/** Names built from these become SQL identifiers: nothing else may reach them. */
const IDENTIFIER_PART = /^[a-z0-9_]+$/;

/** DuckDB's bytes per value, by column type (VARCHAR: the 16-byte inline string). */
function typeBytes(type: string): number {
  const t = type.toUpperCase();
  if (t === "BOOLEAN" || t === "TINYINT" || t === "UTINYINT") return 1;
  if (t === "SMALLINT" || t === "USMALLINT") return 2;
  if (t === "INTEGER" || t === "UINTEGER" || t === "DATE" || t === "FLOAT") return 4;
  if (t === "VARCHAR" || t.startsWith("DECIMAL") || t === "HUGEINT" || t === "UUID") return 16;
  return 8;
}

const IN_MEMORY_TABLE_BYTES =
  "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'";

export class SandboxHost {
  private readonly slots: Slot[];
  private readonly maxLeasesPerTenant: number;
  /** Tenants with waiting leases, in round-robin order (a served tenant moves to the end). */
  private readonly waiting = new Map<string, Array<(lease: InternalLease) => void>>();
  private readonly leasesHeld = new Map<string, number>();
  private nextId = 1;
  private readonly datasets = new Map<string, SandboxDataset>();
  /** What opening each dataset found first, so every worker and every open reports the same. */
  private readonly personTableUnique = new Map<string, boolean>();
  private readonly tableStats = new Map<string, Map<string, TableStats>>();
  private readonly materialiseBudget: number;
  private readonly materialiseCounters = {
    reused: 0,
    built: 0,
    fallbacks: 0,
    evicted: 0,
    replaced: 0,
  };
  private readonly tempRoot: string;
  private closed = false;
  /** How many workers were started: tests use it to see a replacement happen. */
  generation = 0;

  private readonly workerPath: string;

  constructor(
    private readonly limits: SandboxLimits,
    workerPath?: string,
  ) {
    this.workerPath = workerPath ?? defaultWorkerPath();
    this.tempRoot = join(tmpdir(), `opencohort-sandbox-${process.pid}-${Date.now()}`);
    const workers = Math.max(1, Math.floor(limits.workers ?? 2));
    this.slots = Array.from({ length: workers }, () => ({
      worker: undefined,
      busy: false,
      lastTenant: undefined,
      closeKeys: new Set<string>(),
    }));
    this.maxLeasesPerTenant = Math.min(
      workers,
      Math.max(1, Math.floor(limits.maxLeasesPerTenant ?? 1)),
    );
    this.materialiseBudget = Math.max(0, limits.materialiseMb ?? limits.memoryMb / 2) * 1024 * 1024;
  }

  /** The first live worker's process id (the benchmark samples its memory). */
  get workerPid(): number | undefined {
    return this.workerPids[0];
  }

  /** Process ids of the live workers, in slot order. */
  get workerPids(): number[] {
    return this.slots.flatMap((slot) =>
      slot.worker && !slot.worker.exited && slot.worker.child.pid !== undefined
        ? [slot.worker.child.pid]
        : [],
    );
  }

  /** Who holds which worker and who waits: for tests and monitoring. */
  status(): SandboxStatus {
    return {
      workers: this.slots.map((slot) => ({
        pid: slot.worker && !slot.worker.exited ? slot.worker.child.pid : undefined,
        tenant: slot.busy ? slot.lastTenant : undefined,
      })),
      waiting: Object.fromEntries([...this.waiting].map(([tenant, w]) => [tenant, w.length])),
      materialisation: {
        ...this.materialiseCounters,
        budgetBytes: this.materialiseBudget,
        snapshots: this.slots.flatMap((slot) => {
          const worker = slot.worker;
          if (!worker || worker.exited || worker.child.pid === undefined) return [];
          const workerPid = worker.child.pid;
          return worker.materialised.status().map((s) => ({ ...s, workerPid }));
        }),
      },
    };
  }

  /**
   * Waits for a worker in the tenant's fair queue. Never rejects: on a closed sandbox the
   * lease's calls fail instead.
   */
  acquire(tenant: string): Promise<SandboxLease> {
    return this.acquireInternal(tenant);
  }

  /** Registers a dataset and opens it; says whether its person table has one row per person. */
  async openDataset(dataset: SandboxDataset): Promise<{ personTableUnique: boolean }> {
    this.datasets.set(dataset.key, dataset);
    for (const slot of this.slots) slot.closeKeys.delete(dataset.key);
    const lease = await this.acquireInternal(OPEN_TENANT);
    try {
      return await lease.run((worker) => this.ensureOpen(worker, dataset.key));
    } finally {
      lease.release();
    }
  }

  /** Forgets a dataset; each worker closes it now if idle, else when its lease ends. */
  async closeDataset(key: string): Promise<void> {
    this.datasets.delete(key);
    const closing: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (!slot.worker?.openDatasets.has(key)) continue;
      slot.closeKeys.add(key);
      if (!slot.busy) {
        slot.busy = true;
        slot.lastTenant = undefined;
        closing.push(this.freeSlot(slot));
      }
    }
    await Promise.all(closing);
  }

  /** Whether any live worker has the consent set loaded. */
  hasConsent(datasetKey: string, consentKey: string): boolean {
    return this.slots.some(
      (slot) =>
        slot.worker !== undefined &&
        !slot.worker.exited &&
        (slot.worker.consentSets.get(datasetKey)?.has(consentKey) ?? false),
    );
  }

  /**
   * One-shot steps on the data-less parser of any worker, through the fair queue as `tenant`.
   * Dataset work goes through a lease (`acquire`): its steps depend on what earlier calls left
   * in that worker (temp tables, the consent set), and a one-shot call made while holding a
   * lease could wait for a worker forever when the pool is full.
   */
  async exec(
    datasetKey: null,
    steps: ExecStep[],
    tenant: string = SHARED_TENANT,
  ): Promise<unknown[]> {
    const lease = await this.acquireInternal(tenant);
    try {
      return await lease.exec(datasetKey, steps);
    } finally {
      lease.release();
    }
  }

  /** Test hook: makes one worker (by pid), or every live one, exit as if DuckDB had crashed. */
  async crashWorkerForTest(pid?: number): Promise<void> {
    const workers = this.slots.flatMap((slot) =>
      slot.worker && !slot.worker.exited && (pid === undefined || slot.worker.child.pid === pid)
        ? [slot.worker]
        : [],
    );
    await Promise.all(
      workers.map(async (worker) => {
        const exited = new Promise<void>((resolve) => {
          if (worker.exited) resolve();
          else worker.child.once("exit", () => resolve());
        });
        sendToWorker(worker, { op: "crash", id: 0 });
        await exited;
      }),
    );
  }

  /**
   * Test hook: a runaway request for `tenant`. Takes a lease like any request and keeps its
   * worker busy until `end()`; the time limit interrupts it like a query (or, with
   * `ignoreInterrupts`, has to kill the worker). Only the host can send it: researcher SQL
   * never becomes a worker operation.
   */
  async holdForTest(
    tenant: string,
    options: { ignoreInterrupts?: boolean } = {},
  ): Promise<SandboxHold> {
    const lease = await this.acquireInternal(tenant);
    return new Promise<SandboxHold>((resolve, reject) => {
      const ended = lease.run(async (worker) => {
        const id = this.nextId++;
        const done = this.request(
          worker,
          { op: "hold", ignoreInterrupts: options.ignoreInterrupts === true },
          this.limits.timeoutMs,
          id,
        );
        resolve({
          pid: worker.child.pid as number,
          ended: ended as Promise<void>,
          end: () => {
            sendToWorker(worker, { op: "unhold", target: id });
          },
        });
        await done;
      });
      ended.then(
        () => undefined,
        (error: unknown) => reject(error),
      );
      ended.catch(() => undefined);
      lease.release();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const [tenant, grants] of waiting) {
      for (const grant of grants) grant(this.makeLease(undefined, tenant));
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = undefined;
        if (worker && !worker.exited) {
          const exited = new Promise<void>((resolve) => worker.child.once("exit", () => resolve()));
          worker.child.kill("SIGKILL");
          await exited;
        }
      }),
    );
  }

  private acquireInternal(tenant: string): Promise<InternalLease> {
    if (this.closed) return Promise.resolve(this.makeLease(undefined, tenant));
    return new Promise<InternalLease>((resolve) => {
      const queue = this.waiting.get(tenant);
      if (queue) queue.push(resolve);
      else this.waiting.set(tenant, [resolve]);
      this.dispatch();
    });
  }

  /** Grants free slots to waiting tenants, round-robin, within each tenant's lease limit. */
  private dispatch(): void {
    while (!this.closed) {
      const free = this.slots.filter((slot) => !slot.busy);
      if (free.length === 0) return;
      let tenant: string | undefined;
      for (const candidate of this.waiting.keys()) {
        if ((this.leasesHeld.get(candidate) ?? 0) < this.maxLeasesPerTenant) {
          tenant = candidate;
          break;
        }
      }
      if (tenant === undefined) return;
      const queue = this.waiting.get(tenant) as Array<(lease: InternalLease) => void>;
      const grant = queue.shift() as (lease: InternalLease) => void;
      // To the back of the round: every other waiting tenant goes before its next request.
      this.waiting.delete(tenant);
      if (queue.length > 0) this.waiting.set(tenant, queue);
      const live = (slot: Slot) => slot.worker !== undefined && !slot.worker.exited;
      const slot =
        free.find((s) => s.lastTenant === tenant && live(s)) ??
        free.find(live) ??
        (free[0] as Slot);
      slot.busy = true;
      slot.lastTenant = tenant;
      this.leasesHeld.set(tenant, (this.leasesHeld.get(tenant) ?? 0) + 1);
      grant(this.makeLease(slot, tenant));
    }
  }

  private makeLease(slot: Slot | undefined, tenant: string): InternalLease {
    let chain: Promise<unknown> = Promise.resolve();
    let bound: WorkerState | undefined;
    let released = false;
    /** Snapshots this lease uses, unpinned when it is released. */
    const pinned = new Set<MaterialisedSnapshot>();
    const worker = async (): Promise<WorkerState> => {
      if (!slot || this.closed) throw new SandboxError("failed", "sandbox is closed");
      if (bound) {
        if (bound.exited) {
          throw new SandboxError("crashed", "the worker of this lease exited during the lease");
        }
        return bound;
      }
      bound = await this.ensureWorker(slot);
      return bound;
    };
    const run = <T>(task: (worker: WorkerState) => Promise<T>): Promise<T> => {
      if (released) return Promise.reject(new SandboxError("failed", "lease already released"));
      const next = chain.then(async () => task(await worker()));
      chain = next.catch(() => undefined);
      return next;
    };
    return {
      tenant,
      get workerPid() {
        return bound?.child.pid;
      },
      run,
      ensureConsent: (datasetKey, consentKey, ids) =>
        run((w) => this.consentOn(w, datasetKey, consentKey, ids)),
      materialise: (datasetKey, consentKey, tables) =>
        run((w) => this.materialiseOn(w, pinned, datasetKey, consentKey, tables)),
      exec: (datasetKey, steps) =>
        run(async (w) => {
          if (datasetKey !== null) await this.ensureOpen(w, datasetKey);
          return (await this.request(
            w,
            { op: "exec", key: datasetKey, steps },
            this.limits.timeoutMs,
          )) as unknown[];
        }),
      release: () => {
        if (released) return;
        released = true;
        if (!slot) return;
        void chain.then(async () => {
          const held = (this.leasesHeld.get(tenant) ?? 1) - 1;
          if (held > 0) this.leasesHeld.set(tenant, held);
          else this.leasesHeld.delete(tenant);
          if (bound) await this.unpin(bound, pinned);
          return this.freeSlot(slot);
        });
      },
    };
  }

  /** Closes what was closed while the slot was busy, then frees it. */
  private async freeSlot(slot: Slot): Promise<void> {
    const worker = slot.worker;
    for (const key of [...slot.closeKeys]) {
      slot.closeKeys.delete(key);
      if (!worker || worker.exited || !worker.openDatasets.has(key) || this.datasets.has(key)) {
        continue;
      }
      try {
        await this.request(worker, { op: "close", key }, this.limits.timeoutMs);
      } catch {
        // A worker that cannot close a dataset is killed by the time limit and replaced.
      }
      worker.openDatasets.delete(key);
      worker.consentSets.delete(key);
      worker.materialised.forgetDataset(key);
    }
    slot.busy = false;
    this.dispatch();
  }

  private async consentOn(
    worker: WorkerState,
    datasetKey: string,
    consentKey: string,
    ids: () => BigInt64Array,
  ): Promise<{ distinctPersons: number; digest: string } | undefined> {
    await this.ensureOpen(worker, datasetKey);
    const loaded = worker.consentSets.get(datasetKey) ?? new Map<string, number>();
    if (loaded.has(consentKey)) return undefined;
    const result = (await this.request(
      worker,
      { op: "consent", key: datasetKey, consentKey, ids: ids() },
      this.limits.timeoutMs,
    )) as { loaded: boolean; distinctPersons: number; digest: string };
    loaded.set(consentKey, result.distinctPersons);
    // The worker keeps only its three newest sets; mirror that.
    while (loaded.size > 3) loaded.delete(loaded.keys().next().value as string);
    worker.consentSets.set(datasetKey, loaded);
    return { distinctPersons: result.distinctPersons, digest: result.digest };
  }

  private async materialiseOn(
    worker: WorkerState,
    pinned: Set<MaterialisedSnapshot>,
    datasetKey: string,
    consentKey: string,
    tables: string[],
  ): Promise<Record<string, string>> {
    await this.ensureOpen(worker, datasetKey);
    const consented = worker.consentSets.get(datasetKey)?.get(consentKey);
    if (consented === undefined) {
      throw new SandboxError("failed", "materialise before the consent set was loaded");
    }
    if (!IDENTIFIER_PART.test(consentKey) || !tables.every((t) => IDENTIFIER_PART.test(t))) {
      throw new SandboxError("failed", "consent key or table name outside [a-z0-9_]");
    }
    if (this.materialiseBudget <= 0) {
      this.materialiseCounters.fallbacks += tables.length;
      return {};
    }
    const snapshots = worker.materialised;
    const snapshot = snapshots.use(datasetKey, consentKey);
    if (!pinned.has(snapshot)) {
      pinned.add(snapshot);
      snapshot.pins++;
    }
    const replaced = snapshots.supersede(snapshot);
    this.materialiseCounters.replaced += replaced.length;
    await this.dropSnapshots(worker, replaced);

    // Smallest first: when not all fit, the small ones (the person table, which can carry the
    // consent restriction for a whole join) are the ones kept.
    const wanted = tables
      .filter((table) => !snapshot.tables.has(table) && !snapshot.refused.has(table))
      .map((table) => ({ table, estimate: this.estimateBytes(datasetKey, table, consented) }))
      .sort((a, b) => a.estimate - b.estimate);
    let built = 0;
    for (const { table, estimate } of wanted) {
      if (await this.buildSubset(worker, snapshot, datasetKey, consentKey, table, estimate)) {
        built++;
      }
    }
    const names: Record<string, string> = {};
    for (const table of tables) {
      const entry = snapshot.tables.get(table);
      if (entry) names[table] = entry.name;
      else this.materialiseCounters.fallbacks++;
    }
    if (built === 0 && Object.keys(names).length > 0) this.materialiseCounters.reused++;
    return names;
  }

  /** Builds one table's consented subset for the snapshot; false if it is read filtered. */
  private async buildSubset(
    worker: WorkerState,
    snapshot: MaterialisedSnapshot,
    datasetKey: string,
    consentKey: string,
    table: string,
    estimate: number,
  ): Promise<boolean> {
    const snapshots = worker.materialised;
    const room = snapshots.evictFor(estimate, this.materialiseBudget, snapshot);
    if (!room) {
      // Too large next to this snapshot's own tables: not worth trying again for it. Held
      // back only by other leases' snapshots: a later query may find room.
      if (snapshotBytes(snapshot) + estimate > this.materialiseBudget) snapshot.refused.add(table);
      return false;
    }
    this.materialiseCounters.evicted += room.length;
    await this.dropSnapshots(worker, room);

    const name = `consented_${consentKey}_${table}`;
    const started = performance.now();
    let bytes: number;
    try {
      const [before, , after] = (await this.request(
        worker,
        {
          op: "exec",
          key: datasetKey,
          steps: [
            { sql: IN_MEMORY_TABLE_BYTES, read: "rows" },
            { sql: materialisedTableSql(table, `consent_${consentKey}`, name), read: "none" },
            { sql: IN_MEMORY_TABLE_BYTES, read: "rows" },
          ],
        },
        // Like opening a dataset, building a large subset may take longer than one query.
        Math.max(this.limits.timeoutMs, 600_000),
      )) as [RowsResult, null, RowsResult];
      bytes = Math.max(0, Number(after.rows[0]?.[0] ?? 0) - Number(before.rows[0]?.[0] ?? 0));
    } catch (error) {
      // A dead worker fails the lease; out of memory or interrupted: filter instead.
      if (worker.exited) throw error;
      snapshot.refused.add(table);
      await this.dropTables(worker, datasetKey, [name]);
      return false;
    }
    snapshot.buildMs += performance.now() - started;
    snapshot.tables.set(table, { name, bytes });
    this.materialiseCounters.built++;
    // The estimate was short: make room now, or give the table up.
    const over = snapshots.evictFor(0, this.materialiseBudget, snapshot);
    if (!over) {
      snapshot.tables.delete(table);
      snapshot.refused.add(table);
      await this.dropTables(worker, datasetKey, [name]);
      return false;
    }
    this.materialiseCounters.evicted += over.length;
    await this.dropSnapshots(worker, over);
    return true;
  }

  /** A consented subset's size if built: the table's bytes, scaled by the consented share. */
  private estimateBytes(datasetKey: string, table: string, consented: number): number {
    const stats = this.tableStats.get(datasetKey);
    const own = stats?.get(table);
    if (!own) return Number.POSITIVE_INFINITY;
    const persons = stats?.get("person")?.rows ?? 0;
    const share = persons > 0 ? Math.min(1, consented / persons) : 1;
    // The consent position adds an INTEGER per row.
    return Math.ceil(own.rows * share) * (own.rowBytes + 4);
  }

  private async unpin(worker: WorkerState, pinned: Set<MaterialisedSnapshot>): Promise<void> {
    const dropped: MaterialisedSnapshot[] = [];
    for (const snapshot of pinned) {
      const superseded = worker.materialised.unpin(snapshot);
      if (superseded) dropped.push(superseded);
    }
    pinned.clear();
    this.materialiseCounters.replaced += dropped.length;
    if (!worker.exited) await this.dropSnapshots(worker, dropped);
  }

  private async dropSnapshots(worker: WorkerState, snapshots: MaterialisedSnapshot[]) {
    for (const snapshot of snapshots) {
      await this.dropTables(
        worker,
        snapshot.datasetKey,
        [...snapshot.tables.values()].map((t) => t.name),
      );
    }
  }

  private async dropTables(worker: WorkerState, datasetKey: string, names: string[]) {
    if (names.length === 0 || !worker.openDatasets.has(datasetKey)) return;
    try {
      await this.request(
        worker,
        {
          op: "exec",
          key: datasetKey,
          steps: names.map((name) => ({ sql: `DROP TABLE IF EXISTS ${name}`, read: "none" })),
        },
        this.limits.timeoutMs,
      );
    } catch {
      // A worker that cannot drop a table is killed by the time limit and replaced.
    }
  }

  private async ensureOpen(
    worker: WorkerState,
    key: string,
  ): Promise<{ personTableUnique: boolean }> {
    if (!worker.openDatasets.has(key)) {
      const dataset = this.datasets.get(key);
      if (!dataset) throw new SandboxError("failed", `dataset ${key} was never opened`);
      // Materialising a large dataset can take longer than one query is allowed to.
      const opened = (await this.request(
        worker,
        {
          op: "open",
          key,
          dir: dataset.dir,
          tables: dataset.tables,
          storage: dataset.storage,
          tempRoot: this.tempRoot,
          limits: {
            memoryMb: this.limits.memoryMb,
            threads: this.limits.threads,
            maxTempMb: this.limits.maxTempMb ?? 4096,
          },
        },
        Math.max(this.limits.timeoutMs, 600_000),
      )) as {
        personTableUnique: boolean;
        tables: Array<{ name: string; rows: number; types: string[] }>;
      };
      worker.openDatasets.add(key);
      // Same files, same answer in every worker; the first one found is the one reported.
      if (!this.personTableUnique.has(key)) {
        this.personTableUnique.set(key, opened.personTableUnique === true);
        this.tableStats.set(
          key,
          new Map(
            opened.tables.map((t) => [
              t.name,
              { rows: t.rows, rowBytes: t.types.reduce((sum, type) => sum + typeBytes(type), 0) },
            ]),
          ),
        );
      }
    }
    return { personTableUnique: this.personTableUnique.get(key) === true };
  }

  private async ensureWorker(slot: Slot): Promise<WorkerState> {
    if (this.closed) throw new SandboxError("failed", "sandbox is closed");
    if (slot.worker && !slot.worker.exited) {
      await slot.worker.ready;
      return slot.worker;
    }
    const child = fork(this.workerPath, [], {
      serialization: "advanced",
      // Never inherit the host's loaders (tsx, vitest): the worker is plain JavaScript.
      execArgv: ["--max-old-space-size=1024"],
      // Nothing of the host's environment; NODE_ENV is named because Next.js's types require it.
      env: { NODE_ENV: "production", TZ: "UTC", OC_SANDBOX_TMP: this.tempRoot },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.generation++;
    const state: WorkerState = {
      child,
      ready: new Promise<void>((resolve, reject) => {
        const onMessage = (message: { ready?: boolean }) => {
          if (message.ready) {
            child.off("message", onMessage);
            resolve();
          }
        };
        child.on("message", onMessage);
        child.once("exit", () => reject(new SandboxError("crashed", "worker exited on start")));
      }),
      openDatasets: new Set(),
      consentSets: new Map(),
      materialised: new MaterialisedSnapshots(),
      pending: new Map(),
      exited: false,
    };
    state.ready.catch(() => undefined);
    child.on(
      "message",
      (message: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
        if (message.id === undefined) return;
        const pending = state.pending.get(message.id);
        if (!pending) return;
        state.pending.delete(message.id);
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new SandboxError("failed", message.error ?? "unknown error"));
      },
    );
    child.once("exit", (code, signal) => {
      state.exited = true;
      for (const pending of state.pending.values()) {
        pending.reject(
          new SandboxError("crashed", `worker exited (code ${code}, signal ${signal})`),
        );
      }
      state.pending.clear();
    });
    slot.worker = state;
    await state.ready;
    return state;
  }

  private request(
    worker: WorkerState,
    message: Record<string, unknown>,
    timeoutMs: number,
    id = this.nextId++,
  ) {
    return new Promise<unknown>((resolve, reject) => {
      let interrupter: NodeJS.Timeout | undefined;
      let killer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const finish = () => {
        clearTimeout(deadline);
        clearInterval(interrupter);
        clearTimeout(killer);
      };
      const deadline = setTimeout(() => {
        timedOut = true;
        const interrupt = () => {
          sendToWorker(worker, { op: "interrupt", target: id });
        };
        interrupt();
        interrupter = setInterval(interrupt, 25);
        killer = setTimeout(() => {
          if (!worker.exited) worker.child.kill("SIGKILL");
        }, this.limits.killGraceMs ?? 5_000);
      }, timeoutMs);
      worker.pending.set(id, {
        resolve: (value) => {
          finish();
          resolve(value);
        },
        reject: (error) => {
          finish();
          reject(timedOut ? new SandboxError("timeout", error.detail) : error);
        },
      });
      // An exit already seen will not fail this request: fail it here.
      if (worker.exited) {
        worker.pending.delete(id);
        finish();
        reject(new SandboxError("crashed", "the worker had exited"));
        return;
      }
      sendToWorker(worker, { ...message, id });
    });
  }
}

/**
 * Sends to a worker unless its channel is gone. A killed worker's channel closes before its
 * "exit" event, and a send in between (the time limit's interrupts repeat every 25 ms until
 * the kill) would throw ERR_IPC_CHANNEL_CLOSED from a timer. Nothing is lost by not sending:
 * the exit fails every request still pending on that worker.
 */
function sendToWorker(worker: WorkerState, message: object): void {
  if (worker.exited || !worker.child.connected) return;
  worker.child.send(message, () => {
    // A send that fails later (the channel closed meanwhile) is answered by the exit too.
  });
}
