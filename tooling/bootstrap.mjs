#!/usr/bin/env node
// First step of `npm start` and `npm test`: a newcomer's machine has only Node and npm, so
// this installs the workspace with the pinned pnpm (through npx) when node_modules is
// missing or older than the lockfile. Later runs cost one stat call.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`OpenCohort needs Node >= 20.19; this is Node ${process.versions.node}.`);
  process.exit(1);
}

const lockfile = join(root, "pnpm-lock.yaml");
const installedLock = join(root, "node_modules", ".pnpm", "lock.yaml");
const upToDate =
  existsSync(installedLock) &&
  existsSync(join(root, "node_modules", ".bin", "pnpm")) &&
  readFileSync(installedLock, "utf8").length > 0 &&
  statSync(installedLock).mtimeMs >= statSync(lockfile).mtimeMs;

if (!upToDate) {
  const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  console.log(`Installing dependencies with ${packageManager} (first run takes a few minutes)…`);
  const result = spawnSync("npx", ["-y", packageManager, "install", "--frozen-lockfile"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) {
    console.error("Installing dependencies failed (see the output above).");
    process.exit(result.status ?? 1);
  }
}
