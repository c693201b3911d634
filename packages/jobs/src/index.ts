import { type Db, pgConfigFromUrl, resolveDatabaseUrl } from "@opencohort/db";
import { createPgBossJobQueue } from "./pgboss-queue";
import type { JobQueue, JobQueueOptions } from "./queue";
import { createSqliteJobQueue } from "./sqlite-queue";

export { createPgBossJobQueue, type PgBossQueueOptions } from "./pgboss-queue";
export type {
  Job,
  JobHandler,
  JobQueue,
  JobQueueOptions,
  JobState,
  WorkOptions,
} from "./queue";
export { createSqliteJobQueue } from "./sqlite-queue";

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
    schema: target.schema === undefined ? "pgboss" : `${target.schema}_pgboss`,
  });
}
