import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempSqliteUrl } from "../test/helpers";
import { createDb, type Db } from "./client";
import type { Prisma } from "./generated/sqlite/client";
import { migrate } from "./migrate";

// SQLite through one better-sqlite3 connection: what one request does while another holds an
// interactive transaction open must not become part of that transaction.

const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const INSIDE = address(0xa1);
const OUTSIDE = address(0xb2);

/**
 * Gives `outside` every chance to reach the database while the transaction stays open: up to
 * `rounds` statements through the transaction, stopping early once `outside` has settled.
 * Returns whether it settled while the transaction was open.
 */
async function keepOpenWhile(
  tx: Prisma.TransactionClient,
  outside: Promise<unknown>,
  rounds = 25,
): Promise<boolean> {
  let settled = false;
  outside.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let round = 0; round < rounds && !settled; round++) await tx.$queryRaw`SELECT 1`;
  return settled;
}

class RolledBack extends Error {}

describe("SQLite: statements outside an open interactive transaction", () => {
  let db: Db;

  beforeEach(async () => {
    const url = tempSqliteUrl();
    await migrate(url);
    db = createDb(url);
  });
  afterEach(async () => {
    await db.$disconnect();
  });

  const stored = async (addresses: string[]) =>
    (
      await db.account.findMany({
        where: { address: { in: addresses } },
        orderBy: { address: "asc" },
        select: { address: true },
      })
    ).map((row) => row.address);

  it("keeps a write that returned successfully when the open transaction rolls back", async () => {
    let outsideWrite: Promise<unknown> = Promise.resolve();
    let outsideRead: Promise<number> = Promise.resolve(-1);
    let settledWhileOpen = false;
    await expect(
      db.$transaction(async (tx) => {
        await tx.account.create({ data: { address: INSIDE }, select: { address: true } });
        outsideWrite = db.account.create({ data: { address: OUTSIDE }, select: { address: true } });
        outsideRead = db.account.count({ where: { address: INSIDE } });
        settledWhileOpen = await keepOpenWhile(tx, Promise.all([outsideWrite, outsideRead]));
        throw new RolledBack();
      }),
    ).rejects.toBeInstanceOf(RolledBack);

    await expect(outsideWrite).resolves.toEqual({ address: OUTSIDE });
    expect(await stored([INSIDE, OUTSIDE])).toEqual([OUTSIDE]);
    // Neither joined nor saw into the transaction: both ran after it.
    expect(await outsideRead).toBe(0);
    expect(settledWhileOpen).toBe(false);
  });

  it("stores both the committed transaction's writes and the write made meanwhile", async () => {
    let outsideWrite: Promise<unknown> = Promise.resolve();
    await db.$transaction(async (tx) => {
      await tx.account.create({ data: { address: INSIDE }, select: { address: true } });
      outsideWrite = db.account.create({ data: { address: OUTSIDE }, select: { address: true } });
      await keepOpenWhile(tx, outsideWrite);
      await tx.account.update({ where: { address: INSIDE }, data: {}, select: { address: true } });
    });
    await outsideWrite;
    expect(await stored([INSIDE, OUTSIDE])).toEqual([INSIDE, OUTSIDE]);
  });

  it("lets waiting statements run once a transaction fails on a statement or times out", async () => {
    await db.account.create({ data: { address: INSIDE }, select: { address: true } });
    let outsideWrite: Promise<unknown> = Promise.resolve();
    const duplicate = db.$transaction(async (tx) => {
      outsideWrite = db.account.create({ data: { address: OUTSIDE }, select: { address: true } });
      await tx.account.create({ data: { address: INSIDE }, select: { address: true } });
    });
    await expect(duplicate).rejects.toMatchObject({ code: "P2002" });
    await outsideWrite;

    const timedOut = db.$transaction(
      async (tx) => {
        await tx.account.delete({ where: { address: OUTSIDE }, select: { address: true } });
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      { timeout: 50 },
    );
    await expect(timedOut).rejects.toThrow(/expired|timeout|closed/i);
    // The delete was rolled back and the client is usable again.
    expect(await stored([INSIDE, OUTSIDE])).toEqual([INSIDE, OUTSIDE]);
  });

  it("runs concurrent transactions one after another, each seeing the other's commit", async () => {
    const increments = 8;
    await db.account.create({ data: { address: INSIDE }, select: { address: true } });
    // Read-modify-write of a counter (the number of sessions) in each transaction.
    await Promise.all(
      Array.from({ length: increments }, (_, i) =>
        db.$transaction(async (tx) => {
          const sessions = await tx.session.count({ where: { address: INSIDE } });
          await tx.session.create({
            data: {
              id: `s${sessions}`,
              nonce: `n${sessions}`,
              chainId: 31_337,
              address: INSIDE,
              expiresAt: new Date(2_000_000_000_000),
            },
            select: { id: true },
          });
          return i;
        }),
      ),
    );
    expect(await db.session.count({ where: { address: INSIDE } })).toBe(increments);
  });
});

describe("SQLite: a transaction and another process writing the same file", () => {
  /**
   * Another process's writer, in a worker thread (its own connection and its own thread, so
   * it may block on the file's lock without blocking this one). Writes one row on "write".
   */
  function otherProcessWriter(file: string) {
    const betterSqlite3 = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const Database = require(workerData.betterSqlite3);
       const db = new Database(workerData.file, { timeout: 10000 });
       parentPort.on("message", () => {
         try {
           db.prepare("INSERT INTO scratch (who) VALUES ('outside')").run();
           parentPort.postMessage("done");
         } catch (error) {
           parentPort.postMessage("error: " + error.message);
         }
         db.close();
       });`,
      { eval: true, workerData: { file, betterSqlite3 } },
    );
    const done = new Promise<string>((resolve) => worker.once("message", resolve));
    return { write: () => worker.postMessage("write"), done, stop: () => worker.terminate() };
  }

  it("reads, waits while the other writes, then writes: the other waits for the commit instead of failing this one", async () => {
    const url = tempSqliteUrl();
    await migrate(url);
    const db = createDb(url);
    const other = otherProcessWriter(url.replace(/^file:/, ""));
    try {
      await db.$executeRawUnsafe("CREATE TABLE scratch (who TEXT NOT NULL)");
      let otherDoneWhileOpen = false;
      await db.$transaction(async (tx) => {
        await tx.$queryRawUnsafe("SELECT count(*) FROM scratch");
        other.write();
        // A deferred BEGIN lets the other commit here, and this transaction's write below then
        // fails with SQLITE_BUSY at once. Under BEGIN IMMEDIATE the other waits for the lock.
        otherDoneWhileOpen = await Promise.race([
          other.done.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 750)),
        ]);
        await tx.$executeRawUnsafe("INSERT INTO scratch (who) VALUES ('inside')");
      });
      expect(otherDoneWhileOpen).toBe(false);
      expect(await other.done).toBe("done");
      const rows = await db.$queryRawUnsafe<{ who: string }[]>(
        "SELECT who FROM scratch ORDER BY rowid",
      );
      expect(rows.map((row) => row.who)).toEqual(["inside", "outside"]);
    } finally {
      await other.stop();
      await db.$disconnect();
    }
  });
});
