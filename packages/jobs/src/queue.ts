/**
 * A job queue on the app database, the same interface on both providers:
 * - PostgreSQL: pg-boss, in its own schema (pgboss-queue.ts). Any number of workers on any
 *   number of machines share it.
 * - SQLite: the `Job` table (sqlite-queue.ts), the one-machine default. Workers in several
 *   processes share the file.
 *
 * Delivery is at least once. An attempt holds its job for `leaseSeconds` from its start; a
 * worker that dies (or overruns the lease) leaves the job to be taken again by any worker
 * once the lease has run out, up to `maxAttempts` attempts. A job whose last attempt failed
 * or died goes to `onDead`, once. Handlers must therefore be idempotent, and must tell their
 * own attempt from a later one (`Job.attempt` grows with every take-over).
 */

export interface Job<Payload> {
  id: string;
  payload: Payload;
  /** 1 for the first attempt; a take-over after a dead worker or a failure adds one. */
  attempt: number;
}

export type JobHandler<Payload> = (job: Job<Payload>) => Promise<void>;

export interface WorkOptions<Payload> {
  /** Jobs this process runs at once. */
  concurrency: number;
  /** Called once for a job that used up its attempts (its last worker died or failed). */
  onDead: (job: Job<Payload>) => Promise<void>;
  /** Told about failures of the queue itself (a lost connection, a handler that threw). */
  onError?: (error: unknown, job?: Job<Payload>) => void;
}

export interface JobQueueOptions {
  /** The queue's name: letters, digits, dashes. */
  name: string;
  /** How long an attempt may hold its job; set above the longest run a job may take. */
  leaseSeconds: number;
  /** Attempts before the job is dead. */
  maxAttempts: number;
  /** Names this process in the SQLite table's lock column (log correlation). */
  workerId?: string;
  /**
   * How often idle workers look for jobs. SQLite: default 25 ms (one indexed read each; at
   * 100 ms a 40 ms query over 10,000 persons waited about as long again to be taken).
   * PostgreSQL: default and floor 500 ms (pg-boss's), and a LISTEN wakes workers on a send.
   */
  pollIntervalMs?: number;
}

export type JobState = "queued" | "active" | "completed" | "failed";

/** The sending side alone (the web app): it takes no jobs and sets nothing. */
export interface JobSender<Payload> {
  /** Adds a job and returns its id. */
  send(payload: Payload): Promise<string>;
  /** Closes its connections. */
  stop(): Promise<void>;
}

export interface JobQueue<Payload> {
  readonly name: string;
  readonly provider: "sqlite" | "postgresql";
  /** Adds a job and returns its id. */
  send(payload: Payload): Promise<string>;
  /** Starts taking jobs in this process (once per queue object). */
  work(handler: JobHandler<Payload>, options: WorkOptions<Payload>): Promise<void>;
  /** Jobs per state, for readiness and benchmarks. */
  counts(): Promise<Record<JobState, number>>;
  /**
   * Stops taking jobs, waits up to `drainMs` for the jobs in hand to finish, and closes the
   * queue's connections. Jobs still running then are left to their lease.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

const QUEUE_NAME = /^[a-z][a-z0-9-]{0,40}$/;

export function checkQueueOptions(options: JobQueueOptions): void {
  if (!QUEUE_NAME.test(options.name)) {
    throw new RangeError(`A queue name is lower-case letters, digits and dashes: ${options.name}`);
  }
  if (!Number.isInteger(options.leaseSeconds) || options.leaseSeconds < 1) {
    throw new RangeError(
      `leaseSeconds must be a whole number of seconds ≥ 1: ${options.leaseSeconds}`,
    );
  }
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a whole number ≥ 1: ${options.maxAttempts}`);
  }
}
