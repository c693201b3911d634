/**
 * The job queue on PostgreSQL: pg-boss, in a schema of its own next to the app's tables.
 *
 * pg-boss gives each attempt `leaseSeconds` from its start (`expireInSeconds`); its
 * maintenance, which one of the connected processes runs every few seconds, puts an attempt
 * that overran back in the queue (or, after `maxAttempts`, in the dead-letter queue this
 * module works with `onDead`). Idle workers poll every half second (pg-boss's floor), and a
 * LISTEN on one channel wakes them as soon as any process sends a job, so a query does not
 * wait for the next poll.
 */
import pg from "pg";
import PgBoss from "pg-boss";
import {
  checkQueueOptions,
  type Job,
  type JobQueue,
  type JobQueueOptions,
  type JobSender,
  type JobState,
  type WorkOptions,
} from "./queue";

export interface PgBossQueueOptions extends JobQueueOptions {
  /** node-postgres settings of the app database (db's pgConfigFromUrl). */
  pgConfig: pg.ClientConfig;
  /** The schema pg-boss keeps its tables in (created on first start). */
  schema: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const notifyChannel = (schema: string, name: string) =>
  `${schema}_${name}`.replace(/[^a-z0-9_]/g, "_");

function bossOf(pgConfig: pg.ClientConfig, schema: string, extra: PgBoss.ConstructorOptions) {
  return new PgBoss({
    host: pgConfig.host,
    port: pgConfig.port,
    user: pgConfig.user,
    password: pgConfig.password as string | undefined,
    database: pgConfig.database,
    ssl: pgConfig.ssl,
    schema,
    schedule: false,
    ...extra,
  });
}

async function sendAndWake<Payload extends object>(
  boss: PgBoss,
  name: string,
  channel: string,
  payload: Payload,
): Promise<string> {
  const id = await boss.send(name, payload);
  if (id === null) throw new Error(`pg-boss refused a job on ${name}.`);
  await boss.getDb().executeSql("SELECT pg_notify($1, $2)", [channel, name]);
  return id;
}

/**
 * A process that only sends (the web app): no maintenance, no settings of its own. A queue
 * that does not exist yet is created with pg-boss's defaults; the first worker to start
 * applies the lease and attempts it runs with.
 */
export async function createPgBossJobSender<Payload extends object>(options: {
  name: string;
  pgConfig: pg.ClientConfig;
  schema: string;
}): Promise<JobSender<Payload>> {
  const boss = bossOf(options.pgConfig, options.schema, {
    supervise: false,
    max: 4,
    application_name: `opencohort-jobs-${options.name}-sender`,
  });
  await boss.start();
  await boss.createQueue(options.name, { name: options.name });
  const channel = notifyChannel(options.schema, options.name);
  return {
    send: (payload) => sendAndWake(boss, options.name, channel, payload),
    stop: () => boss.stop({ graceful: false, close: true, wait: true, timeout: 1_000 }),
  };
}

export async function createPgBossJobQueue<Payload extends object>(
  options: PgBossQueueOptions,
): Promise<JobQueue<Payload>> {
  checkQueueOptions(options);
  const { name, leaseSeconds, maxAttempts, pgConfig, schema } = options;
  const deadQueue = `${name}-dead`;
  const channel = notifyChannel(schema, name);
  const boss = bossOf(pgConfig, schema, {
    // Overrun attempts are found by maintenance: often enough that a dead worker's job is
    // taken over soon after its lease ends.
    maintenanceIntervalSeconds: Math.max(1, Math.min(30, Math.floor(leaseSeconds / 4))),
    supervise: true,
    max: 4,
    application_name: `opencohort-jobs-${name}`,
  });
  const errors: Array<(error: unknown) => void> = [];
  boss.on("error", (error) => {
    for (const report of errors) report(error);
  });
  await boss.start();
  const queueSettings = {
    retryLimit: maxAttempts - 1,
    retryDelay: 0,
    expireInSeconds: leaseSeconds,
    deadLetter: deadQueue,
  };
  await boss.createQueue(deadQueue, { name: deadQueue, expireInSeconds: leaseSeconds });
  await boss.createQueue(name, { name, ...queueSettings });
  // A queue created by an older version keeps its settings until told otherwise.
  await boss.updateQueue(name, { name, ...queueSettings });

  const workIds: string[] = [];
  let listener: pg.Client | undefined;
  let inHand = 0;

  const toJob = (job: PgBoss.JobWithMetadata<Payload>): Job<Payload> => ({
    id: job.id,
    payload: job.data,
    attempt: job.retryCount + 1,
  });

  async function listen(onError: WorkOptions<Payload>["onError"]): Promise<void> {
    const client = new pg.Client(pgConfig);
    client.on("error", (error) => onError?.(error));
    await client.connect();
    client.on("notification", () => {
      for (const id of workIds) boss.notifyWorker(id);
    });
    await client.query(`LISTEN ${channel}`);
    listener = client;
  }

  return {
    name,
    provider: "postgresql",
    send: (payload) => sendAndWake(boss, name, channel, payload),
    async work(handler, work) {
      if (workIds.length > 0) throw new Error(`The queue ${name} is already being worked here.`);
      if (work.onError) errors.push(work.onError);
      const run = async (jobs: PgBoss.JobWithMetadata<Payload>[]) => {
        for (const job of jobs) {
          inHand++;
          try {
            await handler(toJob(job));
          } catch (error) {
            work.onError?.(error, toJob(job));
            // pg-boss fails the attempt and retries it, or sends it to the dead letters.
            throw error;
          } finally {
            inHand--;
            // pg-boss waits out the rest of its polling interval after a job unless notified:
            // with a backlog and no new sends (the end of a burst) that paced a worker at two
            // jobs a second (10,000 persons: the last queries of a burst queued 15 s behind
            // 50 ms ones). After a job there may be more: look now; an empty fetch still waits.
            for (const id of workIds) boss.notifyWorker(id);
          }
        }
      };
      const settings = {
        batchSize: 1,
        // pg-boss's floor is half a second; LISTEN wakes idle workers sooner.
        pollingIntervalSeconds: Math.max(0.5, (options.pollIntervalMs ?? 500) / 1000),
        includeMetadata: true,
      } as const;
      for (let index = 0; index < work.concurrency; index++) {
        workIds.push(await boss.work<Payload>(name, settings, run));
      }
      workIds.push(
        await boss.work<Payload>(deadQueue, settings, async (jobs) => {
          for (const job of jobs) {
            // The dead letter is a new job: its attempt count is the original's last.
            await work.onDead({ id: job.id, payload: job.data, attempt: maxAttempts });
          }
        }),
      );
      await listen(work.onError);
    },
    async counts() {
      const rows = await boss
        .getDb()
        .executeSql(
          `SELECT state, count(*)::int AS n FROM ${schema}.job WHERE name = $1 GROUP BY state`,
          [name],
        );
      const counts: Record<JobState, number> = { queued: 0, active: 0, completed: 0, failed: 0 };
      for (const row of rows.rows as Array<{ state: string; n: number }>) {
        const state: JobState =
          row.state === "created" || row.state === "retry"
            ? "queued"
            : row.state === "active"
              ? "active"
              : row.state === "completed"
                ? "completed"
                : "failed";
        counts[state] += row.n;
      }
      return counts;
    },
    async stop({ drainMs = 10_000 } = {}) {
      for (const id of workIds) await boss.offWork({ id }).catch(() => undefined);
      const until = Date.now() + drainMs;
      while (inHand > 0 && Date.now() < until) await sleep(50);
      await listener?.end().catch(() => undefined);
      await boss.stop({ graceful: false, close: true, wait: true, timeout: 1_000 });
    },
  };
}
