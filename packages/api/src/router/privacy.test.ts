/**
 * Issue #10, "no exact count leaves the system": the abuse limits that stop side channels,
 * red-teamed on SQLite and on PostgreSQL — stateless sign-in nonces (a flood writes nothing),
 * 429 rate limits, one feasibility budget per dataset shared by every address (sybils drain
 * it together, repeats are free), and the delta recorded with every budget charge.
 */
import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain";
import { type Db, sqlDialectOf } from "@opencohort/db";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServices } from "../context";
import { createContextInner } from "../context";
import { createApiRequestHandler } from "../http";
import { createCaller } from "../root";
import { createDbBudgetLedger } from "../services/budget-ledger";
import { hiddenCommitment, receiptHash } from "../services/receipt";
import { discloseReceipt } from "../services/receipt-disclosure";
import { issueNonce, NONCE_TTL_MS } from "../services/siwe-nonce";
import {
  buyAccess,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
  testDatabases,
} from "../testing/harness";
import { resolveSession } from "./auth";

const NONCE_USED = "This sign-in request expired or was already used; try again.";

/** Row counts of every table of the database (both providers). */
async function tableCounts(db: Db): Promise<Record<string, number>> {
  const tables =
    sqlDialectOf(db).provider === "sqlite"
      ? await db.$queryRawUnsafe<{ name: string }[]>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
      : await db.$queryRawUnsafe<{ name: string }[]>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
        );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await db.$queryRawUnsafe<{ n: bigint | number }[]>(
      `SELECT count(*) AS n FROM "${name}"`,
    );
    counts[name] = Number(row?.n ?? -1);
  }
  return counts;
}

describe.each(testDatabases())("issue #10 abuse limits on $database", ({ database, skip }) => {
  let system: TestSystem;
  let dataset: SeededDataset;

  beforeAll(async () => {
    if (skip) return;
    system = await startTestSystem({ database });
    dataset = await seedDataset(system, { persons: 400, seed: 31 });
  }, 300_000);
  afterAll(async () => {
    await system?.stop();
  });

  /** A SIWE message for anvil account `index` with the given nonce, signed. */
  async function signed(index: 4 | 5, nonce: string) {
    const account = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
    const message = createSiweMessage({
      address: account.address,
      chainId: LOCAL_CHAIN_ID,
      domain: system.services.config.siweDomain,
      uri: system.services.config.siweUri,
      nonce,
      version: "1",
    });
    return { message, signature: await account.signMessage({ message }) };
  }

  /** A caller over `services` as `session` (null: anonymous) from `clientIp`. */
  const callerFor = (
    services: ApiServices,
    session: Awaited<ReturnType<typeof resolveSession>>,
    clientIp: string | null,
  ) => createCaller(createContextInner({ services, session, clientIp }));

  it.skipIf(skip)(
    "red team: 500 anonymous auth.nonce calls from one IP get 429 after 30 and write nothing",
    async () => {
      const handler = createApiRequestHandler(system.services, { trustedProxyHops: 1 });
      const nonceFrom = (forwardedFor: string) =>
        handler(
          new Request("http://127.0.0.1:3000/trpc/auth.nonce", {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
          }),
        );
      const before = await tableCounts(system.db);
      expect(Object.keys(before)).toContain("Session");
      expect(Object.keys(before)).not.toContain("SiweNonce");

      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let batch = 0; batch < 10; batch++) {
        const responses = await Promise.all(
          // The attacker varies the part of X-Forwarded-For it controls; one trusted hop
          // means only the entry the proxy appended counts.
          Array.from({ length: 50 }, (_, i) => nonceFrom(`10.9.${batch}.${i}, 203.0.113.7`)),
        );
        for (const response of responses) {
          statuses.push(response.status);
          if (response.status === 429) refused ??= response;
        }
      }
      expect(statuses.filter((status) => status === 200)).toHaveLength(30);
      expect(statuses.filter((status) => status === 429)).toHaveLength(470);
      if (!refused) throw new Error("no 429");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = (await refused.json()) as {
        error: { json: { message: string; data: { rule: string; httpStatus: number } } };
      };
      expect(body.error.json.data).toMatchObject({ rule: "rate-limit", httpStatus: 429 });
      expect(body.error.json.message).toMatch(/rate-limit.*retry in \d+ s/);

      // Another client is not affected, and the database did not grow by one row.
      expect((await nonceFrom("198.51.100.2")).status).toBe(200);
      expect(await tableCounts(system.db)).toEqual(before);
    },
  );

  it.skipIf(skip)(
    "stateless nonces: forged, expired and replayed ones get the same UNAUTHORIZED",
    async () => {
      const anonymous = system.anonymous();
      const { sessionSecret } = system.services.config;
      const forged = await signed(4, "0".repeat(76));
      await expect(anonymous.auth.verify(forged)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
        message: NONCE_USED,
      });
      // Issued under another secret: the HMAC does not verify.
      const foreign = await signed(4, issueNonce("some-other-secret-value").nonce);
      await expect(anonymous.auth.verify(foreign)).rejects.toMatchObject({ message: NONCE_USED });
      const expired = await signed(
        4,
        issueNonce(sessionSecret, Date.now() - NONCE_TTL_MS - 1_000).nonce,
      );
      await expect(anonymous.auth.verify(expired)).rejects.toMatchObject({ message: NONCE_USED });

      // A good one opens one session; the same signature again, also after sign-out, none.
      const good = await signed(4, (await anonymous.auth.nonce()).nonce);
      await anonymous.auth.verify(good);
      await expect(anonymous.auth.verify(good)).rejects.toMatchObject({
        code: "UNAUTHORIZED",
        message: NONCE_USED,
      });
      const sessions = await system.db.session.findMany({ select: { id: true } });
      await system.db.session.updateMany({ data: { revokedAt: new Date() } });
      // A sign-in purges (below), but never a session whose nonce could still be replayed.
      await system.signIn(5);
      await expect(anonymous.auth.verify(good)).rejects.toMatchObject({ message: NONCE_USED });
      expect(
        await system.db.session.count({ where: { id: { in: sessions.map((s) => s.id) } } }),
      ).toBe(sessions.length);
    },
  );

  it.skipIf(skip)(
    "a sign-in deletes expired and revoked sessions whose nonce has expired",
    async () => {
      const address = (await system.signIn(4)).address;
      const old = new Date(Date.now() - NONCE_TTL_MS - 60_000);
      const row = (id: string, data: { expiresAt: Date; revokedAt?: Date; createdAt: Date }) =>
        system.db.session.create({
          data: { id, address, nonce: `nonce-${id}`, chainId: LOCAL_CHAIN_ID, ...data },
          select: { id: true },
        });
      const future = new Date(Date.now() + 3_600_000);
      await row("expired-old", { createdAt: old, expiresAt: new Date(Date.now() - 1_000) });
      await row("revoked-old", { createdAt: old, expiresAt: future, revokedAt: new Date() });
      await row("revoked-recent", {
        createdAt: new Date(),
        expiresAt: future,
        revokedAt: new Date(),
      });
      await row("live-old", { createdAt: old, expiresAt: future });
      await system.signIn(5);
      const left = await system.db.session.findMany({
        where: { id: { in: ["expired-old", "revoked-old", "revoked-recent", "live-old"] } },
        select: { id: true },
      });
      expect(left.map((session) => session.id).sort()).toEqual(["live-old", "revoked-recent"]);
    },
  );

  it.skipIf(skip)(
    "red team: two addresses drain ONE feasibility budget; an identical repeat costs nothing",
    async () => {
      // A small budget so the drain is short: 3 fresh counts at 0.1.
      const services: ApiServices = {
        ...system.services,
        config: { ...system.services.config, feasibilityEpsilonBudget: 0.3 },
      };
      const a = callerFor(
        services,
        await resolveSession(system.db, (await system.signIn(4)).token),
        null,
      );
      const b = callerFor(
        services,
        await resolveSession(system.db, (await system.signIn(5)).token),
        null,
      );
      const cohort = (min: number) => ({
        datasetId: dataset.datasetId,
        cohort: { age: { min }, output: { groupBy: ["sex"] as "sex"[] } },
      });
      const entries = () =>
        system.db.privacyBudgetEntry.count({ where: { datasetId: dataset.datasetId } });

      const first = await a.dataset.feasibility(cohort(20));
      expect(first).toMatchObject({ epsilonSpent: 0.1, repeated: false });
      expect(first.budgetRemaining).toBeCloseTo(0.2, 9);
      // The same canonical query again, by the same or another address: the stored answer.
      for (const caller of [a, b]) {
        const again = await caller.dataset.feasibility(cohort(20));
        expect(again).toMatchObject({ epsilonSpent: 0, repeated: true, rows: first.rows });
        expect(again.budgetRemaining).toBeCloseTo(0.2, 9);
      }
      expect(await entries()).toBe(1);

      // Fresh counts by either address come out of the same budget.
      expect((await b.dataset.feasibility(cohort(30))).budgetRemaining).toBeCloseTo(0.1, 9);
      expect((await a.dataset.feasibility(cohort(40))).budgetRemaining).toBe(0);
      const refused = b.dataset.feasibility(cohort(50));
      await expect(refused).rejects.toMatchObject({
        code: "FORBIDDEN",
        message: expect.stringMatching(/shared by all researchers.*rule feasibility-budget/),
      });
      await refused.catch((error: { cause?: { rule?: string } }) => {
        expect(error.cause?.rule).toBe("feasibility-budget");
      });
      // Answered counts stay available for free; nothing more was charged.
      expect((await b.dataset.feasibility(cohort(40))).repeated).toBe(true);
      expect(await entries()).toBe(3);
    },
  );

  it.skipIf(skip)(
    "rate limits feasibility and submit per researcher and per IP with TOO_MANY_REQUESTS",
    async () => {
      const services: ApiServices = {
        ...system.services,
        config: {
          ...system.services.config,
          rateLimits: {
            feasibilityResearcher: { limit: 3, windowSeconds: 60 },
            feasibilityIp: { limit: 5, windowSeconds: 60 },
            submitResearcher: { limit: 2, windowSeconds: 60 },
          },
        },
      };
      const sessionA = await resolveSession(system.db, (await system.signIn(4)).token);
      const sessionB = await resolveSession(system.db, (await system.signIn(5)).token);
      const count = { datasetId: dataset.datasetId, cohort: { age: { min: 20 } } };
      const a = callerFor(services, sessionA, "192.0.2.1");
      for (let i = 0; i < 3; i++) await a.dataset.feasibility(count);
      const tooMany = (rule: string) => ({
        code: "TOO_MANY_REQUESTS",
        message: expect.stringMatching(
          new RegExp(`rate-limit: \\d+ per 60 s, ${rule}\\); retry in \\d+ s`),
        ),
      });
      await expect(a.dataset.feasibility(count)).rejects.toMatchObject(
        tooMany("feasibilityResearcher"),
      );
      // Another researcher behind the same IP has two left of the IP's five.
      const bSameIp = callerFor(services, sessionB, "192.0.2.1");
      await bSameIp.dataset.feasibility(count);
      await bSameIp.dataset.feasibility(count);
      await expect(bSameIp.dataset.feasibility(count)).rejects.toMatchObject(
        tooMany("feasibilityIp"),
      );
      await callerFor(services, sessionB, "192.0.2.2").dataset.feasibility(count);

      // query.submit: the limit applies before anything runs, and a refused call writes nothing.
      const submit = () =>
        a.query.submit({
          wait: true,
          datasetId: dataset.datasetId,
          sql: "SELECT count(*) FROM person",
        });
      await expect(submit()).rejects.toMatchObject({ code: "FORBIDDEN" }); // no access pass
      await expect(submit()).rejects.toMatchObject({ code: "FORBIDDEN" });
      const before = await tableCounts(system.db);
      const refused = submit();
      await expect(refused).rejects.toMatchObject(tooMany("submitResearcher"));
      await refused.catch((error: { cause?: { rule?: string } }) => {
        expect(error.cause?.rule).toBe("rate-limit");
      });
      expect(await tableCounts(system.db)).toEqual(before);
    },
  );

  it.skipIf(skip)("records each charge's delta and query.budget sums it", async () => {
    const { caller, address } = await system.signIn(4);
    const version = await system.db.datasetVersion.findFirstOrThrow({
      where: { datasetId: dataset.datasetId },
      select: { id: true },
    });
    for (const delta of [1e-6, 2e-6]) {
      const query = await system.db.query.create({
        data: {
          researcherAddress: address,
          datasetId: dataset.datasetId,
          datasetVersionId: version.id,
          kind: "SQL",
          sql: "",
        },
        select: { id: true },
      });
      const ledger = createDbBudgetLedger(system.db, {
        queryId: query.id,
        kind: "query",
        totalEpsilon: 5,
      });
      expect((await ledger.spend(address, dataset.datasetId, 0.1, delta)).ok).toBe(true);
    }
    const stored = await system.db.privacyBudgetEntry.findMany({
      where: { researcherAddress: address, query: { is: { kind: "SQL" } } },
      select: { delta: true },
    });
    expect(stored.map((entry) => BigInt(entry.delta ?? -1)).sort()).toEqual([
      1_000_000_000_000n,
      2_000_000_000_000n,
    ]);
    const budget = await caller.query.budget({ datasetId: dataset.datasetId });
    expect(budget.spent).toBeCloseTo(0.2, 12);
    expect(budget.deltaSpent).toBeCloseTo(3e-6, 15);
  });

  it.skipIf(skip)(
    "stores a salted v3 receipt: no count 0..consented opens it without the salt; the auditor's does",
    async () => {
      const { caller } = await system.signIn(5);
      await buyAccess(system, 5, dataset);
      const query = await caller.query.submit({
        wait: true,
        datasetId: dataset.datasetId,
        cohort: { age: { min: 50 }, output: { groupBy: ["sex"] } },
      });
      const receipt = query.receipt;
      if (!receipt?.hiddenCommitment) throw new Error("no v3 receipt");
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
      const zeroSalt = `0x${"00".repeat(32)}` as Hex;
      for (let n = 0; n <= (receipt.consentedPersons ?? 0); n++) {
        expect(hiddenCommitment(zeroSalt, n)).not.toBe(receipt.hiddenCommitment);
      }
      const disclosure = await discloseReceipt(system.db, query.id);
      if (!disclosure) throw new Error("no disclosure");
      expect(disclosure.commitmentOpens).toBe(true);
      expect(hiddenCommitment(disclosure.salt, disclosure.includedPersonCount)).toBe(
        receipt.hiddenCommitment,
      );
      expect(receiptHash({ ...shown, hiddenCommitment: receipt.hiddenCommitment as Hex })).toBe(
        receipt.receiptHash,
      );
      expect(
        JSON.stringify(query, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      ).not.toContain(disclosure.salt.slice(2));
    },
  );
});
