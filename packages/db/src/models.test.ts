import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { providerCases } from "../test/helpers";
import { createDb, type Db } from "./client";
import { EnrolmentOrdinalSet } from "./inclusion-bitmap";
import { migrate } from "./migrate";
import { pgConfigFromUrl } from "./pg-config";
import { fromDbUint, toDbUint } from "./uint";

const hex = (n: number, bytes = 32) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;
const address = (n: number) => hex(n, 20);
const now = new Date("2026-11-21T12:00:00.000Z");

/** The Prisma error code of a failed call (P2002 unique, P2003 foreign key). */
async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe.each(providerCases())("models on $name", ({ name, url: newUrl, skip }) => {
  let db: Db;
  let url: string;
  let seq = 0;
  /** A fresh dataset (and steward) per test, so tests stay independent. */
  const dataset = async () => {
    seq += 1;
    const id = hex(1000 + seq);
    await db.dataset.create({
      data: {
        id,
        steward: address(1),
        price: toDbUint(10n ** 18n * BigInt(seq)),
        accessDurationSeconds: 30 * 86_400,
        metadataHash: hex(1),
        title: `Cohort ${seq}`,
        searchText: `cohort ${seq} type 2 diabetes`,
        metadata: { title: `Cohort ${seq}`, conditions: ["SNOMED:44054006"] },
        listedBlock: 10n,
        listedTxHash: hex(2),
        updatedBlock: 10n,
        versions: {
          create: {
            version: 1,
            manifestHash: hex(3),
            schemaVersion: hex(4),
            publishedAt: now,
            publishedBlock: 10n,
            publishedTxHash: hex(2),
          },
        },
      },
    });
    const version = await db.datasetVersion.findUniqueOrThrow({
      where: { datasetId_version: { datasetId: id, version: 1 } },
      select: { id: true },
    });
    return { id, versionId: version.id };
  };

  beforeAll(async () => {
    if (skip) return;
    url = newUrl();
    await migrate(url);
    db = createDb(url);
  });

  afterAll(async () => {
    if (skip) return;
    await db.$disconnect();
    if (name === "postgresql") {
      const admin = new pg.Client(pgConfigFromUrl(inject("postgresUrl")));
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it.skipIf(skip)("accounts, roles and sessions", async () => {
    await db.account.create({
      data: {
        address: address(7),
        roles: { create: [{ role: "RESEARCHER" }, { role: "STEWARD", sinceBlock: 12n }] },
        sessions: {
          create: { id: "sha256-of-token", nonce: "n-1", chainId: 31337, expiresAt: now },
        },
      },
    });
    const account = await db.account.findUniqueOrThrow({
      where: { address: address(7) },
      select: {
        roles: { select: { role: true, sinceBlock: true }, orderBy: { role: "asc" } },
        sessions: { select: { id: true, chainId: true, expiresAt: true } },
      },
    });
    expect(account.roles).toEqual([
      { role: "RESEARCHER", sinceBlock: null },
      { role: "STEWARD", sinceBlock: 12n },
    ]);
    expect(account.sessions).toEqual([{ id: "sha256-of-token", chainId: 31337, expiresAt: now }]);
    expect(
      await errorCode(db.accountRole.create({ data: { address: address(7), role: "STEWARD" } })),
    ).toBe("P2002");
    // One SIWE signature, one session.
    expect(
      await errorCode(
        db.session.create({
          data: { id: "other", address: address(7), nonce: "n-1", chainId: 1, expiresAt: now },
        }),
      ),
    ).toBe("P2002");
  });

  it.skipIf(skip)("datasets, versions, conditions and enrolments", async () => {
    const { id } = await dataset();
    await db.datasetVersion.update({
      where: { datasetId_version: { datasetId: id, version: 1 } },
      data: {
        location: "/data/cohort/v1",
        manifest: { tables: { person: { rows: 1200 } }, bounds: { age: [18, 90] } },
        personCount: 1200,
        registeredAt: now,
      },
    });
    await db.datasetCondition.create({
      data: { datasetId: id, code: "SNOMED:44054006", label: "Type 2 diabetes" },
    });
    const personId = 1_000_000_000_000n + 987_654_321n; // synth's 40-bit pseudonyms exceed int32
    await db.enrolment.create({
      data: { datasetId: id, personId, patientAddress: address(42), ordinal: 1 },
    });

    const found = await db.dataset.findMany({
      where: {
        listed: true,
        searchText: { contains: "diabetes" },
        conditions: { some: { code: "SNOMED:44054006" } },
      },
      select: {
        id: true,
        price: true,
        metadata: true,
        versions: {
          select: { version: true, manifest: true, personCount: true, publishedBlock: true },
        },
      },
    });
    expect(found).toHaveLength(1);
    expect(found[0]?.id).toBe(id);
    expect(fromDbUint(found[0]?.price ?? "")).toBe(10n ** 18n * BigInt(seq));
    expect(found[0]?.versions).toEqual([
      {
        version: 1,
        manifest: { tables: { person: { rows: 1200 } }, bounds: { age: [18, 90] } },
        personCount: 1200,
        publishedBlock: 10n,
      },
    ]);

    const mine = await db.enrolment.findMany({
      where: { patientAddress: address(42) },
      select: { datasetId: true, personId: true },
    });
    expect(mine).toEqual([{ datasetId: id, personId }]);
    // One record per person, one person per patient, per dataset.
    expect(
      await errorCode(
        db.enrolment.create({
          data: { datasetId: id, personId, patientAddress: address(43), ordinal: 2 },
        }),
      ),
    ).toBe("P2002");
    expect(
      await errorCode(
        db.enrolment.create({
          data: { datasetId: id, personId: personId + 1n, patientAddress: address(42), ordinal: 3 },
        }),
      ),
    ).toBe("P2002");
    // One enrolment per ordinal.
    expect(
      await errorCode(
        db.enrolment.create({
          data: { datasetId: id, personId: personId + 3n, ordinal: 1 },
        }),
      ),
    ).toBe("P2002");
    // One person per consent identity too (an identity is bound to one enrolment).
    await db.enrolment.update({
      where: { datasetId_personId: { datasetId: id, personId } },
      data: { identityAddress: address(44), boundAt: now },
      select: { id: true },
    });
    expect(
      await errorCode(
        db.enrolment.create({
          data: {
            datasetId: id,
            personId: personId + 2n,
            identityAddress: address(44),
            ordinal: 4,
          },
        }),
      ),
    ).toBe("P2002");
    expect(
      await errorCode(
        db.datasetVersion.create({
          data: {
            datasetId: id,
            version: 1,
            manifestHash: hex(9),
            schemaVersion: hex(4),
            publishedAt: now,
            publishedBlock: 11n,
            publishedTxHash: hex(5),
          },
        }),
      ),
    ).toBe("P2002");
    // Foreign keys are enforced on both providers.
    expect(
      await errorCode(
        db.enrolment.create({
          data: { datasetId: hex(999_999), personId: 1n, patientAddress: address(1), ordinal: 1 },
        }),
      ),
    ).toBe("P2003");
  });

  it.skipIf(skip)("consent state and the relay queue", async () => {
    const { id } = await dataset();
    const nonce = toDbUint(2n ** 64n - 1n); // uint64 max: more than a BigInt column holds
    await db.consentState.upsert({
      where: { patientAddress_datasetId: { patientAddress: address(42), datasetId: id } },
      create: {
        patientAddress: address(42),
        datasetId: id,
        granted: true,
        nonce,
        lastBlock: 20n,
        lastLogIndex: 3,
        lastTxHash: hex(6),
      },
      update: {},
    });
    const consented = await db.consentState.findMany({
      where: { datasetId: id, granted: true },
      select: { patientAddress: true, nonce: true, lastBlock: true, lastLogIndex: true },
    });
    expect(consented).toEqual([
      { patientAddress: address(42), nonce, lastBlock: 20n, lastLogIndex: 3 },
    ]);

    const request = {
      patientAddress: address(42),
      datasetId: id,
      granted: false,
      nonce: toDbUint(1n),
      deadline: toDbUint(1_800_000_000n),
      signature: `0x${"ab".repeat(65)}`,
    };
    const created = await db.consentRelayRequest.create({
      data: request,
      select: { id: true, status: true, attempts: true },
    });
    expect(created).toMatchObject({ status: "PENDING", attempts: 0 });
    // The same signed message posted twice is one request.
    expect(await errorCode(db.consentRelayRequest.create({ data: request }))).toBe("P2002");
    const batch = await db.consentRelayRequest.findMany({
      where: { status: "PENDING" },
      orderBy: { createdAt: "asc" },
      select: { id: true },
    });
    expect(batch.map((row) => row.id)).toContain(created.id);
  });

  it.skipIf(skip)("access passes and purchases, with uint order in SQL", async () => {
    const { id } = await dataset();
    const base = {
      chainId: 31337,
      datasetId: id,
      researcherAddress: address(5),
      steward: address(1),
      treasury: address(2),
      expiresAt: now,
    };
    const prices = [10n ** 20n, 999n, 2n ** 200n];
    for (const [i, price] of prices.entries()) {
      await db.purchase.create({
        data: {
          ...base,
          txHash: hex(100 + i),
          logIndex: 0,
          block: BigInt(30 + i),
          price: toDbUint(price),
          patientsShare: toDbUint((price * 3n) / 10n),
          stewardShare: toDbUint((price * 6n) / 10n),
          treasuryShare: toDbUint(price - (price * 3n) / 10n - (price * 6n) / 10n),
          epoch: 1,
        },
      });
    }
    const ordered = await db.purchase.findMany({
      where: { datasetId: id },
      orderBy: { price: "desc" },
      select: { price: true },
    });
    expect(ordered.map((row) => fromDbUint(row.price))).toEqual([2n ** 200n, 10n ** 20n, 999n]);
    const above = await db.purchase.count({
      where: { datasetId: id, price: { gt: toDbUint(1000n) } },
    });
    expect(above).toBe(2);
    // The indexer's idempotency key.
    expect(
      await errorCode(
        db.purchase.create({
          data: {
            ...base,
            txHash: hex(100),
            logIndex: 0,
            block: 30n,
            price: "0",
            patientsShare: "0",
            stewardShare: "0",
            treasuryShare: "0",
          },
        }),
      ),
    ).toBe("P2002");

    await db.accessPass.upsert({
      where: { researcherAddress_datasetId: { researcherAddress: address(5), datasetId: id } },
      create: {
        researcherAddress: address(5),
        datasetId: id,
        expiresAt: now,
        txHash: hex(100),
        block: 30n,
        logIndex: 0,
      },
      update: { expiresAt: now },
    });
    const pass = await db.accessPass.findUnique({
      where: { researcherAddress_datasetId: { researcherAddress: address(5), datasetId: id } },
      select: { expiresAt: true, block: true },
    });
    expect(pass).toEqual({ expiresAt: now, block: 30n });
  });

  it.skipIf(skip)("queries, inclusion sets and the privacy budget", async () => {
    const { id, versionId } = await dataset();
    const query = await db.query.create({
      data: {
        researcherAddress: address(5),
        datasetId: id,
        datasetVersionId: versionId,
        kind: "COHORT",
        sql: "SELECT count(DISTINCT person_id) FROM person",
        cohortDefinition: { include: [{ condition: "SNOMED:44054006" }] },
        status: "SUCCEEDED",
        result: { columns: ["n"], rows: [[1200]], suppressed: 0 },
        epsilonSpent: toDbUint(10n ** 17n),
        queryHash: hex(7),
        datasetVersionHash: hex(3),
        consentSnapshotBlock: 40n,
        parameters: { k: 11, roundingBase: 5 },
        resultHash: hex(8),
        includedPersonCount: 3,
        receiptHash: hex(9 + seq),
        epoch: 2,
        finishedAt: now,
        inclusionSet: {
          create: { datasetId: id, epoch: 2, bitmap: EnrolmentOrdinalSet.of([1, 2, 3]).toBytes() },
        },
        budgetEntries: {
          create: { researcherAddress: address(5), datasetId: id, epsilon: toDbUint(10n ** 17n) },
        },
      },
      select: { id: true },
    });
    const back = await db.query.findUniqueOrThrow({
      where: { id: query.id },
      select: {
        kind: true,
        status: true,
        cohortDefinition: true,
        result: true,
        consentSnapshotBlock: true,
        errorRule: true,
      },
    });
    expect(back).toEqual({
      kind: "COHORT",
      status: "SUCCEEDED",
      cohortDefinition: { include: [{ condition: "SNOMED:44054006" }] },
      result: { columns: ["n"], rows: [[1200]], suppressed: 0 },
      consentSnapshotBlock: 40n,
      errorRule: null,
    });
    // One inclusion set per query, read back as the ordinals written.
    const set = await db.queryInclusionSet.findUniqueOrThrow({
      where: { queryId: query.id },
      select: { datasetId: true, epoch: true, bitmap: true },
    });
    expect([...EnrolmentOrdinalSet.fromBytes(set.bitmap).toUint32Array()]).toEqual([1, 2, 3]);
    expect([set.datasetId, set.epoch]).toEqual([id, 2]);
    expect(
      await errorCode(
        db.queryInclusionSet.create({
          data: {
            queryId: query.id,
            datasetId: id,
            epoch: 2,
            bitmap: EnrolmentOrdinalSet.of([]).toBytes(),
          },
        }),
      ),
    ).toBe("P2002");
    // A query is charged at most once.
    expect(
      await errorCode(
        db.privacyBudgetEntry.create({
          data: {
            researcherAddress: address(5),
            datasetId: id,
            epsilon: toDbUint(1n),
            queryId: query.id,
          },
        }),
      ),
    ).toBe("P2002");
    const spent = await db.privacyBudgetEntry.findMany({
      where: { researcherAddress: address(5), datasetId: id },
      select: { epsilon: true },
    });
    expect(spent.reduce((sum, row) => sum + fromDbUint(row.epsilon), 0n)).toBe(10n ** 17n);
  });

  it.skipIf(skip)("epochs, reward allocations and receipt anchors", async () => {
    const { id } = await dataset();
    await db.epoch.upsert({ where: { number: 3 }, create: { number: 3 }, update: {} });
    const epoch = 3 + seq * 100;
    await db.rewardEpoch.create({
      data: {
        epoch,
        pool: toDbUint(5n * 10n ** 18n),
        unit: toDbUint(10n ** 18n),
        status: "CLOSING",
        total: toDbUint(5n * 10n ** 18n),
        merkleRoot: hex(11),
        payouts: {
          create: [
            { payoutAddress: address(42), amount: toDbUint(2n * 10n ** 18n), proof: [hex(12)] },
            { payoutAddress: address(43), amount: toDbUint(10n ** 18n), proof: [hex(14)] },
          ],
        },
        shares: {
          create: [
            {
              datasetId: id,
              identityAddress: address(50),
              payoutAddress: address(42),
              amount: toDbUint(10n ** 18n),
            },
            {
              datasetId: id,
              identityAddress: address(51),
              payoutAddress: address(43),
              amount: toDbUint(10n ** 18n),
            },
          ],
        },
      },
      select: { epoch: true },
    });
    expect(
      await errorCode(
        db.rewardEpoch.create({ data: { epoch, pool: toDbUint(0n), unit: toDbUint(0n) } }),
      ),
    ).toBe("P2002");
    const mine = await db.rewardPayout.findMany({
      where: { payoutAddress: address(42) },
      select: {
        amount: true,
        proof: true,
        claimedTxHash: true,
        rewardEpoch: { select: { epoch: true, merkleRoot: true } },
      },
    });
    expect(mine).toEqual([
      {
        amount: toDbUint(2n * 10n ** 18n),
        proof: [hex(12)],
        claimedTxHash: null,
        rewardEpoch: { epoch, merkleRoot: hex(11) },
      },
    ]);
    await db.rewardEpoch.update({
      where: { epoch },
      data: { status: "POSTED", postTxHash: hex(15), postedBlock: 50n },
      select: { epoch: true },
    });

    await db.receiptAnchor.upsert({
      where: { epoch: 3 + seq * 100 },
      create: { epoch: 3 + seq * 100, root: hex(16), receiptCount: 4 },
      update: {},
    });
    const anchor = await db.receiptAnchor.findUniqueOrThrow({
      where: { epoch: 3 + seq * 100 },
      select: { status: true, receiptCount: true },
    });
    expect(anchor).toEqual({ status: "PENDING", receiptCount: 4 });
  });

  it.skipIf(skip)("governance proposals, votes and standards snapshots", async () => {
    const proposalId = (2n ** 255n + BigInt(seq)).toString();
    await db.proposal.create({
      data: {
        id: proposalId,
        proposer: address(1),
        description: "Raise k to 20",
        descriptionHash: hex(17),
        targets: [address(3)],
        values: ["0"],
        calldatas: ["0x12345678"],
        voteStart: 60n,
        voteEnd: 120n,
        forVotes: toDbUint(0n),
        againstVotes: toDbUint(0n),
        abstainVotes: toDbUint(0n),
        createdBlock: 59n,
        createdTxHash: hex(18),
        updatedBlock: 59n,
        votes: {
          create: {
            voter: address(1),
            support: 1,
            weight: toDbUint(1n),
            block: 61n,
            txHash: hex(19),
            logIndex: 0,
          },
        },
      },
    });
    expect(
      await errorCode(
        db.vote.create({
          data: {
            proposalId,
            voter: address(1),
            support: 0,
            weight: toDbUint(1n),
            block: 62n,
            txHash: hex(20),
            logIndex: 1,
          },
        }),
      ),
    ).toBe("P2002");
    const proposal = await db.proposal.findUniqueOrThrow({
      where: { id: proposalId },
      select: {
        state: true,
        targets: true,
        calldatas: true,
        votes: { select: { voter: true, support: true } },
      },
    });
    expect(proposal).toEqual({
      state: "PENDING",
      targets: [address(3)],
      calldatas: ["0x12345678"],
      votes: [{ voter: address(1), support: 1 }],
    });
    // A reorg that removes the proposal removes its votes.
    await db.proposal.delete({ where: { id: proposalId } });
    expect(await db.vote.count({ where: { proposalId } })).toBe(0);

    const snapshot = {
      chainId: 31337,
      block: BigInt(70 + seq),
      minCellSize: 11,
      roundingBase: 5,
      epsilonPerQuery: toDbUint(10n ** 17n),
      epsilonBudget: toDbUint(5n * 10n ** 18n),
      patientsBps: 3000,
      stewardBps: 6000,
      treasuryBps: 1000,
      treasury: address(2),
      acceptedSchemaVersions: [hex(4)],
    };
    await db.standardsSnapshot.create({ data: snapshot });
    expect(await errorCode(db.standardsSnapshot.create({ data: snapshot }))).toBe("P2002");
    const latest = await db.standardsSnapshot.findFirstOrThrow({
      where: { chainId: 31337 },
      orderBy: { block: "desc" },
      select: { minCellSize: true, acceptedSchemaVersions: true },
    });
    expect(latest).toEqual({ minCellSize: 11, acceptedSchemaVersions: [hex(4)] });
  });

  it.skipIf(skip)("indexer cursor and an idempotent, reorg-aware event log", async () => {
    const stream = `consent-${seq}`;
    const event = (blockHash: string, logIndex: number) => ({
      chainId: 31337,
      stream,
      blockNumber: 80n,
      blockHash,
      blockTimestamp: 1_795_000_000n,
      txHash: hex(21),
      logIndex,
      entityKey: `consent:${address(42)}:${hex(1)}`,
      address: address(9),
      eventName: "ConsentSet",
      args: { patient: address(42), granted: true, nonce: "1" },
    });
    const record = (e: ReturnType<typeof event>) =>
      db.indexedEvent.upsert({
        where: {
          chainId_blockHash_logIndex: {
            chainId: e.chainId,
            blockHash: e.blockHash,
            logIndex: e.logIndex,
          },
        },
        create: e,
        update: {},
        select: { id: true },
      });
    const first = await record(event(hex(22), 0));
    expect(await record(event(hex(22), 0))).toEqual(first); // replaying a range changes nothing
    await record(event(hex(23), 0)); // same height and index on another fork: another log
    expect(await db.indexedEvent.count({ where: { stream } })).toBe(2);
    expect(await errorCode(db.indexedEvent.create({ data: event(hex(22), 0) }))).toBe("P2002");
    // Rolling back a reorged range.
    await db.indexedEvent.deleteMany({
      where: { chainId: 31337, stream, blockNumber: { gte: 80n } },
    });
    expect(await db.indexedEvent.count({ where: { stream } })).toBe(0);

    const key = { chainId_stream: { chainId: 31337, stream } };
    await db.indexerCursor.upsert({
      where: key,
      create: { chainId: 31337, stream, block: 79n, blockHash: hex(24) },
      update: {},
    });
    await db.indexerCursor.update({ where: key, data: { block: 80n, blockHash: hex(22) } });
    expect(
      await db.indexerCursor.findUnique({ where: key, select: { block: true, blockHash: true } }),
    ).toEqual({
      block: 80n,
      blockHash: hex(22),
    });
  });
});
