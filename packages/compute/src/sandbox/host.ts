import { type ChildProcess, fork } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The host side of the sandbox: forks worker.mjs, sends it requests one at a time, enforces
 * the time limit by interrupting (repeatedly: an interrupt that lands before execution starts
 * is dropped) and, if the worker still does not answer, kills it. A dead worker is replaced
 * on the next request and the datasets it had open are reopened.
 */

export interface SandboxLimits {
  /** DuckDB memory_limit per dataset instance. */
  memoryMb: number;
  threads: number;
  /** Wall-clock limit of one request. */
  timeoutMs: number;
  /** Spill space DuckDB may use before failing. */
  maxTempMb?: number;
  /** After the time limit, how long interrupts may take before the worker is killed. */
  killGraceMs?: number;
}

export type TableStorage = "memory" | "parquet";

export interface SandboxDataset {
  key: string;
  dir: string;
  tables: Array<{ name: string; file: string }>;
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
  consentSets: Map<string, Set<string>>;
  pending: Map<number, Pending>;
  exited: boolean;
}

/** The worker next to this module; a bundler that moves the module (Next.js) passes the path. */
const defaultWorkerPath = () => fileURLToPath(new URL("./worker.mjs", import.meta.url));

export class SandboxHost {
  private worker: WorkerState | undefined;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly datasets = new Map<string, SandboxDataset>();
  /** What opening each dataset found, so a second open of the same key reports the same. */
  private readonly personTableUnique = new Map<string, boolean>();
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
  }

  get workerPid(): number | undefined {
    return this.worker?.child.pid;
  }

  /** Registers a dataset and opens it; says whether its person table has one row per person. */
  async openDataset(dataset: SandboxDataset): Promise<{ personTableUnique: boolean }> {
    this.datasets.set(dataset.key, dataset);
    return this.serialised(async () => this.ensureOpen(await this.ensureWorker(), dataset.key));
  }

  async closeDataset(key: string): Promise<void> {
    this.datasets.delete(key);
    await this.serialised(async () => {
      const worker = this.worker;
      if (!worker || worker.exited || !worker.openDatasets.has(key)) return;
      await this.request(worker, { op: "close", key }, this.limits.timeoutMs);
      worker.openDatasets.delete(key);
      worker.consentSets.delete(key);
    });
  }

  /**
   * Makes sure the consented person set is loaded for the dataset; returns its digest when it
   * had to be loaded, undefined if the worker already had it.
   */
  async ensureConsent(
    datasetKey: string,
    consentKey: string,
    ids: () => BigInt64Array,
  ): Promise<{ distinctPersons: number; digest: string } | undefined> {
    return this.serialised(async () => {
      const worker = await this.ensureWorker();
      await this.ensureOpen(worker, datasetKey);
      const loaded = worker.consentSets.get(datasetKey) ?? new Set<string>();
      if (loaded.has(consentKey)) return undefined;
      const result = (await this.request(
        worker,
        { op: "consent", key: datasetKey, consentKey, ids: ids() },
        this.limits.timeoutMs,
      )) as { loaded: boolean; distinctPersons: number; digest: string };
      loaded.add(consentKey);
      // The worker keeps only its three newest sets; mirror that.
      while (loaded.size > 3) loaded.delete(loaded.values().next().value as string);
      worker.consentSets.set(datasetKey, loaded);
      return { distinctPersons: result.distinctPersons, digest: result.digest };
    });
  }

  hasConsent(datasetKey: string, consentKey: string): boolean {
    return this.worker?.consentSets.get(datasetKey)?.has(consentKey) ?? false;
  }

  /** Runs steps on a dataset's connection (or, with key null, on the data-less parser). */
  async exec(datasetKey: string | null, steps: ExecStep[]): Promise<unknown[]> {
    return this.serialised(async () => {
      const worker = await this.ensureWorker();
      if (datasetKey !== null) await this.ensureOpen(worker, datasetKey);
      return (await this.request(
        worker,
        { op: "exec", key: datasetKey, steps },
        this.limits.timeoutMs,
      )) as unknown[];
    });
  }

  /** Test hook: makes the worker exit as if DuckDB had crashed. */
  async crashWorkerForTest(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    worker.child.send({ op: "crash", id: 0 });
    await new Promise<void>((resolve) => {
      if (worker.exited) resolve();
      else worker.child.once("exit", () => resolve());
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker && !worker.exited) {
      const exited = new Promise<void>((resolve) => worker.child.once("exit", () => resolve()));
      worker.child.kill("SIGKILL");
      await exited;
    }
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureOpen(
    worker: WorkerState,
    key: string,
  ): Promise<{ personTableUnique: boolean }> {
    if (worker.openDatasets.has(key)) {
      return { personTableUnique: this.personTableUnique.get(key) === true };
    }
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
    )) as { personTableUnique: boolean };
    worker.openDatasets.add(key);
    this.personTableUnique.set(key, opened.personTableUnique === true);
    return { personTableUnique: opened.personTableUnique === true };
  }

  private async ensureWorker(): Promise<WorkerState> {
    if (this.closed) throw new SandboxError("failed", "sandbox is closed");
    if (this.worker && !this.worker.exited) {
      await this.worker.ready;
      return this.worker;
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
    this.worker = state;
    await state.ready;
    return state;
  }

  private request(worker: WorkerState, message: Record<string, unknown>, timeoutMs: number) {
    const id = this.nextId++;
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
          if (!worker.exited) worker.child.send({ op: "interrupt", target: id });
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
      worker.child.send({ ...message, id });
    });
  }
}
