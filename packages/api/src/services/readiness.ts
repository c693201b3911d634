/**
 * Readiness of an API process: can it serve requests right now? Three checks, run at once,
 * each bounded by the same short timeout so a dead dependency answers "not ready" fast:
 * - database: a trivial query answers;
 * - chain: the RPC answers and is on the chain the deployment is for;
 * - indexer: the mirrored tables are at most `maxIndexerLagBlocks` behind the chain head
 *   (the operator keeps them there; reads that must not lag sync themselves).
 * Reasons are fixed sentences, never an error message, a URL or a stack: this is served to
 * load balancers and anyone who asks.
 */
import type { ApiServices } from "../context";

export type ReadinessCheckName = "database" | "chain" | "indexer";

export interface ReadinessCheck {
  status: "ok" | "failing";
  /** Why it fails, in a fixed sentence. */
  reason?: string;
  /** Indexer: blocks between the last mirrored block and the (confirmed) head. */
  lagBlocks?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** The failing checks by name (empty when ready). */
  failing: ReadinessCheckName[];
  checks: Record<ReadinessCheckName, ReadinessCheck>;
}

export interface ReadinessOptions {
  /** Bound on each check (and so on the whole answer). */
  timeoutMs: number;
  maxIndexerLagBlocks: number;
  /** The indexer mirrors up to head − confirmations; that much lag is by design. */
  confirmations?: number;
}

class CheckTimeout extends Error {}

function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout()), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const failing = (reason: string): ReadinessCheck => ({ status: "failing", reason });

function unreachable(what: string, error: unknown, timeoutMs: number): ReadinessCheck {
  return failing(
    error instanceof CheckTimeout
      ? `${what} did not answer within ${timeoutMs} ms`
      : `${what} is unreachable`,
  );
}

export async function checkReadiness(
  services: Pick<ApiServices, "db" | "chain">,
  options: ReadinessOptions,
): Promise<ReadinessReport> {
  const { db, chain } = services;
  const { timeoutMs } = options;

  const database = within(db.$queryRaw`SELECT 1`, timeoutMs).then(
    (): ReadinessCheck => ({ status: "ok" }),
    (error: unknown) => unreachable("the database", error, timeoutMs),
  );
  const cursor = within(chain.indexer.cursor(), timeoutMs).catch(() => undefined);
  const head = within(
    Promise.all([chain.client.getChainId(), chain.client.getBlockNumber({ cacheTime: 0 })]),
    timeoutMs,
  ).then(
    ([chainId, block]) => ({ chainId, block }),
    (error: unknown) => ({ error }),
  );

  const chainCheck = head.then((answer): ReadinessCheck => {
    if ("error" in answer) return unreachable("the chain RPC", answer.error, timeoutMs);
    if (answer.chainId !== chain.chainId) {
      return failing(`the chain RPC is on chain ${answer.chainId}, not ${chain.chainId}`);
    }
    return { status: "ok" };
  });

  const indexerCheck = Promise.all([head, cursor, database]).then(
    ([answer, mirrored, databaseCheck]): ReadinessCheck => {
      if ("error" in answer || mirrored === undefined || databaseCheck.status !== "ok") {
        return failing("the indexer's lag cannot be measured");
      }
      const mirroredTo = mirrored?.block ?? BigInt(chain.manifest.startBlock) - 1n;
      const target = answer.block - BigInt(options.confirmations ?? 0);
      const lag = target > mirroredTo ? Number(target - mirroredTo) : 0;
      if (lag > options.maxIndexerLagBlocks) {
        return {
          ...failing(`the indexer is more than ${options.maxIndexerLagBlocks} blocks behind`),
          lagBlocks: lag,
        };
      }
      return { status: "ok", lagBlocks: lag };
    },
  );

  const checks = {
    database: await database,
    chain: await chainCheck,
    indexer: await indexerCheck,
  };
  const failingChecks = (Object.keys(checks) as ReadinessCheckName[]).filter(
    (name) => checks[name].status !== "ok",
  );
  return { ready: failingChecks.length === 0, failing: failingChecks, checks };
}
