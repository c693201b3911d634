// Prisma CLI configuration. Run the CLI through `pnpm --filter @opencohort/db prisma ...`
// (scripts/prisma.mjs), which points it at the offline schema engine bridge.
//
// The provider follows DATABASE_URL: a SQLite URL (the default) uses prisma/schema.prisma
// and prisma/migrations; a PostgreSQL URL uses the generated prisma/postgres/ variant.
import { defineConfig } from "prisma/config";
import { type DbEnv, loadDbEnv } from "./src/env";
import { isDatabaseConfigError } from "./src/errors";
import { LAYOUTS } from "./src/layout";

function env(): DbEnv {
  try {
    return loadDbEnv();
  } catch (error) {
    if (!isDatabaseConfigError(error)) throw error;
    // One sentence, no stack: the CLI would otherwise print the loader's trace.
    console.error(error.message);
    process.exit(1);
  }
}

const { databaseUrl, target } = env();
const layout = LAYOUTS[target.provider];

export default defineConfig({
  schema: layout.schemaPath,
  migrations: { path: layout.migrationsDir },
  datasource: { url: databaseUrl },
});
