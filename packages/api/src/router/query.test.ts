import { toDbUint } from "@opencohort/db";
import type { Address, Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { epsilonToFixed } from "../services/budget-ledger";
import { receiptHash } from "../services/receipt";
import {
  anvilRpc,
  buyAccess,
  relayConsents,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
} from "../testing/harness";

let system: TestSystem;
let dataset: SeededDataset;
type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];
let researcher: { caller: Caller; address: Address };
let other: { caller: Caller; address: Address };

const BY_SEX = "SELECT sex, count(*) AS n FROM person GROUP BY sex";

beforeAll(async () => {
  system = await startTestSystem();
  dataset = await seedDataset(system, { persons: 1_500, seed: 11 });
  researcher = await system.signIn(4);
  other = await system.signIn(5);
});
afterAll(async () => {
  await system?.stop();
});

/** The persons a query included, after checking every row names the query's dataset and epoch. */
const inclusionsOf = async (queryId: string) => {
  const query = await system.db.query.findUniqueOrThrow({
    where: { id: queryId },
    select: { datasetId: true, epoch: true },
  });
  const rows = await system.db.queryInclusion.findMany({
    where: { queryId },
    select: { personId: true, datasetId: true, epoch: true },
  });
  for (const row of rows) {
    expect({ datasetId: row.datasetId, epoch: row.epoch }).toEqual(query);
  }
  return rows.map((row) => row.personId);
};

const storedQuery = (id: string) =>
  system.db.query.findUniqueOrThrow({
    where: { id },
    select: {
      includedPersonCount: true,
      receiptHash: true,
      consentSnapshotBlock: true,
      epoch: true,
      queryHash: true,
      resultHash: true,
      datasetVersionHash: true,
      parameters: true,
    },
  });

let firstQueryId = "";

describe("query.submit (researcher with an access pass)", () => {
  it("refuses a researcher without an access pass, naming the rule", async () => {
    const attempt = researcher.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX });
    await expect(attempt).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("access-pass"),
    });
    await attempt.catch((error: { cause?: { rule?: string } }) => {
      expect(error.cause?.rule).toBe("access-pass");
    });
    expect(await system.db.query.count()).toBe(0);
  });

  it("runs a SQL aggregate after a purchase: result, receipt and private inclusions", async () => {
    await buyAccess(system, 4, dataset);
    const query = await researcher.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    firstQueryId = query.id;
    expect(query.status).toBe("SUCCEEDED");
    expect(query.error).toBeNull();
    expect(query.result?.columns.map((c) => c.kind)).toEqual(["dimension", "count"]);
    expect(query.result?.rows.map((row) => row[0]).sort()).toEqual(["F", "M"]);
    for (const row of query.result?.rows ?? []) expect(Number(row[1]) % 5).toBe(0);
    expect(query.epsilonSpent).toBeCloseTo(0.1);

    // The receipt: governed parameters (k = 11 by default), on-chain content hash, block.
    const cursor = await system.services.chain.indexer.cursor();
    expect(query.receipt).toMatchObject({
      datasetId: dataset.datasetId,
      datasetVersion: 1,
      datasetVersionHash: dataset.contentHash,
      consentSnapshotBlock: cursor?.block,
      consentedPersons: dataset.consentedPersonIds.length,
      parameters: {
        minCellSize: 11,
        roundingBase: 5,
        epsilonPerQuery: "100000000000000000",
        contributionCap: 10,
        maxGroupsPerPerson: 1,
        contributionLevel: "person",
      },
      epoch: 1,
    });
    expect(query.receipt?.receiptHash).toMatch(/^0x[0-9a-f]{64}$/);

    // Stored privately: every consented person is behind the two released rows.
    const stored = await storedQuery(query.id);
    expect(stored.includedPersonCount).toBe(dataset.consentedPersonIds.length);
    const included = await inclusionsOf(query.id);
    expect(included).toHaveLength(dataset.consentedPersonIds.length);
    expect(new Set(included)).toEqual(new Set(dataset.consentedPersonIds));
    expect(stored.epoch).toBe(1);
    expect(await system.db.epoch.count({ where: { status: "OPEN" } })).toBe(1);

    // The receipt hash is the documented keccak256 over the canonical receipt.
    expect(stored.receiptHash).toBe(
      receiptHash({
        chainId: 31337,
        queryId: query.id,
        researcher: researcher.address,
        datasetId: dataset.datasetId,
        queryHash: stored.queryHash as Hex,
        datasetVersionHash: stored.datasetVersionHash as Hex,
        consentSnapshotBlock: stored.consentSnapshotBlock ?? 0n,
        parameters: {
          minCellSize: 11,
          roundingBase: 5,
          epsilonPerQuery: "100000000000000000",
          contributionCap: 10,
          maxGroupsPerPerson: 1,
        },
        resultHash: stored.resultHash as Hex,
        includedPersonCount: stored.includedPersonCount ?? 0,
        epoch: 1,
      }),
    );

    // Nothing person-level in what the researcher gets back.
    const visible = JSON.stringify(query, (_key, value) =>
      typeof value === "bigint" ? value.toString() : value,
    );
    expect(visible).not.toMatch(/includedPersonCount|inclusion|personId/i);
    for (const personId of dataset.consentedPersonIds.slice(0, 50)) {
      expect(visible).not.toContain(personId.toString());
    }
  });

  it("runs a cohort definition compiled to SQL", async () => {
    const query = await researcher.caller.query.submit({
      datasetId: dataset.datasetId,
      cohort: { age: { min: 18 }, output: { groupBy: ["sex"] } },
    });
    expect(query).toMatchObject({ status: "SUCCEEDED", kind: "COHORT" });
    expect(query.sql).toMatch(/^SELECT/i);
    expect(query.result?.rows.length).toBeGreaterThan(0);
  });

  it("stores and returns the rule a rejected query broke, without echoing a value", async () => {
    const query = await researcher.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: "SELECT person_id, year_of_birth FROM person WHERE region = 'Secret-Valley-42'",
    });
    expect(query.status).toBe("REJECTED");
    expect(query.error?.rule).toMatch(/^[a-z-]+$/);
    expect(query.error?.message).not.toContain("Secret-Valley-42");
    expect(query.result).toBeNull();
    expect(query.receipt).toBeNull();
    const status = await researcher.caller.query.status({ id: query.id });
    expect(status).toMatchObject({ status: "REJECTED", error: query.error });
    // A refused query spends no budget and includes nobody.
    expect(await system.db.privacyBudgetEntry.count({ where: { queryId: query.id } })).toBe(0);
    expect(await inclusionsOf(query.id)).toHaveLength(0);
  });

  it("reads back status, result, receipt and history for the owner only", async () => {
    const status = await researcher.caller.query.status({ id: firstQueryId });
    expect(status.status).toBe("SUCCEEDED");
    const result = await researcher.caller.query.result({ id: firstQueryId });
    expect(result.result?.rows).toHaveLength(2);
    const { receipt } = await researcher.caller.query.receipt({ id: firstQueryId });
    expect(receipt?.receiptHash).toBe((await storedQuery(firstQueryId)).receiptHash);

    const history = await researcher.caller.query.history({ datasetId: dataset.datasetId });
    expect(history.items.map((item) => item.status)).toEqual([
      "REJECTED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
    expect(history.items.at(-1)?.id).toBe(firstQueryId);
    expect(history.items[0]).not.toHaveProperty("result");
    const firstPage = await researcher.caller.query.history({ limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    const secondPage = await researcher.caller.query.history({
      limit: 2,
      cursor: firstPage.nextCursor ?? "",
    });
    expect(secondPage.items.map((item) => item.id)).toEqual([firstQueryId]);
    expect(secondPage.nextCursor).toBeNull();

    for (const read of [
      () => other.caller.query.status({ id: firstQueryId }),
      () => other.caller.query.result({ id: firstQueryId }),
      () => other.caller.query.receipt({ id: firstQueryId }),
    ]) {
      await expect(read()).rejects.toMatchObject({ code: "FORBIDDEN" });
    }
    expect((await other.caller.query.history({})).items).toHaveLength(0);
    await expect(researcher.caller.query.result({ id: "no-such-query" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("names the bad field, refuses the anonymous and an unknown dataset", async () => {
    await expect(
      researcher.caller.query.submit({ datasetId: "0x12", sql: BY_SEX }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^datasetId: /),
    });
    await expect(
      researcher.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX, cohort: {} }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^sql: /) });
    await expect(
      researcher.caller.query.submit({ datasetId: dataset.datasetId }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^sql: /) });
    await expect(researcher.caller.query.history({ limit: 1_000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^limit: /),
    });
    await expect(
      system.anonymous().query.submit({ datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(
      researcher.caller.query.submit({ datasetId: `0x${"ab".repeat(32)}`, sql: BY_SEX }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      researcher.caller.query.budget({ datasetId: `0x${"ab".repeat(32)}` }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("takes a consent revocation just mined into account on the next query", async () => {
    const patient = dataset.patients.find((p) => p.devIndex === 6);
    if (!patient) throw new Error("anvil #6 is not enrolled");
    const before = await storedQuery(firstQueryId);
    expect(await inclusionsOf(firstQueryId)).toContain(patient.personId);

    // The patient opts out (signed, relayed by the operator); nobody syncs the indexer:
    // submit must.
    await relayConsents(system, dataset.datasetId, [patient], false);
    const query = await researcher.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    expect(query.status).toBe("SUCCEEDED");
    const after = await storedQuery(query.id);
    expect(after.includedPersonCount).toBe((before.includedPersonCount ?? 0) - 1);
    expect(after.consentSnapshotBlock).toBeGreaterThan(before.consentSnapshotBlock ?? 0n);
    expect(await inclusionsOf(query.id)).not.toContain(patient.personId);
    // What the researcher sees of it: the consented population shrank by one.
    expect(query.receipt?.consentedPersons).toBe(dataset.consentedPersonIds.length - 1);
  });

  it("reports the remaining budget and never overspends it, even with two submits at once", async () => {
    const budget = await researcher.caller.query.budget({ datasetId: dataset.datasetId });
    expect(budget).toMatchObject({ total: 5, epsilonPerQuery: 0.1 });
    expect(budget.spent).toBeCloseTo(0.3);
    expect(budget.remaining).toBeCloseTo(4.7);
    expect(budget.queriesLeft).toBe(47);

    // Earlier spending (as 46 queries would have): exactly one query's worth is left.
    await system.db.privacyBudgetEntry.create({
      data: {
        researcherAddress: researcher.address,
        datasetId: dataset.datasetId,
        epsilon: toDbUint(epsilonToFixed(4.6)),
      },
      select: { id: true },
    });
    const both = await Promise.all([
      researcher.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX }),
      researcher.caller.query.submit({
        datasetId: dataset.datasetId,
        sql: "SELECT region, count(*) FROM person GROUP BY region",
      }),
    ]);
    expect(both.map((q) => q.status).sort()).toEqual(["REJECTED", "SUCCEEDED"]);
    const refused = both.find((q) => q.status === "REJECTED");
    expect(refused?.error?.rule).toBe("privacy-budget");
    expect(await researcher.caller.query.budget({ datasetId: dataset.datasetId })).toMatchObject({
      remaining: 0,
      queriesLeft: 0,
    });
    const again = await researcher.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    expect(again).toMatchObject({ status: "REJECTED", error: { rule: "privacy-budget" } });
    // Another researcher's budget is their own.
    expect((await other.caller.query.budget({ datasetId: dataset.datasetId })).remaining).toBe(5);
  });

  it("refuses once the pass has expired on chain (hasAccess is the source of truth)", async () => {
    await buyAccess(system, 5, dataset);
    expect(
      (await other.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX })).status,
    ).toBe("SUCCEEDED");
    await anvilRpc(system, "evm_increaseTime", [31 * 24 * 60 * 60]);
    await anvilRpc(system, "anvil_mine", ["0x1"]);
    await expect(
      other.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
  it("says which contribution bound applied: event-level GROUP BY counts a person in at most 5 groups", async () => {
    await buyAccess(system, 5, dataset);
    const query = await other.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: "SELECT condition_code, count(*) FROM condition_occurrence GROUP BY condition_code",
    });
    expect(query.status).toBe("SUCCEEDED");
    expect(query.receipt?.parameters).toMatchObject({
      maxGroupsPerPerson: 5,
      contributionLevel: "event",
    });
    const stored = await storedQuery(query.id);
    // The anchored hash commits to the bound the noise was scaled with.
    const hashOf = (maxGroupsPerPerson: number) =>
      receiptHash({
        chainId: 31337,
        queryId: query.id,
        researcher: other.address,
        datasetId: dataset.datasetId,
        queryHash: stored.queryHash as Hex,
        datasetVersionHash: stored.datasetVersionHash as Hex,
        consentSnapshotBlock: stored.consentSnapshotBlock ?? 0n,
        parameters: {
          minCellSize: 11,
          roundingBase: 5,
          epsilonPerQuery: "100000000000000000",
          contributionCap: 10,
          maxGroupsPerPerson,
        },
        resultHash: stored.resultHash as Hex,
        includedPersonCount: stored.includedPersonCount ?? 0,
        epoch: stored.epoch ?? 0,
      });
    expect(stored.receiptHash).toBe(hashOf(5));
    expect(stored.receiptHash).not.toBe(hashOf(1));
  });
});

describe("query.submit storing the inclusions", () => {
  const FAIL_TRIGGER = "test_refuse_one_inclusion";

  afterAll(async () => {
    await system.db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS ${FAIL_TRIGGER}`);
  });

  it("stores none and marks the query FAILED when the write fails midway; the next query stores them all", async () => {
    const third = await system.signIn(7);
    await buyAccess(system, 7, dataset);
    const revoked = dataset.patients.find((p) => p.devIndex === 6)?.personId;
    const consented = dataset.consentedPersonIds.filter((id) => id !== revoked);
    // The database refuses one person in the middle of the ascending set: rows before it are
    // already written by the statement when it aborts.
    const sorted = [...consented].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const refusedPerson = sorted[Math.floor(sorted.length / 2)] as bigint;
    await system.db.$executeRawUnsafe(
      `CREATE TRIGGER ${FAIL_TRIGGER} BEFORE INSERT ON "QueryInclusion"
       WHEN NEW."personId" = ${refusedPerson}
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    const inclusionsBefore = await system.db.queryInclusion.count();
    const failed = await third.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX });
    expect(failed).toMatchObject({
      status: "FAILED",
      error: { rule: "query-failed", message: "The query failed." },
      result: null,
      receipt: null,
    });
    expect(await storedQuery(failed.id)).toMatchObject({
      includedPersonCount: null,
      receiptHash: null,
      resultHash: null,
    });
    expect(await system.db.queryInclusion.count()).toBe(inclusionsBefore);

    await system.db.$executeRawUnsafe(`DROP TRIGGER ${FAIL_TRIGGER}`);
    const query = await third.caller.query.submit({ datasetId: dataset.datasetId, sql: BY_SEX });
    expect(query.status).toBe("SUCCEEDED");
    const included = await inclusionsOf(query.id);
    expect(included).toHaveLength(consented.length);
    expect([...included].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sorted);
    expect((await storedQuery(query.id)).includedPersonCount).toBe(consented.length);
    expect(await system.db.queryInclusion.count()).toBe(inclusionsBefore + consented.length);
    expect(await inclusionsOf(failed.id)).toHaveLength(0);
  });
});
