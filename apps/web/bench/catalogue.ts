/**
 * Catalogue benchmark (figures, not assertions): server render time of /datasets with
 * 10,000 listed datasets, on the production build (`next start`), and first-load JavaScript
 * per route of that build.
 *
 *   pnpm --filter @opencohort/web build && pnpm --filter @opencohort/web bench
 *
 * The state is built through the real chain (see seed-catalogue.ts): anvil with the contracts
 * deployed by the deploy script, datasets listed by the demo stewards, the event indexer,
 * metadata stored through the steward router. BENCH_DATASETS (default 10000) and
 * BENCH_REQUESTS (default 30 per view) change the size of the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { freePort } from "@opencohort/chain/anvil";
import { startLocalSystem } from "@opencohort/chain/testing/local-system";
import { firstLoadJs } from "./first-load-js";
import { seedCatalogue } from "./seed-catalogue";

const DATASETS = Number(process.env.BENCH_DATASETS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const webDir = join(import.meta.dirname, "..");
const nextDir = join(webDir, ".next");

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** One line per stage: a bar redrawn in place on a terminal, a line per tenth otherwise. */
function progressReporter() {
  const started = performance.now();
  let stage = "";
  let lastTenth = -1;
  return (name: string, done: number, total: number) => {
    if (name !== stage) {
      if (stage && process.stdout.isTTY) process.stdout.write("\n");
      stage = name;
      lastTenth = -1;
    }
    const fraction = total === 0 ? 1 : done / total;
    const bar = "█".repeat(Math.round(fraction * 30)).padEnd(30, "░");
    const line = `  ${name.padEnd(18)} ${bar} ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} · ${seconds(started)}`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}`);
      if (done === total && name === "registering sizes") process.stdout.write("\n");
    } else if (Math.floor(fraction * 10) > lastTenth) {
      lastTenth = Math.floor(fraction * 10);
      console.log(line);
    }
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function startNext(
  env: Record<string, string>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    join(webDir, "node_modules", ".bin", "next"),
    ["start", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: webDir,
      env: { ...process.env, ...env, OPENCOHORT_WEB_ORIGIN: url, NODE_ENV: "production" },
      // Its own process group: `next start` forks workers, and all of them must stop.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    process.kill(-child.pid, "SIGTERM");
    await once(child, "exit");
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited:\n${output}`);
    try {
      if ((await fetch(`${url}/icon.svg`)).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`next start did not answer within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The "N datasets" line of a rendered catalogue page, as a reader sees it. */
function resultLine(html: string): string {
  const match = /data-testid="result-count"[^>]*>(.*?)<\/p>/s.exec(html);
  if (match?.[1]) return match[1].replace(/<[^>]+>/g, "");
  return /role="alert"[^>]*>(.*?)<\/p>/s.exec(html)?.[1]?.replace(/<[^>]+>/g, "") ?? "?";
}

async function render(url: string) {
  const started = performance.now();
  const response = await fetch(url);
  const html = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status}`);
  return { elapsed, html };
}

const views = [
  { name: "unfiltered (newest)", path: "/datasets" },
  { name: "text search", path: "/datasets?q=asthma+registry" },
  {
    name: "filtered + sorted",
    path: "/datasets?condition=ICD10%3AE11&condition=ICD10%3AI10&minPersons=1000&maxPrice=300&sort=price-asc",
  },
  {
    name: "deep page (newest)",
    path: `/datasets?page=${Math.max(1, Math.floor(DATASETS / 12) - 5)}`,
  },
  {
    name: "deep page (title)",
    path: `/datasets?sort=title&page=${Math.max(1, Math.floor(DATASETS / 24))}`,
  },
  { name: "largest first", path: "/datasets?sort=persons-desc&schema=omop-lite%2F2" },
];

if (!existsSync(join(nextDir, "BUILD_ID"))) {
  console.error(
    "apps/web has no production build: run `pnpm --filter @opencohort/web build` first.",
  );
  process.exit(1);
}

console.log(
  `Catalogue benchmark: ${DATASETS.toLocaleString("en-US")} listed datasets, ${REQUESTS} requests per view\n`,
);
const system = await startLocalSystem("web-catalogue-bench");
let server: Awaited<ReturnType<typeof startNext>> | undefined;
try {
  const seeding = performance.now();
  console.log("Building the state through the real chain (anvil + deploy script + indexer):");
  await seedCatalogue(system, DATASETS, progressReporter());
  console.log(
    `  seeded in ${seconds(seeding)}: listed on chain by stewards #1-#3, mirrored by the indexer, metadata through steward.updateMetadata; version sizes written to the indexed rows as steward.registerVersion writes them (no Parquet folders hashed)\n`,
  );

  server = await startNext({
    DATABASE_URL: system.databaseUrl,
    OPENCOHORT_RPC_URL: system.anvil.rpcUrl,
    OPENCOHORT_CHAIN_ID: String(system.manifest.chainId),
    OPENCOHORT_DEPLOYMENT: system.manifestPath,
  });
  const coldStart = await render(`${server.url}/datasets`);
  console.log(
    `First request after \`next start\` (services built, modules loaded): ${ms(coldStart.elapsed)}\n`,
  );

  console.log(`| view | result | first | p50 | p95 | max | HTML | HTML gzip |`);
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const view of views) {
    const first = await render(`${server.url}${view.path}`);
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++)
      times.push((await render(`${server.url}${view.path}`)).elapsed);
    times.sort((a, b) => a - b);
    const bytes = Buffer.byteLength(first.html);
    console.log(
      `| ${view.name} | ${resultLine(first.html)} | ${ms(first.elapsed)} | ${ms(percentile(times, 50))} | ${ms(percentile(times, 95))} | ${ms(times.at(-1) ?? NaN)} | ${kB(bytes)} | ${kB(gzipSync(first.html).length)} |`,
    );
  }
  console.log("\nViews:");
  for (const view of views) console.log(`  ${view.name}: ${view.path}`);

  console.log("\nFirst-load JavaScript per route (`next build` manifests; polyfills left out):\n");
  console.log("| route | chunks | raw | gzip |");
  console.log("| --- | --- | --- | --- |");
  for (const row of firstLoadJs(nextDir)) {
    console.log(`| ${row.route} | ${row.chunks} | ${kB(row.bytes)} | ${kB(row.gzipBytes)} |`);
  }
  // The same as a browser sees it: the script tags of the rendered catalogue.
  const scripts = new Set(
    [...coldStart.html.matchAll(/<script([^>]*)src="\/_next\/(static\/chunks\/[^"]+\.js)"/g)]
      .filter((match) => !/nomodule/i.test(match[1] ?? ""))
      .map((match) => match[2]),
  );
  console.log(`\n/datasets HTML loads ${scripts.size} script chunks (module scripts).`);
} finally {
  await server?.stop();
  await system.close();
}
