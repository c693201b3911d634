/**
 * The operator's health and readiness over plain HTTP (OPERATOR_HEALTH_PORT), for a process
 * supervisor or load balancer: `/health` answers while the process runs; `/ready` says whether
 * the loop is turning and the indexer keeps up. Nothing else is served, and no answer carries
 * an error message, an address or a URL.
 */
import { createServer, type Server } from "node:http";

/** A loop turn older than this many poll intervals means the loop is stuck (an RPC hang). */
export const STALE_TURN_INTERVALS = 10;
/** The indexer failing this many turns in a row (not one lost lock race) is not ready. */
export const INDEXER_FAILURES_NOT_READY = 3;
/** However short the poll interval, a turn may take this long (a transaction to mine). */
const MIN_STALE_TURN_MS = 30_000;

/** What the loop reports after each turn; read by `/ready`. */
export interface LoopHealth {
  /** A turn ended (whatever its steps did); `indexerOk` is whether its sync succeeded. */
  turnFinished(indexerOk: boolean): void;
  readiness(now?: number): Readiness;
}

export interface Readiness {
  ready: boolean;
  checks: {
    loop: { status: "ok" | "failing"; lastTurnAgoMs: number | null };
    indexer: { status: "ok" | "failing"; consecutiveFailures: number };
  };
}

export function createLoopHealth(pollIntervalMs: number): LoopHealth {
  const staleAfterMs = Math.max(STALE_TURN_INTERVALS * pollIntervalMs, MIN_STALE_TURN_MS);
  let lastTurnAt: number | null = null;
  let indexerFailures = 0;
  return {
    turnFinished(indexerOk) {
      lastTurnAt = Date.now();
      indexerFailures = indexerOk ? 0 : indexerFailures + 1;
    },
    readiness(now = Date.now()) {
      // Not ready before the first turn has ended: nothing has been mirrored yet.
      const lastTurnAgoMs = lastTurnAt === null ? null : now - lastTurnAt;
      const loopOk = lastTurnAgoMs !== null && lastTurnAgoMs <= staleAfterMs;
      const indexerOk = indexerFailures < INDEXER_FAILURES_NOT_READY;
      return {
        ready: loopOk && indexerOk,
        checks: {
          loop: { status: loopOk ? "ok" : "failing", lastTurnAgoMs },
          indexer: { status: indexerOk ? "ok" : "failing", consecutiveFailures: indexerFailures },
        },
      };
    },
  };
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /health and /ready on `port` (0: any free port) of `host`. */
export async function startHealthServer(
  health: LoopHealth,
  options: { port: number; host?: string },
): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://operator").pathname;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, {
        "content-type": "application/json",
        "cache-control": "no-store",
      });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(405, { status: "method not allowed" });
    } else if (path === "/health") {
      send(200, { status: "ok" });
    } else if (path === "/ready") {
      const readiness = health.readiness();
      send(readiness.ready ? 200 : 503, {
        status: readiness.ready ? "ready" : "not ready",
        checks: readiness.checks,
      });
    } else {
      send(404, { status: "not found" });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
