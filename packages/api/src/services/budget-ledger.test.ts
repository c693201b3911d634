import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, migrate, toDbUint } from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  budgetRemaining,
  budgetSpent,
  createDbBudgetLedger,
  deltaToFixed,
  epsilonToFixed,
} from "./budget-ledger";

let db: Db;
let dir: string;
let versionId: string;
const datasetId = `0x${"33".repeat(32)}`;
const researcher = `0x${"aa".repeat(20)}`;

async function newQuery(kind: "SQL" | "FEASIBILITY") {
  const query = await db.query.create({
    data: { researcherAddress: researcher, datasetId, datasetVersionId: versionId, kind, sql: "" },
    select: { id: true },
  });
  return query.id;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "oc-budget-"));
  const url = `file:${join(dir, "db.sqlite")}`;
  await migrate(url);
  db = createDb(url);
  const zero = `0x${"00".repeat(32)}`;
  await db.dataset.create({
    data: {
      id: datasetId,
      steward: researcher,
      price: toDbUint(1),
      accessDurationSeconds: 60,
      metadataHash: zero,
      listedBlock: 1n,
      listedTxHash: zero,
      updatedBlock: 1n,
    },
    select: { id: true },
  });
  versionId = (
    await db.datasetVersion.create({
      data: {
        datasetId,
        version: 1,
        manifestHash: zero,
        schemaVersion: zero,
        publishedAt: new Date(),
        publishedBlock: 1n,
        publishedTxHash: zero,
      },
      select: { id: true },
    })
  ).id;
});

afterAll(async () => {
  await db?.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe("the database privacy budget ledger", () => {
  it("stores epsilon as 18-decimal fixed point", () => {
    expect(epsilonToFixed(0.1)).toBe(100_000_000_000_000_000n);
    expect(epsilonToFixed(5)).toBe(5n * 10n ** 18n);
  });

  it("charges each query once and refuses once the budget is spent", async () => {
    const first = await newQuery("SQL");
    const ledger = createDbBudgetLedger(db, { queryId: first, kind: "query", totalEpsilon: 0.3 });
    expect(await ledger.spend(researcher, datasetId, 0.1)).toEqual({ ok: true, remaining: 0.2 });
    // A retry of the same query is not charged again.
    expect(await ledger.spend(researcher, datasetId, 0.1)).toEqual({ ok: true, remaining: 0.2 });
    for (const expected of [0.1, 0]) {
      const id = await newQuery("SQL");
      const next = createDbBudgetLedger(db, { queryId: id, kind: "query", totalEpsilon: 0.3 });
      expect(await next.spend(researcher, datasetId, 0.1)).toEqual({
        ok: true,
        remaining: expected,
      });
    }
    const refused = createDbBudgetLedger(db, {
      queryId: await newQuery("SQL"),
      kind: "query",
      totalEpsilon: 0.3,
    });
    expect(await refused.spend(researcher, datasetId, 0.1)).toEqual({ ok: false, remaining: 0 });
    expect(await budgetRemaining(db, researcher, datasetId, "query", 0.3)).toBe(0);
  });

  it("keeps feasibility counts in a budget of their own, safe under concurrency", async () => {
    expect(await budgetRemaining(db, researcher, datasetId, "feasibility", 0.5)).toBe(0.5);
    const ids = await Promise.all(Array.from({ length: 8 }, () => newQuery("FEASIBILITY")));
    const outcomes = await Promise.all(
      ids.map((queryId) =>
        createDbBudgetLedger(db, { queryId, kind: "feasibility", totalEpsilon: 0.5 }).spend(
          researcher,
          datasetId,
          0.1,
        ),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    expect(await budgetRemaining(db, researcher, datasetId, "feasibility", 0.5)).toBe(0);
    // The query budget did not move.
    expect(await budgetRemaining(db, researcher, datasetId, "query", 1)).toBeCloseTo(0.7, 12);
  });

  it("shares one feasibility budget per dataset among all researchers (a sybil gains nothing)", async () => {
    const sybil = `0x${"bb".repeat(20)}`;
    // researcher spent the whole 0.5 above; a fresh address finds it spent too.
    expect(await budgetRemaining(db, sybil, datasetId, "feasibility", 0.5)).toBe(0);
    const queryId = await newQuery("FEASIBILITY");
    const ledger = createDbBudgetLedger(db, { queryId, kind: "feasibility", totalEpsilon: 0.5 });
    expect(await ledger.spend(sybil, datasetId, 0.1)).toEqual({ ok: false, remaining: 0 });
    // ... while the query budget stays per researcher.
    expect(await budgetRemaining(db, sybil, datasetId, "query", 1)).toBe(1);
  });

  it("records the delta of a charge next to its epsilon", async () => {
    expect(deltaToFixed(1e-6)).toBe(1_000_000_000_000n);
    expect(deltaToFixed(1e-12)).toBe(1_000_000n);
    const queryId = await newQuery("SQL");
    const ledger = createDbBudgetLedger(db, { queryId, kind: "query", totalEpsilon: 1 });
    expect((await ledger.spend(researcher, datasetId, 0.1, 1e-9)).ok).toBe(true);
    const entry = await db.privacyBudgetEntry.findUniqueOrThrow({
      where: { queryId },
      select: { delta: true },
    });
    expect(entry.delta).toBe(toDbUint(1_000_000_000n));
    expect((await budgetSpent(db, researcher, datasetId, "query")).delta).toBe(1_000_000_000n);
  });
});
