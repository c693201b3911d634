import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Workspace packages ship TypeScript source; Next compiles them with the app.
  transpilePackages: [
    "@opencohort/api",
    "@opencohort/chain",
    "@opencohort/compute",
    "@opencohort/dataset",
    "@opencohort/log",
    "@opencohort/synth",
    "@opencohort/validators",
  ],
  // Native modules and the DuckDB engine stay outside the bundle and load at run time.
  serverExternalPackages: [
    "@duckdb/node-api",
    "@duckdb/node-bindings",
    "better-sqlite3",
    "@prisma/adapter-better-sqlite3",
    "@prisma/adapter-pg",
    "pg",
    "roaring",
    // The logger (packages/log) loads at run time too, like Next does for pino by default.
    "pino",
  ],
  poweredByHeader: false,
  reactStrictMode: true,
  typescript: { ignoreBuildErrors: false },
};

export default nextConfig;
