import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./postgres";

declare module "vitest" {
  export interface ProvidedContext {
    /** Server URL (database `postgres`); empty when PostgreSQL tests are skipped. */
    postgresUrl: string;
    postgresSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startTestPostgres();
  if (postgres.url === undefined) {
    console.warn(`[db tests] PostgreSQL tests skipped: ${postgres.skipReason}.`);
    project.provide("postgresUrl", "");
    project.provide("postgresSkipReason", postgres.skipReason);
    return async () => {};
  }
  project.provide("postgresUrl", postgres.url);
  project.provide("postgresSkipReason", "");
  return postgres.stop;
}
