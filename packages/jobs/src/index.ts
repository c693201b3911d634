import { type Db, pgConfigFromUrl, resolveDatabaseUrl } from "@opencohort/db";
import { createPgBossJobQueue, createPgBossJobSender } from "./pgboss-queue";
import type { JobQueue, JobQueueOptions, JobSender } from "./queue";
import { createSqliteJobQueue } from "./sqlite-queue";

export {
  createPgBossJobQueue,
  createPgBossJobSender,
  type PgBossQueueOptions,
} from "./pgboss-queue";
export type {
  Job,
  JobHandler,
  JobQueue,
  JobQueueOptions,
  JobSender,
  JobState,
  WorkOptions,
} from "./queue";
export { createSqliteJobQueue } from "./sqlite-queue";

/** pg-boss's schema for an app database URL (see openJobQueue). */
function bossSchema(schema: string | undefined): string {
  return schema === undefined ? "pgboss" : `${schema}_pgboss`;
}

/** The sending side of the queue `name` on the app database (the web app). */
export async function openJobSender<Payload extends object>(
  databaseUrl: string,
  db: Db,
  name: string,
): Promise<JobSender<Payload>> {
  const { target } = resolveDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite") {
    // Settings are the worker's; the sender only writes rows.
    const queue = createSqliteJobQueue<Payload>(db, { name, leaseSeconds: 1, maxAttempts: 1 });
    return { send: (payload) => queue.send(payload), stop: async () => {} };
  }
  return createPgBossJobSender<Payload>({
    name,
    pgConfig: pgConfigFromUrl(target.url),
    schema: bossSchema(target.schema),
  });
}

/**
 * The queue `options.name` on the app database `databaseUrl` (whose Prisma client is `db`):
 * pg-boss on PostgreSQL, in the schema `pgboss` (or `<schema>_pgboss` when the URL names
 * an app schema, so databases shared by several apps or tests keep their queues apart);
 * the `Job` table on SQLite.
 */
export async function openJobQueue<Payload extends object>(
  databaseUrl: string,
  db: Db,
  options: JobQueueOptions,
): Promise<JobQueue<Payload>> {
  const { target } = resolveDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite") return createSqliteJobQueue<Payload>(db, options);
  return createPgBossJobQueue<Payload>({
    ...options,
    pgConfig: pgConfigFromUrl(target.url),
    schema: bossSchema(target.schema),
  });
}
