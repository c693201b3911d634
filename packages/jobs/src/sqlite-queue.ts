/**
 * The job queue on SQLite: rows of the `Job` table, claimed by compare-and-set.
 *
 * A claim reads the oldest job that is queued or whose attempt's lease ran out, then updates
 * it only if its state and attempt count are still what was read: of two workers (threads or
 * processes) reading the same job, one update matches and the other takes nothing. SQLite
 * runs one write at a time, so no lock is needed beyond that. Lease and attempts are the
 * taking worker's settings: a job row holds only what was sent.
 */
import { randomBytes } from "node:crypto";
import type { Db, Prisma } from "@opencohort/db";
import {
  checkQueueOptions,
  type Job,
  type JobHandler,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type WorkOptions,
} from "./queue";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Claimed<Payload> {
  job: Job<Payload>;
  /** The job used up its attempts while its last worker was gone: it goes to onDead. */
  dead: boolean;
}

export function createSqliteJobQueue<Payload>(db: Db, options: JobQueueOptions): JobQueue<Payload> {
  checkQueueOptions(options);
  const { name, leaseSeconds, maxAttempts } = options;
  const workerId = options.workerId ?? `worker-${randomBytes(4).toString("hex")}`;
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  let stopping = false;
  let working = false;
  const loops: Promise<void>[] = [];
  /** Wakes idle loops of this process at once when it sends a job itself. */
  const wakers = new Set<() => void>();

  async function claim(): Promise<Claimed<Payload> | undefined> {
    for (;;) {
      const now = new Date();
      const candidate = await db.job.findFirst({
        where: {
          queue: name,
          OR: [{ state: "queued" }, { state: "active", lockedUntil: { lt: now } }],
        },
        orderBy: { createdAt: "asc" },
        select: { id: true, state: true, attempts: true, payload: true },
      });
      if (!candidate) return undefined;
      const dead = candidate.state === "active" && candidate.attempts >= maxAttempts;
      const taken = await db.job.updateMany({
        where: { id: candidate.id, state: candidate.state, attempts: candidate.attempts },
        data: dead
          ? { state: "failed", finishedAt: now, lastError: "its last worker stopped" }
          : {
              state: "active",
              attempts: candidate.attempts + 1,
              lockedBy: workerId,
              lockedUntil: new Date(now.getTime() + leaseSeconds * 1_000),
            },
      });
      // Another worker took it between the read and the write: look again.
      if (taken.count !== 1) continue;
      return {
        job: {
          id: candidate.id,
          payload: candidate.payload as Payload,
          attempt: dead ? candidate.attempts : candidate.attempts + 1,
        },
        dead,
      };
    }
  }

  async function settle(job: Job<Payload>, error: unknown | undefined): Promise<"dead" | "done"> {
    const mine = { id: job.id, state: "active", attempts: job.attempt };
    if (error === undefined) {
      await db.job.updateMany({
        where: mine,
        data: { state: "completed", finishedAt: new Date(), lockedUntil: null },
      });
      return "done";
    }
    const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const dead = job.attempt >= maxAttempts;
    const updated = await db.job.updateMany({
      where: mine,
      data: dead
        ? { state: "failed", finishedAt: new Date(), lastError, lockedUntil: null }
        : { state: "queued", lastError, lockedBy: null, lockedUntil: null },
    });
    // Its lease had run out and another worker took it over: that attempt settles it.
    return dead && updated.count === 1 ? "dead" : "done";
  }

  async function loop(handler: JobHandler<Payload>, work: WorkOptions<Payload>): Promise<void> {
    while (!stopping) {
      let claimed: Claimed<Payload> | undefined;
      try {
        claimed = await claim();
      } catch (error) {
        work.onError?.(error);
      }
      if (!claimed) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            wakers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, pollIntervalMs);
          wakers.add(wake);
        });
        continue;
      }
      const { job } = claimed;
      try {
        if (claimed.dead) {
          await work.onDead(job);
          continue;
        }
        let failure: unknown;
        try {
          await handler(job);
        } catch (error) {
          failure = error ?? new Error("the handler failed");
          work.onError?.(error, job);
        }
        if ((await settle(job, failure)) === "dead") await work.onDead(job);
      } catch (error) {
        // The database went away mid-settle: the lease brings the job back.
        work.onError?.(error, job);
        await sleep(pollIntervalMs);
      }
    }
  }

  return {
    name,
    provider: "sqlite",
    async send(payload) {
      const created = await db.job.create({
        data: { queue: name, payload: payload as Prisma.InputJsonValue },
        select: { id: true },
      });
      for (const wake of [...wakers]) wake();
      return created.id;
    },
    async work(handler, work) {
      if (working) throw new Error(`The queue ${name} is already being worked in this process.`);
      working = true;
      for (let index = 0; index < work.concurrency; index++) loops.push(loop(handler, work));
    },
    async counts() {
      const rows = await db.job.groupBy({
        by: ["state"],
        where: { queue: name },
        _count: { _all: true },
      });
      const counts: Record<JobState, number> = { queued: 0, active: 0, completed: 0, failed: 0 };
      for (const row of rows) {
        if (row.state in counts) counts[row.state as JobState] = row._count._all;
      }
      return counts;
    },
    async stop({ drainMs = 10_000 } = {}) {
      stopping = true;
      for (const wake of [...wakers]) wake();
      await Promise.race([Promise.all(loops), sleep(drainMs)]);
    },
  };
}
