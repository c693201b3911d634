/**
 * A real system for API tests: anvil with the contracts deployed by the deploy script, a
 * migrated SQLite file, the event indexer and the compute engine. Procedures are called
 * through `createCaller`, signed in through the real SIWE flow with anvil's dev keys.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createChainPublicClient,
  type DeploymentManifest,
  type DevAccountIndex,
  devAccountKey,
  LOCAL_CHAIN_ID,
} from "@opencohort/chain";
import { type RunningAnvil, startAnvil } from "@opencohort/chain/anvil";
import { contractsDir, deployContracts } from "@opencohort/chain/deploy";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { type ComputeEngine, createComputeEngine } from "@opencohort/compute";
import { createDb, type Db, migrate } from "@opencohort/db";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { type ApiServices, type CookieJar, createContextInner } from "../context";
import { createCaller } from "../root";
import { resolveSession } from "../router/auth";

export interface TestSystem {
  services: ApiServices;
  db: Db;
  manifest: DeploymentManifest;
  anvil: RunningAnvil;
  compute: ComputeEngine;
  workDir: string;
  /** A caller with no session. */
  anonymous(): ReturnType<typeof createCaller>;
  /** Signs in through auth.nonce + auth.verify with anvil account `index`. */
  signIn(
    index: DevAccountIndex,
  ): Promise<{ caller: ReturnType<typeof createCaller>; address: Address; token: string }>;
  stop(): Promise<void>;
}

let instances = 0;

export async function startTestSystem(): Promise<TestSystem> {
  const workDir = mkdtempSync(join(tmpdir(), "oc-api-"));
  const anvil = await startAnvil();
  const manifestPath = join(
    contractsDir,
    "deployments",
    `test-api-${process.pid}-${instances++}.json`,
  );
  const manifest = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    deployerKey: devAccountKey(LOCAL_CHAIN_ID, 0),
    manifestPath,
  });
  const databaseUrl = `file:${join(workDir, "api.db")}`;
  await migrate(databaseUrl);
  const db = createDb(databaseUrl);
  const client = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl: anvil.rpcUrl });
  const compute = createComputeEngine({
    logger: { warn: () => {}, error: () => {} },
    limits: { memoryMb: 1_024, threads: 1, timeoutMs: 20_000 },
    noiseSecret: "test-noise-secret",
  });
  const services: ApiServices = {
    db,
    chain: {
      chainId: LOCAL_CHAIN_ID,
      client,
      manifest,
      indexer: createIndexer({ db, client, manifest }),
    },
    compute,
    config: {
      siweDomain: "127.0.0.1:3000",
      siweUri: "http://127.0.0.1:3000",
      sessionTtlSeconds: 3_600,
    },
  };
  const anonymous = () => createCaller(createContextInner({ services }));

  async function signIn(index: DevAccountIndex) {
    let token = "";
    const cookies: CookieJar = {
      setSession(value) {
        token = value;
      },
      clearSession() {
        token = "";
      },
    };
    const account = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
    const caller = createCaller(createContextInner({ services, cookies }));
    const request = await caller.auth.nonce();
    const message = createSiweMessage({
      address: account.address,
      chainId: request.chainId,
      domain: request.domain,
      uri: request.uri,
      nonce: request.nonce,
      version: request.version,
      statement: request.statement,
    });
    await caller.auth.verify({ message, signature: await account.signMessage({ message }) });
    const session = await resolveSession(db, token);
    return {
      caller: createCaller(createContextInner({ services, session, cookies })),
      address: account.address.toLowerCase() as Address,
      token,
    };
  }

  return {
    services,
    db,
    manifest,
    anvil,
    compute,
    workDir,
    anonymous,
    signIn,
    async stop() {
      await compute.close();
      await db.$disconnect();
      await anvil.stop();
      rmSync(workDir, { recursive: true, force: true });
      rmSync(manifestPath, { force: true });
    },
  };
}
