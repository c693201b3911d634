// Creates the next migration for SQLite and PostgreSQL at once (same folder name), offline:
//   pnpm --filter @opencohort/db migration:new <name>
// Edit prisma/schema.prisma first; prisma/postgres/schema.prisma is regenerated here.
import { createMigration } from "../src/authoring";

const name = process.argv[2];
if (name === undefined) {
  console.error("usage: pnpm --filter @opencohort/db migration:new <name>");
  process.exit(2);
}
const created = await createMigration(name);
if (created === null) {
  console.log("No schema change since the last migration; nothing created.");
} else {
  console.log(
    `Created prisma/migrations/${created.folder}/ and prisma/postgres/migrations/${created.folder}/.`,
  );
  console.log(
    "Apply with `pnpm --filter @opencohort/db prisma migrate deploy` (or migrate() from code).",
  );
}
