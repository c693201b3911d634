// Regenerates prisma/postgres/schema.prisma from prisma/schema.prisma.
//   pnpm --filter @opencohort/db schema:sync
import { syncPostgresSchema } from "../src/authoring";

const changed = await syncPostgresSchema();
console.log(
  changed
    ? "prisma/postgres/schema.prisma updated."
    : "prisma/postgres/schema.prisma is up to date.",
);
