/**
 * Prisma's better-sqlite3 adapter has one connection and locks only transactions against
 * each other: a statement another request issues while an interactive `$transaction` is
 * open runs on that same connection, so it joins the transaction (sees its uncommitted rows,
 * and is undone if it rolls back, after having returned successfully). This wrapper makes
 * such statements wait: one first-come, first-served lock is held from `startTransaction`
 * to its commit/rollback, and every statement outside a transaction takes it too. Statements
 * inside go through the transaction object, which does not wait.
 *
 * Consequence for callers: inside `db.$transaction(async (tx) => …)` use `tx` only; a
 * statement on the outer `db` there waits for the transaction and stalls until it times out.
 *
 * Across processes (the API and the operator share the file) transactions begin IMMEDIATE:
 * the adapter's plain BEGIN is deferred, so a transaction that read first and writes later
 * fails at once with SQLITE_BUSY (Prisma P1008/P2034, no busy wait) when the other process
 * committed in between. IMMEDIATE takes the write lock at BEGIN, where the busy timeout waits.
 */
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from "@prisma/driver-adapter-utils";
import { withOverrides } from "./engine/overrides";

/** An async lock granted in the order it was asked for. */
class FairLock {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  /** Resolves with the function that releases it (once, however often it is called). */
  async acquire(): Promise<() => void> {
    if (this.#held || this.#waiting.length > 0) {
      // release() hands the lock straight to the next in line (#held stays true).
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#held = true;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held = false;
    };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** The better-sqlite3 handle the adapter keeps in its public `client` field. */
interface StatementPreparer {
  prepare(sql: string): unknown;
}

/**
 * Makes the adapter's `BEGIN` (it prepares exactly that text in startTransaction) a
 * `BEGIN IMMEDIATE`. Refuses to start when the adapter does not look as expected, rather than
 * silently keeping deferred transactions.
 */
function beginImmediate(adapter: SqlDriverAdapter): void {
  const client = (adapter as unknown as { client?: StatementPreparer }).client;
  if (!client || typeof client.prepare !== "function") {
    throw new Error("the SQLite driver adapter has no better-sqlite3 client to begin IMMEDIATE");
  }
  const prepare = client.prepare.bind(client);
  client.prepare = (sql: string) => prepare(sql === "BEGIN" ? "BEGIN IMMEDIATE" : sql);
}

function gateTransactions(adapter: SqlDriverAdapter): SqlDriverAdapter {
  beginImmediate(adapter);
  const lock = new FairLock();
  return withOverrides(adapter, {
    queryRaw: (query: SqlQuery) => lock.run(() => adapter.queryRaw(query)),
    executeRaw: (query: SqlQuery) => lock.run(() => adapter.executeRaw(query)),
    executeScript: (script: string) => lock.run(() => adapter.executeScript(script)),
    async startTransaction(isolationLevel) {
      const release = await lock.acquire();
      let transaction: Transaction;
      try {
        transaction = await adapter.startTransaction(isolationLevel);
      } catch (error) {
        release();
        throw error;
      }
      // Prisma sends COMMIT/ROLLBACK through the transaction first, then calls these; after a
      // failed COMMIT it calls rollback(), hence a release that only counts once.
      const end = (finish: () => Promise<void>) => async () => {
        try {
          await finish();
        } finally {
          release();
        }
      };
      return withOverrides(transaction, {
        commit: end(() => transaction.commit()),
        rollback: end(() => transaction.rollback()),
      });
    },
  });
}

/** `factory` whose connections let statements outside a transaction wait for it to end. */
export function withTransactionGate<F extends SqlDriverAdapterFactory>(factory: F): F {
  return withOverrides(factory, {
    connect: async () => gateTransactions(await factory.connect()),
  } as Partial<F>);
}
