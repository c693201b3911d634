import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    env: { TZ: "UTC" },
    // The kill test starts anvil, deploys, and runs worker processes against SQLite and
    // PostgreSQL.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
