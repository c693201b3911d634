/**
 * The real dev stack (`npm start`'s orchestrator) in a state folder of its own, on free
 * ports, for browser tests; and Debian's Chromium driven by playwright-core.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@opencohort/chain/anvil";
import { type Browser, chromium } from "playwright-core";

const webDir = join(import.meta.dirname, "..", "..");
const devstackDir = join(webDir, "..", "..", "packages", "devstack");
export const artifactsDir = join(webDir, "artifacts");

export const CHROMIUM = "/usr/bin/chromium";
/** TOOLCHAIN.md: the flags Debian's Chromium needs on this kind of machine. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as root), then run the tests again.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface RunningStack {
  url: string;
  /** The dev stack's anvil (JSON-RPC), for tests that mine blocks or move time. */
  rpcUrl: string;
  /** The stack's state folder; dataset folders live in `datasets/` under it. */
  stateDir: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the dev stack exactly as `npm start` does; resolves once it prints that it runs. */
export async function startDevStack(
  persons = 300,
  extraEnv: Record<string, string> = {},
): Promise<RunningStack> {
  if (!existsSync(join(webDir, ".next", "BUILD_ID"))) {
    throw new Error(
      "apps/web has no production build: run `pnpm --filter @opencohort/web build` (turbo does it before `test`).",
    );
  }
  const stateDir = mkdtempSync(join(tmpdir(), "oc-web-e2e-"));
  const ports = { anvil: await freePort(), web: await freePort() };
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: devstackDir,
    env: {
      ...process.env,
      OPENCOHORT_STATE_DIR: stateDir,
      OPENCOHORT_DEMO_PERSONS: String(persons),
      OPENCOHORT_ANVIL_PORT: String(ports.anvil),
      OPENCOHORT_WEB_PORT: String(ports.web),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const cleanup = () => {
    rmSync(stateDir, { recursive: true, force: true });
    const manifest = /Manifest\s+(\S+\.json)/.exec(output)?.[1];
    if (manifest) rmSync(manifest, { force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("OpenCohort is running.")) resolve();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    void exited.then((code) => {
      cleanup();
      reject(new Error(`the dev stack exited (${code}) before it was up:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${ports.web}`,
    rpcUrl: `http://127.0.0.1:${ports.anvil}`,
    stateDir,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      await exited;
      cleanup();
    },
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, `${name}.png`);
}
