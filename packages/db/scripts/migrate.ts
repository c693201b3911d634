// Brings the database named by DATABASE_URL up to date, with the data conversions that run
// between migrations (what `prisma migrate deploy` cannot do; see src/migrate.ts):
//   DATABASE_URL=postgresql://… pnpm --filter @opencohort/db migrate
import { isDatabaseConfigError, loadDbEnv, migrate } from "../src/index";

try {
  const { applied } = await migrate(loadDbEnv().databaseUrl);
  console.log(applied.length === 0 ? "Up to date." : `Applied ${applied.join(", ")}.`);
} catch (error) {
  console.error(isDatabaseConfigError(error) ? error.message : error);
  process.exit(1);
}
