import { createDb, type Db, migrate } from "@opencohort/db";
import { afterEach, describe, expect, it } from "vitest";
import { providerCases } from "../../db/test/helpers";
import { openJobQueue } from "./index";
import type { Job, JobQueue, JobQueueOptions } from "./queue";

interface Payload {
  n: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the queue");
    await sleep(25);
  }
}

describe.each(providerCases())("job queue on $name", ({ url, skip }) => {
  const opened: Array<{ queue: JobQueue<Payload>; db: Db }> = [];

  /** A worker process's view: its own database client and queue object. */
  async function worker(databaseUrl: string, options: Partial<JobQueueOptions> = {}) {
    const db = createDb(databaseUrl);
    const queue = await openJobQueue<Payload>(databaseUrl, db, {
      name: "test",
      leaseSeconds: 30,
      maxAttempts: 3,
      pollIntervalMs: 20,
      ...options,
    });
    opened.push({ queue, db });
    return queue;
  }

  afterEach(async () => {
    for (const { queue, db } of opened.splice(0)) {
      await queue.stop({ drainMs: 0 });
      await db.$disconnect();
    }
  });

  it.skipIf(skip)("hands each job to exactly one of two workers", async () => {
    const databaseUrl = url();
    await migrate(databaseUrl);
    const first = await worker(databaseUrl);
    const second = await worker(databaseUrl);
    const handled: Array<{ n: number; by: string; attempt: number }> = [];
    const handlerOf = (by: string) => async (job: Job<Payload>) => {
      await sleep(5);
      handled.push({ n: job.payload.n, by, attempt: job.attempt });
    };
    const noDead = async () => {
      throw new Error("no job should die");
    };
    await first.work(handlerOf("first"), { concurrency: 2, onDead: noDead });
    await second.work(handlerOf("second"), { concurrency: 2, onDead: noDead });
    for (let n = 0; n < 24; n++) await first.send({ n });
    await until(() => handled.length >= 24);
    await sleep(200);
    expect(handled.map((entry) => entry.n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 24 }, (_, n) => n),
    );
    expect(handled.every((entry) => entry.attempt === 1)).toBe(true);
    // Both took part: the jobs are shared, not drained by the first worker alone.
    expect(new Set(handled.map((entry) => entry.by)).size).toBe(2);
    await until(() => true);
    const counts = await first.counts();
    expect(counts.completed).toBe(24);
    expect(counts.queued + counts.active + counts.failed).toBe(0);
  });

  it.skipIf(skip)(
    "drains a backlog job after job, without waiting a poll interval between them",
    async () => {
      const databaseUrl = url();
      await migrate(databaseUrl);
      // Sent from another process's queue object before the worker starts: nothing wakes it.
      const sender = await worker(databaseUrl);
      for (let n = 0; n < 5; n++) await sender.send({ n });
      // A poll a minute: only taking the next job straight after each one drains five in time.
      const slowPoller = await worker(databaseUrl, { pollIntervalMs: 60_000 });
      const handled: number[] = [];
      await slowPoller.work(
        async (job) => {
          handled.push(job.payload.n);
        },
        {
          concurrency: 1,
          onDead: async () => {
            throw new Error("no job should die");
          },
        },
      );
      await until(() => handled.length >= 5, 20_000);
      expect(handled).toEqual([0, 1, 2, 3, 4]);
    },
  );

  it.skipIf(skip)(
    "gives a job whose worker went silent to another worker once its lease ends",
    async () => {
      const databaseUrl = url();
      await migrate(databaseUrl);
      const silent = await worker(databaseUrl, { leaseSeconds: 1 });
      const taken: Job<Payload>[] = [];
      // The first worker takes the job and never finishes it (as a killed process would not).
      await silent.work(
        async (job) => {
          taken.push(job);
          await new Promise(() => {});
        },
        { concurrency: 1, onDead: async () => {} },
      );
      await silent.send({ n: 7 });
      await until(() => taken.length === 1);
      // Gone, as a killed process is: it takes nothing more and never settles the job.
      await silent.stop({ drainMs: 0 });
      const rescuer = await worker(databaseUrl, { leaseSeconds: 1 });
      const rescued: Job<Payload>[] = [];
      await rescuer.work(
        async (job) => {
          rescued.push(job);
        },
        { concurrency: 1, onDead: async () => {} },
      );
      await until(() => rescued.length === 1);
      expect(rescued[0]?.payload).toEqual({ n: 7 });
      expect(rescued[0]?.attempt).toBe(2);
      expect(taken[0]?.attempt).toBe(1);
    },
  );

  it.skipIf(skip)("sends a job that failed every attempt to onDead once", async () => {
    const databaseUrl = url();
    await migrate(databaseUrl);
    const queue = await worker(databaseUrl, { maxAttempts: 2 });
    const attempts: number[] = [];
    const dead: Job<Payload>[] = [];
    await queue.work(
      async (job) => {
        attempts.push(job.attempt);
        throw new Error("always fails");
      },
      { concurrency: 1, onDead: async (job) => void dead.push(job), onError: () => {} },
    );
    await queue.send({ n: 3 });
    await until(() => dead.length === 1);
    await sleep(1_500);
    expect(attempts).toEqual([1, 2]);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.payload).toEqual({ n: 3 });
  });

  it("refuses a bad queue name or lease", async () => {
    const databaseUrl = url();
    const db = createDb(databaseUrl);
    const open = (options: Partial<JobQueueOptions>) =>
      openJobQueue<Payload>(databaseUrl, db, {
        name: "test",
        leaseSeconds: 30,
        maxAttempts: 3,
        ...options,
      });
    await expect(open({ name: "Bad Name" })).rejects.toThrow(/lower-case/);
    await expect(open({ leaseSeconds: 0 })).rejects.toThrow(/leaseSeconds/);
    await expect(open({ maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    await db.$disconnect();
  });
});
