/**
 * A real local system for tests and benchmarks: anvil, the contracts deployed by the deploy
 * script (manifest under a name of its own), a migrated temporary SQLite file and the event
 * indexer. Packages build their own fixtures on top of this one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, migrate } from "@opencohort/db";
import { type RunningAnvil, startAnvil } from "../anvil";
import { createChainPublicClient, createSigningClient } from "../clients";
import { contractsDir, deployContracts } from "../deploy";
import { type DevAccountIndex, devAccountKey, LOCAL_CHAIN_ID } from "../dev-accounts";
import { createIndexer, type Indexer } from "../indexer/indexer";
import type { DeploymentManifest } from "../manifest";

export interface LocalSystem {
  anvil: RunningAnvil;
  manifest: DeploymentManifest;
  manifestPath: string;
  workDir: string;
  databaseUrl: string;
  db: Db;
  reader: ReturnType<typeof createChainPublicClient>;
  indexer: Indexer;
  signer(index: DevAccountIndex): ReturnType<typeof createSigningClient>;
  /** Mirrors everything up to the current head. */
  sync(): Promise<void>;
  /** A raw JSON-RPC call (anvil_mine, evm_snapshot, ...). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

let instances = 0;

export async function startLocalSystem(name: string): Promise<LocalSystem> {
  const workDir = mkdtempSync(join(tmpdir(), `oc-${name}-`));
  const manifestPath = join(
    contractsDir,
    "deployments",
    `test-${name}-${process.pid}-${instances++}.json`,
  );
  const anvil = await startAnvil();
  try {
    const manifest = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      deployerKey: devAccountKey(LOCAL_CHAIN_ID, 0),
      manifestPath,
    });
    const databaseUrl = `file:${join(workDir, `${name}.db`)}`;
    await migrate(databaseUrl);
    const db = createDb(databaseUrl);
    const env = { chainId: LOCAL_CHAIN_ID, rpcUrl: anvil.rpcUrl };
    const reader = createChainPublicClient(env);
    const indexer = createIndexer({ db, client: reader, manifest });
    return {
      anvil,
      manifest,
      manifestPath,
      workDir,
      databaseUrl,
      db,
      reader,
      indexer,
      signer: (index) => createSigningClient(env, devAccountKey(LOCAL_CHAIN_ID, index)),
      async sync() {
        await indexer.syncOnce();
      },
      rpc: (method, params = []) =>
        reader.request({ method: method as never, params: params as never }),
      async close() {
        await db.$disconnect();
        await anvil.stop();
        rmSync(workDir, { recursive: true, force: true });
        rmSync(manifestPath, { force: true });
      },
    };
  } catch (error) {
    await anvil.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(manifestPath, { force: true });
    throw error;
  }
}
