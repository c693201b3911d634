/**
 * Readiness against a real local system (anvil with the contracts, a migrated SQLite file,
 * the indexer), and against dependencies that are down: a closed port, an RPC that accepts
 * connections and never answers, a PostgreSQL URL with a password nobody listens on.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createChainPublicClient, LOCAL_CHAIN_ID } from "@opencohort/chain";
import { freePort } from "@opencohort/chain/anvil";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { type LocalSystem, startLocalSystem } from "@opencohort/chain/testing/local-system";
import { createDb } from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServices } from "../context";
import { checkReadiness } from "./readiness";

const options = { timeoutMs: 1_000, maxIndexerLagBlocks: 5 };
let system: LocalSystem;
let silent: { server: Server; sockets: Set<Socket>; url: string };

function servicesOf(overrides: Partial<ApiServices["chain"]> & { db?: ApiServices["db"] } = {}) {
  const { db, ...chain } = overrides;
  return {
    db: db ?? system.db,
    chain: {
      chainId: LOCAL_CHAIN_ID,
      client: system.reader,
      manifest: system.manifest,
      indexer: system.indexer,
      ...chain,
    },
  };
}

/** An "RPC" that accepts connections and never answers: a hung provider. */
async function startSilentServer() {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, sockets, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  system = await startLocalSystem("readiness");
  silent = await startSilentServer();
});

afterAll(async () => {
  for (const socket of silent?.sockets ?? []) socket.destroy();
  await new Promise((resolve) => silent?.server.close(resolve));
  await system?.close();
});

describe("readiness", () => {
  it("is ready when the database answers, the RPC is on the chain and the indexer keeps up", async () => {
    await system.sync();
    const report = await checkReadiness(servicesOf(), options);
    expect(report).toEqual({
      ready: true,
      failing: [],
      checks: {
        database: { status: "ok" },
        chain: { status: "ok" },
        indexer: { status: "ok", lagBlocks: 0 },
      },
    });
  });

  it("names the indexer when it falls more blocks behind than allowed, and not when confirmations explain it", async () => {
    await system.sync();
    await system.rpc("anvil_mine", ["0x8"]);
    const behind = await checkReadiness(servicesOf(), options);
    expect(behind.ready).toBe(false);
    expect(behind.failing).toEqual(["indexer"]);
    expect(behind.checks.indexer).toEqual({
      status: "failing",
      reason: "the indexer is more than 5 blocks behind",
      lagBlocks: 8,
    });
    // Mirroring up to head − 6 confirmations by design leaves 2 blocks to go.
    const confirmed = await checkReadiness(servicesOf(), { ...options, confirmations: 6 });
    expect(confirmed.checks.indexer).toEqual({ status: "ok", lagBlocks: 2 });
    await system.sync();
    expect((await checkReadiness(servicesOf(), options)).ready).toBe(true);
  });

  it("names the chain when the RPC is on another chain than the deployment's", async () => {
    const report = await checkReadiness(servicesOf({ chainId: 8453 }), options);
    expect(report.failing).toEqual(["chain"]);
    expect(report.checks.chain.reason).toBe(
      `the chain RPC is on chain ${LOCAL_CHAIN_ID}, not 8453`,
    );
  });

  it("answers fast and names chain and indexer when the RPC is down or hangs, without its URL", async () => {
    const closedUrl = `http://rpc-user:rpc-password@127.0.0.1:${await freePort()}`;
    for (const rpcUrl of [closedUrl, silent.url]) {
      const client = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl });
      const indexer = createIndexer({ db: system.db, client, manifest: system.manifest });
      const started = performance.now();
      const report = await checkReadiness(servicesOf({ client, indexer }), options);
      const elapsedMs = performance.now() - started;
      expect(report.ready).toBe(false);
      expect(report.failing).toEqual(["chain", "indexer"]);
      expect(report.checks.database).toEqual({ status: "ok" });
      expect(report.checks.chain.reason).toBe(
        rpcUrl === silent.url
          ? "the chain RPC did not answer within 1000 ms"
          : "the chain RPC is unreachable",
      );
      expect(report.checks.indexer.reason).toBe("the indexer's lag cannot be measured");
      expect(elapsedMs).toBeLessThan(options.timeoutMs + 1_500);
      expect(JSON.stringify(report)).not.toMatch(/127\.0\.0\.1|rpc-password|at /);
    }
  });

  it("names the database when it cannot be reached, without its URL or password", async () => {
    const databaseUrl = `postgresql://opencohort:db-password@127.0.0.1:${await freePort()}/opencohort`;
    const db = createDb(databaseUrl);
    try {
      const report = await checkReadiness(servicesOf({ db }), options);
      expect(report.ready).toBe(false);
      expect(report.failing).toEqual(["database", "indexer"]);
      expect(report.checks.database.reason).toMatch(
        /^the database (is unreachable|did not answer within 1000 ms)$/,
      );
      expect(report.checks.chain).toEqual({ status: "ok" });
      expect(JSON.stringify(report)).not.toMatch(/db-password|opencohort:|127\.0\.0\.1/);
    } finally {
      await db.$disconnect().catch(() => undefined);
    }
  });
});
