import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    env: { TZ: "UTC" },
    // Starts a throwaway PostgreSQL cluster when the server binaries exist (else the
    // PostgreSQL cases are skipped with the reason printed); see test/postgres.ts.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
