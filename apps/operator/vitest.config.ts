import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    env: { TZ: "UTC" },
    // Each chain test file starts its own anvil and deploys; the restart test also starts
    // the operator as a child process several times.
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
