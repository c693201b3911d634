#!/usr/bin/env node
// Runs the Prisma CLI with the offline schema engine (bin/schema-engine.mjs, a bridge to
// Prisma's WebAssembly engine) so `prisma migrate|db|generate` never tries to download the
// native engine. Every package script that calls prisma goes through here:
//   pnpm --filter @opencohort/db prisma migrate dev --name add_x
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

const child = spawn(process.execPath, [prismaCli, ...process.argv.slice(2)], {
  cwd: packageRoot,
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: resolve(packageRoot, "bin/schema-engine.mjs"),
    // Both would reach for the network: the update check and the telemetry ping.
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128 + 1));
});
