// The whole marketplace on one machine: anvil, contracts, database, demo data, operator,
// compute workers, web.
// Ctrl-C stops every child; running it again reuses the chain state and seeds nothing twice.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createChainPublicClient, LOCAL_CHAIN_ID } from "@opencohort/chain";
import { type RunningAnvil, startAnvil } from "@opencohort/chain/anvil";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { isDatabaseConfigError, loadDbEnv, migrate, openDb } from "@opencohort/db";
import {
  contractsBuildId,
  demoCast,
  deployDemoContracts,
  liveDeployment,
  manifestPathFor,
  resetIfContractsChanged,
} from "./deploy";
import { ConfigError, type DevstackEnv, parseDevstackEnv, repoRoot } from "./env";
import { assertPortFree, waitForHttp } from "./ports";
import { seedDemo } from "./seed";
import { Supervisor } from "./supervisor";

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`${bold("▸")} ${label}…\n`);
  const result = await work();
  process.stdout.write(`  ✓ ${label} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  return result;
}

async function assertChainAnswers(rpcUrl: string): Promise<void> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json()) as { result?: string };
    if (body.result !== "0x7a69") {
      throw new ConfigError(
        `OPENCOHORT_RPC_URL ${rpcUrl} is chain ${Number(body.result)}, but the dev stack runs on the local chain 31337.`,
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `OPENCOHORT_RPC_URL ${rpcUrl} does not answer as an Ethereum JSON-RPC endpoint.`,
    );
  }
}

async function run(env: DevstackEnv, supervisor: Supervisor): Promise<void> {
  mkdirSync(env.OPENCOHORT_STATE_DIR, { recursive: true });
  await assertPortFree(env.OPENCOHORT_WEB_PORT, "OPENCOHORT_WEB_PORT");
  // The database is checked before anything starts, so a bad DATABASE_URL costs no chain.
  const { databaseUrl, target } = loadDbEnv({
    DATABASE_URL: env.DATABASE_URL ?? `file:${join(env.OPENCOHORT_STATE_DIR, "opencohort.db")}`,
  });
  if (target.provider !== "sqlite") await (await openDb(databaseUrl)).$disconnect();

  let rpcUrl: string;
  if (env.OPENCOHORT_RPC_URL) {
    rpcUrl = env.OPENCOHORT_RPC_URL;
    await assertChainAnswers(rpcUrl);
  } else {
    await assertPortFree(env.OPENCOHORT_ANVIL_PORT, "OPENCOHORT_ANVIL_PORT");
    const reset = resetIfContractsChanged({
      stateDir: env.OPENCOHORT_STATE_DIR,
      manifestPath: manifestPathFor(env.OPENCOHORT_STATE_DIR),
      buildId: contractsBuildId(),
      databaseFile:
        env.DATABASE_URL === undefined && target.provider === "sqlite" ? target.file : null,
    });
    if (reset) {
      console.log("  ✓ The contracts changed since the last start: the local chain starts afresh");
    }
    const anvil: RunningAnvil = await step("Starting the local chain (anvil)", () =>
      startAnvil({
        port: env.OPENCOHORT_ANVIL_PORT,
        stateFile: join(env.OPENCOHORT_STATE_DIR, "anvil-state.json"),
        detached: true,
      }),
    );
    supervisor.adopt("anvil", anvil.process);
    rpcUrl = anvil.rpcUrl;
  }

  const manifestPath = manifestPathFor(env.OPENCOHORT_STATE_DIR);
  const existing = await liveDeployment(rpcUrl, manifestPath);
  const manifest =
    existing ??
    (await step("Deploying the contracts", () =>
      deployDemoContracts(rpcUrl, manifestPath, (line) => supervisor.log("forge", line)),
    ));
  if (existing) console.log(`  ✓ Contracts already deployed (${manifestPath})`);

  // The database mirrors this chain: after a fresh deployment the default SQLite file is
  // rebuilt, and a database named by DATABASE_URL must not hold an older chain's mirror.
  if (
    !existing &&
    target.provider === "sqlite" &&
    env.DATABASE_URL === undefined &&
    existsSync(target.file)
  ) {
    rmSync(target.file, { force: true });
  }
  await step("Migrating the database", () => migrate(databaseUrl));
  const db = await openDb(databaseUrl);
  try {
    if (!existing && (await db.indexedEvent.count({ where: { chainId: LOCAL_CHAIN_ID } })) > 0) {
      throw new ConfigError(
        "DATABASE_URL holds the mirror of an earlier local chain; point it at an empty database or clear it.",
      );
    }
    const indexer = createIndexer({
      db,
      client: createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl }),
      manifest,
    });
    await step("Seeding demo data", () =>
      seedDemo({
        db,
        rpcUrl,
        manifest,
        indexer,
        stateDir: env.OPENCOHORT_STATE_DIR,
        persons: env.OPENCOHORT_DEMO_PERSONS,
        stewardSecret: env.OPENCOHORT_STEWARD_SECRET,
        importRoot: join(env.OPENCOHORT_STATE_DIR, "imports"),
        log: (line) => supervisor.log("seed", line),
      }),
    );
  } finally {
    await db.$disconnect();
  }

  const childEnv: Record<string, string> = {
    OPENCOHORT_RPC_URL: rpcUrl,
    OPENCOHORT_CHAIN_ID: String(manifest.chainId),
    OPENCOHORT_DEPLOYMENT: manifestPath,
    OPENCOHORT_STATE_DIR: env.OPENCOHORT_STATE_DIR,
    // The demo's dataset folders; stewards publish new ones from here in the web app.
    OPENCOHORT_DATASET_ROOT: join(env.OPENCOHORT_STATE_DIR, "datasets"),
    // Source exports (OMOP CDM, FHIR) stewards import from in the web app, and the key of
    // the pseudonyms those imports give (per steward, derived from it).
    OPENCOHORT_IMPORT_ROOT: join(env.OPENCOHORT_STATE_DIR, "imports"),
    OPENCOHORT_IMPORT_SECRET: env.OPENCOHORT_STEWARD_SECRET,
    DATABASE_URL: databaseUrl,
    OPENCOHORT_WEB_ORIGIN: `http://127.0.0.1:${env.OPENCOHORT_WEB_PORT}`,
    NEXT_TELEMETRY_DISABLED: "1",
    // Short reward epochs locally, so a demo purchase pays patients within minutes.
    OPERATOR_EPOCH_SECONDS: process.env.OPERATOR_EPOCH_SECONDS ?? "120",
  };

  supervisor.start({
    name: "operator",
    command: process.execPath,
    args: ["--import", "tsx", "src/main.ts"],
    cwd: join(repoRoot, "apps", "operator"),
    env: childEnv,
  });

  // Queries queue on the database; each worker takes them (OPENCOHORT_WORKERS of them).
  for (let index = 1; index <= env.OPENCOHORT_WORKERS; index++) {
    supervisor.start({
      name: env.OPENCOHORT_WORKERS === 1 ? "worker" : `worker-${index}`,
      command: process.execPath,
      args: ["--import", "tsx", "src/main.ts"],
      cwd: join(repoRoot, "apps", "compute-worker"),
      env: { ...childEnv, OPENCOHORT_WORKER_ID: `local-${index}` },
    });
  }

  const webUrl = `http://127.0.0.1:${env.OPENCOHORT_WEB_PORT}`;
  await step("Starting the web app", async () => {
    supervisor.start({
      name: "web",
      command: join(repoRoot, "apps", "web", "node_modules", ".bin", "next"),
      args: ["start", "--hostname", "127.0.0.1", "--port", String(env.OPENCOHORT_WEB_PORT)],
      cwd: join(repoRoot, "apps", "web"),
      env: childEnv,
    });
    if (!(await waitForHttp(webUrl, 60_000)))
      throw new Error(`The web app did not answer on ${webUrl}.`);
  });

  console.log(`
${bold("OpenCohort is running.")}
  Marketplace   ${webUrl}
  Chain (RPC)   ${rpcUrl}  (chain ${manifest.chainId})
  Manifest      ${manifestPath}
  Demo accounts stewards ${demoCast.stewards.join(", ")}
                researchers ${demoCast.researchers.join(", ")}
                patients ${demoCast.patients.join(", ")}
Press Ctrl-C to stop everything.
`);
}

async function main(): Promise<void> {
  let exiting = false;
  const supervisor = new Supervisor((name, code) => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${name} stopped unexpectedly (exit code ${code}); stopping the dev stack.`);
    void supervisor.stopAll().then(() => process.exit(1));
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    console.log(`\n${signal}: stopping every service…`);
    void supervisor.stopAll().then(() => process.exit(0));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  try {
    await run(parseDevstackEnv(process.env), supervisor);
  } catch (error) {
    exiting = true;
    console.error(
      error instanceof ConfigError || isDatabaseConfigError(error)
        ? `\n${error.message}`
        : `\nThe dev stack could not start: ${(error as Error).message}`,
    );
    await supervisor.stopAll();
    process.exit(1);
  }
}

await main();
