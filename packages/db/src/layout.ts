import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Provider } from "./url";

/** packages/db, wherever the repository is checked out. */
// Not `new URL("../", import.meta.url)`: bundlers (Next's Turbopack) read that as an asset.
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export type Layout = {
  provider: Provider;
  /** The Prisma schema for this provider. */
  schemaPath: string;
  /** Prisma's standard migrations folder for this provider. */
  migrationsDir: string;
};

/**
 * Prisma migrations are SQL, so they are per provider. `prisma/schema.prisma` (SQLite) is
 * the source of truth; `prisma/postgres/schema.prisma` is generated from it with only the
 * provider and the client output changed (`pnpm --filter @opencohort/db schema:sync`), and
 * each has its own migrations folder. A migration is created for both at once, under the
 * same name (`pnpm --filter @opencohort/db migration:new <name>`).
 */
export const LAYOUTS: Record<Provider, Layout> = {
  sqlite: {
    provider: "sqlite",
    schemaPath: join(PACKAGE_ROOT, "prisma", "schema.prisma"),
    migrationsDir: join(PACKAGE_ROOT, "prisma", "migrations"),
  },
  postgresql: {
    provider: "postgresql",
    schemaPath: join(PACKAGE_ROOT, "prisma", "postgres", "schema.prisma"),
    migrationsDir: join(PACKAGE_ROOT, "prisma", "postgres", "migrations"),
  },
};
