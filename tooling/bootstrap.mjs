#!/usr/bin/env node
// First step of `npm start` and `npm test`: a newcomer's machine has only Node and npm, so
// this installs the workspace with the pinned pnpm (through npx) when node_modules is
// missing or older than the lockfile. Later runs cost one stat call.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
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

// `npm test` also runs the tests against real services: Debian's Chromium for the browser
// tests and PostgreSQL's server binaries for the database tests. On a Debian machine where we
// are root, install what is missing; elsewhere say what to install.
if (process.argv.includes("--test-services")) {
  const missing = [
    ["chromium", existsSync("/usr/bin/chromium")],
    ["postgresql", hasPostgresBinaries()],
    // The Python client's test (packages/api, token.test.ts) runs Debian's python3.
    ["python3", commandExists("python3")],
  ]
    .filter(([, present]) => !present)
    .map(([name]) => name);
  if (missing.length > 0) {
    const canInstall = process.getuid?.() === 0 && commandExists("apt-get");
    if (canInstall) {
      console.log(`Installing ${missing.join(" and ")} from Debian for the tests (once)…`);
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
      const install = spawnSync("apt-get", ["install", "-y", "-qq", ...missing], {
        stdio: "inherit",
        env,
      });
      if (update.status !== 0 || install.status !== 0) {
        console.error(
          `Installing ${missing.join(" and ")} failed; the tests that need them will say so.`,
        );
      }
    } else {
      console.error(
        `The tests need ${missing.join(" and ")} (Debian: apt-get install -y ${missing.join(" ")}); the tests that need them will fail or say they were skipped.`,
      );
    }
  }
}

function commandExists(name) {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function hasPostgresBinaries() {
  try {
    return readdirSync("/usr/lib/postgresql").some((version) =>
      existsSync(join("/usr/lib/postgresql", version, "bin", "initdb")),
    );
  } catch {
    return false;
  }
}
