import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { cohortTokenAbi, queryLedgerAbi, researcherCredentialAbi } from "@opencohort/chain";
import {
  datasetPersonOrdinals,
  EnrolmentOrdinalSet,
  openNextEpoch,
  sqlDialectOf,
  toDbUint,
} from "@opencohort/db";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  type Address,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  keccak256,
  stringToHex,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialAddresses } from "../services/accreditation";
import { epsilonToFixed } from "../services/budget-ledger";
import { syncIndexer } from "../services/indexer-sync";
import {
  canonicalParameters,
  hiddenCommitment,
  type ReceiptParameters,
  receiptHash,
} from "../services/receipt";
import { discloseReceipt } from "../services/receipt-disclosure";
import {
  accredit,
  anvilRpc,
  buyAccess,
  passProposal,
  relayConsents,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
  writeAs,
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

/** The persons a query included (its stored set, ascending), after checking the set names the query's dataset and epoch. */
const inclusionsOf = async (queryId: string) => {
  const query = await system.db.query.findUniqueOrThrow({
    where: { id: queryId },
    select: { datasetId: true, epoch: true },
  });
  const set = await system.db.queryInclusionSet.findUnique({
    where: { queryId },
    select: { datasetId: true, epoch: true, bitmap: true },
  });
  if (set === null) return [];
  expect({ datasetId: set.datasetId, epoch: set.epoch }).toEqual(query);
  // The set holds enrolment ordinals: mapped back to persons through the enrolments.
  const enrolled = await datasetPersonOrdinals(system.db, sqlDialectOf(system.db), set.datasetId);
  const personOf = new Map(
    Array.from(enrolled.ordinals, (ordinal, index) => [ordinal, enrolled.personIds[index]]),
  );
  return [
    ...BigInt64Array.from(
      EnrolmentOrdinalSet.fromBytes(set.bitmap).toUint32Array(),
      (ordinal) => personOf.get(ordinal) as bigint,
    ).sort(),
  ];
};

const storedQuery = (id: string) =>
  system.db.query.findUniqueOrThrow({
    where: { id },
    select: {
      includedPersonCount: true,
      receiptSalt: true,
      hiddenCommitment: true,
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
    const attempt = researcher.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
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
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    firstQueryId = query.id;
    expect(query.status).toBe("SUCCEEDED");
    expect(query.error).toBeNull();
    expect(query.result?.columns.map((c) => c.kind)).toEqual(["dimension", "count"]);
    expect(query.result?.rows.map((row) => row[0]).sort()).toEqual(["F", "M"]);
    for (const row of query.result?.rows ?? []) expect(Number(row[1]) % 5).toBe(0);
    // Stored and passed through beside the rows: no interval for the labels, one per count.
    expect(query.result?.uncertainty?.map((u) => u[0])).toEqual([null, null]);
    for (const u of query.result?.uncertainty ?? []) expect(u[1]?.sd).toBeGreaterThan(0);
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
        hiddenCommitment: hiddenCommitment(
          stored.receiptSalt as Hex,
          stored.includedPersonCount ?? 0,
        ),
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
      wait: true,
      datasetId: dataset.datasetId,
      cohort: { age: { min: 18 }, output: { groupBy: ["sex"] } },
    });
    expect(query).toMatchObject({ status: "SUCCEEDED", kind: "COHORT" });
    expect(query.sql).toMatch(/^SELECT/i);
    expect(query.result?.rows.length).toBeGreaterThan(0);
  });

  it("stores and returns the rule a rejected query broke, without echoing a value", async () => {
    const query = await researcher.caller.query.submit({
      wait: true,
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
      researcher.caller.query.submit({ wait: true, datasetId: "0x12", sql: BY_SEX }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^datasetId: /),
    });
    await expect(
      researcher.caller.query.submit({
        wait: true,
        datasetId: dataset.datasetId,
        sql: BY_SEX,
        cohort: {},
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^sql: /) });
    await expect(
      researcher.caller.query.submit({ wait: true, datasetId: dataset.datasetId }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^sql: /) });
    await expect(researcher.caller.query.history({ limit: 1_000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^limit: /),
    });
    await expect(
      system.anonymous().query.submit({ wait: true, datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(
      researcher.caller.query.submit({
        wait: true,
        datasetId: `0x${"ab".repeat(32)}`,
        sql: BY_SEX,
      }),
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
      wait: true,
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

  it("refuses the next query and count of a researcher whose credential governance suspended", async () => {
    const credentialId = await system.services.chain.client.readContract({
      address: system.manifest.contracts.ResearcherCredential,
      abi: researcherCredentialAbi,
      functionName: "credentialOf",
      args: [other.address],
    });
    const suspend = (suspended: boolean) =>
      passProposal(system, {
        targets: [system.manifest.contracts.ResearcherCredential],
        values: [0n],
        calldatas: [
          encodeFunctionData({
            abi: researcherCredentialAbi,
            functionName: "setSuspended",
            args: [credentialId, suspended],
          }),
        ],
        description: `${suspended ? "Suspend" : "Reinstate"} credential ${credentialId}`,
      });
    await suspend(true);
    const refused = {
      code: "FORBIDDEN",
      message: expect.stringMatching(
        /^Your researcher credential #\d+ is suspended by the stewards, .*\(rule accreditation\)/,
      ),
    };
    await expect(
      other.caller.query.submit({ wait: true, datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject(refused);
    await expect(
      other.caller.dataset.feasibility({
        datasetId: dataset.datasetId,
        cohort: { inclusion: [{ domain: "condition", codes: ["E11"] }] },
      }),
    ).rejects.toMatchObject(refused);
    await suspend(false);
    // Reinstated: what stops #5 now is only that it holds no pass.
    await expect(
      other.caller.query.submit({ wait: true, datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject({ message: expect.stringContaining("(rule access-pass)") });
  });

  it("reports the remaining budget and never overspends it, even with two submits at once", async () => {
    const budget = await researcher.caller.query.budget({ datasetId: dataset.datasetId });
    expect(budget).toMatchObject({
      total: 5,
      epsilonPerQuery: 0.1,
      mechanism: "gaussian",
      conversionDelta: 1e-6,
    });
    // (5, 1e-6) is rho 0.3853 by the zCDP conversion; each of the 50 queries a fiftieth.
    expect(budget.rho.total).toBeCloseTo(0.385346, 6);
    expect(budget.rho.perQuery).toBeCloseTo(0.385346 / 50, 6);
    expect(budget.rho.spent).toBeCloseTo(3 * budget.rho.perQuery, 9);
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
    // Two questions not asked before (an identical repeat would be free, below).
    const both = await Promise.all([
      researcher.caller.query.submit({
        wait: true,
        datasetId: dataset.datasetId,
        sql: "SELECT sex, region, count(*) FROM person GROUP BY sex, region",
      }),
      researcher.caller.query.submit({
        wait: true,
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
      wait: true,
      datasetId: dataset.datasetId,
      sql: "SELECT count(DISTINCT person_id) FROM person",
    });
    expect(again).toMatchObject({ status: "REJECTED", error: { rule: "privacy-budget" } });
    // A question answered before is the same answer again, free even with the budget spent.
    const first = (
      await researcher.caller.query.history({ datasetId: dataset.datasetId, limit: 100 })
    ).items.find((q) => q.sql === BY_SEX && q.status === "SUCCEEDED");
    const repeat = await researcher.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    expect(repeat).toMatchObject({ status: "SUCCEEDED", epsilonSpent: 0 });
    expect(repeat.result).toMatchObject({ epsilonSpent: 0, rho: 0, repeated: true });
    const original = await researcher.caller.query.result({ id: first?.id ?? "" });
    expect(repeat.result?.rows).toEqual(original.result?.rows);
    expect(await researcher.caller.query.budget({ datasetId: dataset.datasetId })).toMatchObject({
      remaining: 0,
    });
    // Another researcher's budget is their own.
    expect((await other.caller.query.budget({ datasetId: dataset.datasetId })).remaining).toBe(5);
  });

  it("keeps the privacy budget per credential: a second address of the researcher shares it", async () => {
    // #4 spent its whole budget above. It adds a second wallet (anvil #0) to its credential,
    // which governance approves.
    const second = await system.signIn(0);
    const credential = system.manifest.contracts.ResearcherCredential;
    await writeAs(system, 4, {
      address: credential,
      abi: researcherCredentialAbi,
      functionName: "requestAddress",
      args: [second.address],
    });
    const credentialId = await system.services.chain.client.readContract({
      address: credential,
      abi: researcherCredentialAbi,
      functionName: "credentialOf",
      args: [researcher.address],
    });
    await passProposal(system, {
      targets: [credential],
      values: [0n],
      calldatas: [
        encodeFunctionData({
          abi: researcherCredentialAbi,
          functionName: "approveAddress",
          args: [credentialId, second.address],
        }),
      ],
      description: `Add ${second.address} to credential ${credentialId}`,
    });
    const mine = await researcher.caller.query.budget({ datasetId: dataset.datasetId });
    const theirs = await second.caller.query.budget({ datasetId: dataset.datasetId });
    expect(theirs).toEqual(mine);
    expect(theirs.queriesLeft).toBe(0);
    // The addresses sharing it are read from the mirrored credential, not the chain's logs.
    expect(
      await system.db.credentialAddress.findMany({
        where: { credentialId: Number(credentialId) },
        orderBy: { address: "asc" },
        select: { address: true, status: true },
      }),
    ).toEqual(
      [researcher.address, second.address]
        .map((address) => ({ address: address.toLowerCase(), status: "ACTIVE" }))
        .sort((a, b) => (a.address < b.address ? -1 : 1)),
    );

    // A third wallet approved a block ago, before any indexer saw it (governance acts
    // directly here: the timelock, impersonated, so that nothing syncs): its first request
    // waits for the mirror and shares the budget, never a fresh one.
    const third = "0x00000000000000000000000000000000000000b3";
    await writeAs(system, 4, {
      address: credential,
      abi: researcherCredentialAbi,
      functionName: "requestAddress",
      args: [third],
    });
    const timelock = system.manifest.contracts.TimelockController;
    await anvilRpc(system, "anvil_impersonateAccount", [timelock]);
    await anvilRpc(system, "anvil_setBalance", [timelock, "0xde0b6b3a7640000"]);
    const approval = await system.services.chain.client.request({
      method: "eth_sendTransaction",
      params: [
        {
          from: timelock,
          to: credential,
          data: encodeFunctionData({
            abi: researcherCredentialAbi,
            functionName: "approveAddress",
            args: [credentialId, third],
          }),
        },
      ],
    } as never);
    await system.services.chain.client.waitForTransactionReceipt({ hash: approval as Hex });
    await anvilRpc(system, "anvil_stopImpersonatingAccount", [timelock]);
    expect(
      await system.db.credentialAddress.count({ where: { address: third, status: "ACTIVE" } }),
    ).toBe(0);
    expect((await credentialAddresses(system.services, third)).sort()).toEqual(
      [researcher.address, second.address, third].map((a) => a.toLowerCase()).sort(),
    );
    // Another researcher's budget is untouched.
    expect((await other.caller.query.budget({ datasetId: dataset.datasetId })).spent).toBe(0);

    // With a pass of its own, the second address is refused for budget, not given a new one.
    await writeAs(system, 4, {
      address: system.manifest.contracts.CohortToken,
      abi: cohortTokenAbi,
      functionName: "transfer",
      args: [second.address, dataset.price],
    });
    await buyAccess(system, 0, dataset);
    const query = await second.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    expect(query.status).toBe("REJECTED");
  });

  it("refuses once the pass has expired on chain (hasAccess is the source of truth)", async () => {
    await buyAccess(system, 5, dataset);
    expect(
      (await other.caller.query.submit({ wait: true, datasetId: dataset.datasetId, sql: BY_SEX }))
        .status,
    ).toBe("SUCCEEDED");
    await anvilRpc(system, "evm_increaseTime", [31 * 24 * 60 * 60]);
    await anvilRpc(system, "anvil_mine", ["0x1"]);
    await expect(
      other.caller.query.submit({ wait: true, datasetId: dataset.datasetId, sql: BY_SEX }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
  it("says which contribution bound applied: event-level GROUP BY counts a person in at most 5 groups", async () => {
    await buyAccess(system, 5, dataset);
    const query = await other.caller.query.submit({
      wait: true,
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
        hiddenCommitment: hiddenCommitment(
          stored.receiptSalt as Hex,
          stored.includedPersonCount ?? 0,
        ),
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
    // Only accredited researchers buy: #7 is accredited through governance first.
    await accredit(system, 7);
    await buyAccess(system, 7, dataset);
    const revoked = dataset.patients.find((p) => p.devIndex === 6)?.personId;
    const consented = dataset.consentedPersonIds.filter((id) => id !== revoked);
    const sorted = [...consented].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // One included person's patient signs in with a wallet (as binding their identity does),
    // and the database refuses that patient's "who used my data" row: the query's set is
    // already written in the same transaction when that insert aborts.
    const walletPerson = sorted[Math.floor(sorted.length / 2)] as bigint;
    await system.db.enrolment.update({
      where: { datasetId_personId: { datasetId: dataset.datasetId, personId: walletPerson } },
      data: { patientAddress: `0x${"77".repeat(20)}` },
      select: { id: true },
    });
    await system.db.$executeRawUnsafe(
      `CREATE TRIGGER ${FAIL_TRIGGER} BEFORE INSERT ON "PatientQueryUse"
       WHEN NEW."personId" = ${walletPerson}
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    const setsBefore = await system.db.queryInclusionSet.count();
    const usesBefore = await system.db.patientQueryUse.count();
    const failed = await third.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
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
    expect(await system.db.queryInclusionSet.count()).toBe(setsBefore);
    expect(await system.db.patientQueryUse.count()).toBe(usesBefore);

    await system.db.$executeRawUnsafe(`DROP TRIGGER ${FAIL_TRIGGER}`);
    const query = await third.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: BY_SEX,
    });
    expect(query.status).toBe("SUCCEEDED");
    expect(await inclusionsOf(query.id)).toEqual(sorted);
    expect((await storedQuery(query.id)).includedPersonCount).toBe(consented.length);
    expect(await system.db.queryInclusionSet.count()).toBe(setsBefore + 1);
    expect(
      await system.db.patientQueryUse.count({
        where: { queryId: query.id, personId: walletPerson },
      }),
    ).toBe(1);
    expect(await inclusionsOf(failed.id)).toHaveLength(0);
  });
});

/**
 * Receipt version 2, as the server computed it before issue #10: the included-person count
 * hashed in the clear. Kept here only to show the attack the salt stops.
 */
function receiptHashV2(fields: {
  chainId: number;
  queryId: string;
  researcher: Address;
  datasetId: Hex;
  queryHash: Hex;
  datasetVersionHash: Hex;
  consentSnapshotBlock: bigint;
  parameters: ReceiptParameters;
  resultHash: Hex;
  includedPersonCount: number;
  epoch: number;
}): Hex {
  const types = ["bytes32", "uint256", "bytes32", "address", "bytes32", "bytes32", "bytes32"]
    .concat(["uint256", "bytes32", "bytes32", "uint256", "uint256"])
    .map((type) => ({ type }));
  return keccak256(
    encodeAbiParameters(types, [
      keccak256(stringToHex("OpenCohort.QueryReceipt/2")),
      BigInt(fields.chainId),
      keccak256(stringToHex(fields.queryId)),
      fields.researcher,
      fields.datasetId,
      fields.queryHash,
      fields.datasetVersionHash,
      fields.consentSnapshotBlock,
      keccak256(stringToHex(canonicalParameters(fields.parameters))),
      fields.resultHash,
      BigInt(fields.includedPersonCount),
      BigInt(fields.epoch),
    ]),
  );
}

describe("receipts that hide the included-person count (issue #10)", () => {
  let queryId = "";

  it("red team: every count 0..consented tried against what the researcher sees matches nothing", async () => {
    // A fresh pass and budget (earlier tests let the pass expire and spent the budget).
    await buyAccess(system, 4, dataset);
    await system.db.privacyBudgetEntry.deleteMany({
      where: { researcherAddress: researcher.address },
    });
    // A narrow cohort, so the hidden count is well below the consented population.
    const submitted = await researcher.caller.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      cohort: { age: { min: 60 }, output: { groupBy: ["sex"] } },
    });
    expect(submitted.status).toBe("SUCCEEDED");
    queryId = submitted.id;
    const { receipt } = await researcher.caller.query.receipt({ id: queryId });
    const result = await researcher.caller.query.result({ id: queryId });
    if (!receipt) throw new Error("no receipt");
    const consented = receipt.consentedPersons ?? 0;
    // One patient revoked in an earlier test.
    expect(consented).toBe(dataset.consentedPersonIds.length - 1);

    // Everything the researcher is shown, from both procedures: no salt, no count.
    const stored = await storedQuery(queryId);
    const trueCount = stored.includedPersonCount ?? -1;
    expect(trueCount).toBeGreaterThan(0);
    expect(trueCount).toBeLessThan(consented);
    const visible = JSON.stringify([receipt, result], (_key, value) =>
      typeof value === "bigint" ? value.toString() : value,
    );
    expect(visible).not.toMatch(/salt|includedPersonCount/i);
    expect(visible).not.toContain((stored.receiptSalt ?? "missing").slice(2));
    expect(receipt.version).toBe(3);

    // The owner can recompute the anchored hash from the fields shown.
    const shown = {
      chainId: receipt.chainId,
      queryId: receipt.queryId,
      researcher: receipt.researcher as Address,
      datasetId: receipt.datasetId as Hex,
      queryHash: receipt.queryHash as Hex,
      datasetVersionHash: receipt.datasetVersionHash as Hex,
      consentSnapshotBlock: receipt.consentSnapshotBlock ?? 0n,
      parameters: receipt.parameters,
      resultHash: receipt.resultHash as Hex,
      epoch: receipt.epoch ?? 0,
    };
    expect(receiptHash({ ...shown, hiddenCommitment: receipt.hiddenCommitment as Hex })).toBe(
      receipt.receiptHash,
    );

    // The attack: try every count with the old formula, and with the new one under any salt
    // the researcher could know (none, or the zero salt). Nothing matches the real receipt.
    const zeroSalt = `0x${"00".repeat(32)}` as Hex;
    const matches: string[] = [];
    for (let n = 0; n <= consented; n++) {
      if (receiptHashV2({ ...shown, includedPersonCount: n }) === receipt.receiptHash) {
        matches.push(`v2:${n}`);
      }
      const guess = receiptHash({ ...shown, hiddenCommitment: hiddenCommitment(zeroSalt, n) });
      if (guess === receipt.receiptHash) matches.push(`v3-zero-salt:${n}`);
    }
    expect(matches).toEqual([]);

    // The same search against the hash the old server would have published for this very
    // query finds the exact count: the attack is real, the salt is what stops it.
    const published = receiptHashV2({ ...shown, includedPersonCount: trueCount });
    const recovered: number[] = [];
    for (let n = 0; n <= consented; n++) {
      if (receiptHashV2({ ...shown, includedPersonCount: n }) === published) recovered.push(n);
    }
    expect(recovered).toEqual([trueCount]);
  });

  it("opens the commitment for an auditor only: discloseReceipt and the receipt:disclose CLI", async () => {
    const stored = await storedQuery(queryId);
    const disclosure = await discloseReceipt(system.db, queryId);
    expect(disclosure).toEqual({
      queryId,
      receiptHash: stored.receiptHash,
      hiddenCommitment: stored.hiddenCommitment,
      salt: stored.receiptSalt,
      includedPersonCount: stored.includedPersonCount,
      commitmentOpens: true,
    });
    expect(disclosure?.salt).toMatch(/^0x[0-9a-f]{64}$/);
    // No procedure of the API routes to the disclosure.
    const router = await import("../root");
    expect(JSON.stringify(Object.keys(router.appRouter._def.procedures))).not.toMatch(/disclos/i);

    const { stdout } = await promisify(execFile)(
      join(import.meta.dirname, "..", "..", "node_modules", ".bin", "tsx"),
      ["scripts/receipt-disclose.ts", queryId],
      {
        cwd: join(import.meta.dirname, "..", ".."),
        env: { ...process.env, DATABASE_URL: `file:${join(system.workDir, "api.db")}` },
      },
    );
    expect(JSON.parse(stdout)).toEqual(disclosure);
  });

  it("proves the receipt against the root QueryLedger anchored on chain", async () => {
    const before = await researcher.caller.query.receiptProof({ id: queryId });
    expect(before).toMatchObject({ anchored: false, epoch: 1 });
    await expect(other.caller.query.receiptProof({ id: queryId })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });

    // What the operator does at the end of epoch 1: close it, build the sorted receipt tree,
    // anchor its root as the operator key (anvil #9); the indexer mirrors the anchor.
    await system.db.$transaction(async (tx) => {
      await tx.epoch.update({
        where: { number: 1 },
        data: { status: "CLOSED", closedAt: new Date() },
        select: { number: true },
      });
      await openNextEpoch(tx);
    });
    const hashes = (
      await system.db.query.findMany({
        where: { epoch: 1, status: "SUCCEEDED", receiptHash: { not: null } },
        select: { receiptHash: true },
      })
    )
      .map((row) => row.receiptHash as string)
      .sort();
    expect(hashes.length).toBeGreaterThan(1);
    const tree = StandardMerkleTree.of(
      hashes.map((hash) => [hash]),
      ["bytes32"],
    );
    const ledger = system.manifest.contracts.QueryLedger;
    await writeAs(system, 9, {
      address: ledger,
      abi: queryLedgerAbi,
      functionName: "anchor",
      args: [1n, tree.root as Hex, BigInt(hashes.length)],
    });
    await syncIndexer(system.services.chain);

    const after = await researcher.caller.query.receiptProof({ id: queryId });
    if (!after.anchored) throw new Error("not anchored");
    expect(after.queryLedger).toBe(ledger);
    const anchored = await system.services.chain.client.readContract({
      address: ledger,
      abi: queryLedgerAbi,
      functionName: "anchorOf",
      args: [1n],
    });
    expect(after.root).toBe(anchored.root);
    const verify = (receipt: Hex, proof: Hex[]) =>
      system.services.chain.client.readContract({
        address: ledger,
        abi: queryLedgerAbi,
        functionName: "verifyReceipt",
        args: [1n, receipt, proof],
      });
    expect(await verify(after.receiptHash as Hex, after.proof)).toBe(true);
    // The proof is for this receipt only.
    expect(await verify(keccak256(stringToHex("another receipt")), after.proof)).toBe(false);
  });
});

describe("query.submit without waiting (wait: false)", () => {
  it("answers before the run ends with the query's id; status then reaches the same result as a waited submit", async () => {
    // Researcher #5 (accredited at deploy), with a question it has not asked before: an
    // identical repeat would be answered from the stored result at no cost.
    const scripted = other;
    await buyAccess(system, 5, dataset);
    const accepted = await scripted.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: "SELECT sex, count(*) AS n FROM person WHERE year_of_birth >= 1950 GROUP BY sex",
      wait: false,
    });
    // Answered as soon as the row exists: opening and hashing the dataset comes after.
    expect(["PENDING", "RUNNING"]).toContain(accepted.status);
    expect(accepted.result).toBeNull();
    expect(accepted.receipt).toBeNull();

    let status = await scripted.caller.query.status({ id: accepted.id });
    for (let polls = 0; polls < 600 && ["PENDING", "RUNNING"].includes(status.status); polls++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await scripted.caller.query.status({ id: accepted.id });
    }
    expect(status).toMatchObject({ status: "SUCCEEDED", error: null });
    const done = await scripted.caller.query.result({ id: accepted.id });
    expect(done.result?.rows.map((row) => row[0]).sort()).toEqual(["F", "M"]);
    expect(done.receipt?.receiptHash).toMatch(/^0x[0-9a-f]{64}$/);
    // Charged once, like a waited query.
    expect(done.epsilonSpent).toBeCloseTo(0.1);

    // A refusal found while running is stored the same way and read from status.
    const refused = await scripted.caller.query.submit({
      datasetId: dataset.datasetId,
      sql: "SELECT person_id FROM person",
      wait: false,
    });
    let refusedStatus = await scripted.caller.query.status({ id: refused.id });
    for (
      let polls = 0;
      polls < 600 && ["PENDING", "RUNNING"].includes(refusedStatus.status);
      polls++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      refusedStatus = await scripted.caller.query.status({ id: refused.id });
    }
    expect(refusedStatus.status).toBe("REJECTED");
    expect(refusedStatus.error?.rule).toMatch(/^[a-z-]+$/);
  });
});
