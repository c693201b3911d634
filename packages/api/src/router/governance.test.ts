import {
  devAccountKey,
  LOCAL_CHAIN_ID,
  researcherCredentialAbi,
  stewardGovernorAbi,
} from "@opencohort/chain";
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncIndexer } from "../services/indexer-sync";
import {
  advanceChainTime,
  buyAccess,
  passProposal,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
  writeAs,
} from "../testing/harness";

let system: TestSystem;
let dataset: SeededDataset;
type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];
let steward: Caller;
let researcher: Caller;

beforeAll(async () => {
  system = await startTestSystem();
  dataset = await seedDataset(system, { persons: 1_000, seed: 21 });
  await buyAccess(system, 4, dataset);
  steward = (await system.signIn(1)).caller;
  researcher = (await system.signIn(4)).caller;
});
afterAll(async () => {
  await system?.stop();
});

const governor = () => ({
  address: system.manifest.contracts.StewardGovernor,
  abi: stewardGovernorAbi,
});

type BuiltProposal = Awaited<ReturnType<Caller["governance"]["buildProposal"]>>;

/** Proposes `built` as steward #1; stewards #1-#3 vote for; queued and executed. */
async function pass(built: BuiltProposal) {
  await passProposal(system, built);
}

describe("governance", () => {
  it("shows the standards in force, mirrored and on chain, to anyone", async () => {
    const standards = await system.anonymous().governance.standards();
    expect(standards.onChain).toMatchObject({
      minCellSize: 11,
      roundingBase: 5,
      epsilonPerQuery: "0.1",
      epsilonBudget: "5",
      patientsBps: 3_000,
      stewardBps: 6_000,
      treasuryBps: 1_000,
    });
    expect(standards.snapshot).toMatchObject({ minCellSize: 11, roundingBase: 5 });
    expect(standards.snapshot?.acceptedSchemaVersions).toHaveLength(2);
    expect(standards.inSync).toBe(true);
    expect(standards.governance).toMatchObject({ votingDelaySeconds: 1, votingPeriodSeconds: 20 });
    expect(standards.limits.minCellSize).toEqual({ min: 2, max: 10_000 });
  });

  it("builds proposals for stewards only, within the registry's bounds", async () => {
    const change = { kind: "roundingBase" as const, value: 10 };
    await expect(
      researcher.governance.buildProposal({ change, description: "Round to 10" }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      system.anonymous().governance.buildProposal({ change, description: "Round to 10" }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });

    const bad = [
      [{ kind: "minCellSize", value: 1 }, /^change\.value: /],
      [{ kind: "roundingBase", value: 1_001 }, /^change\.value: /],
      [{ kind: "contributionCap", value: 0 }, /^change\.value: /],
      [{ kind: "contributionCap", value: 1_001 }, /^change\.value: /],
      [{ kind: "epsilon", perQuery: "2", budget: "1" }, /^change\.perQuery: /],
      [{ kind: "epsilon", perQuery: "0.1", budget: "101" }, /^change\.budget: /],
      [
        { kind: "feeSplit", patientsBps: 5_000, stewardBps: 5_000, treasuryBps: 1 },
        /^change\.patientsBps: /,
      ],
      [{ kind: "schemaVersion", label: "", accepted: true }, /^change\.label: /],
      [{ kind: "quorum", value: 3 }, /^change\.kind: /],
    ] as const;
    for (const [badChange, message] of bad) {
      await expect(
        steward.governance.buildProposal({ change: badChange as never, description: "x" }),
      ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(message) });
    }
    await expect(
      steward.governance.buildProposal({ change, description: "  " }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^description: /),
    });

    const epsilon = await steward.governance.buildProposal({
      change: { kind: "epsilon", perQuery: 0.2, budget: "8" },
      description: "More epsilon",
    });
    expect(epsilon.change).toEqual({ kind: "epsilon", perQuery: "0.2", budget: "8" });
    const schema = await steward.governance.buildProposal({
      change: { kind: "schemaVersion", label: "omop-lite/2", accepted: true },
      description: "Accept omop-lite/2",
    });
    expect(schema.change).toMatchObject({ kind: "schemaVersion", accepted: true });
  });

  it("k = 20: build, propose, vote, queue, execute; standards and the next query follow", async () => {
    const description = "Raise the minimum cell size to 20";
    const built = await steward.governance.buildProposal({
      change: { kind: "minCellSize", value: 20 },
      description,
    });
    expect(built.change).toEqual({ kind: "minCellSize", value: 20 });
    expect(built.targets).toEqual([system.manifest.contracts.StandardsRegistry]);
    const onChainId = await system.services.chain.client.readContract({
      ...governor(),
      functionName: "hashProposal",
      args: [built.targets, built.values, built.calldatas, built.descriptionHash],
    });
    expect(built.proposalId).toBe(onChainId.toString());

    await writeAs(system, 1, {
      ...governor(),
      functionName: "propose",
      args: [built.targets, built.values, built.calldatas, built.description],
    });
    await syncIndexer(system.services.chain);
    const listed = await system.anonymous().governance.proposals({});
    expect(listed.items.map((p) => p.id)).toEqual([built.proposalId]);
    expect(listed.items[0]).toMatchObject({
      state: "PENDING",
      stateSource: "chain",
      description,
      changes: [{ kind: "minCellSize", value: 20 }],
    });
    await expect(
      steward.governance.buildProposal({ change: { kind: "minCellSize", value: 20 }, description }),
    ).rejects.toMatchObject({ code: "CONFLICT" });

    await advanceChainTime(system, 2);
    expect((await system.anonymous().governance.proposal({ id: built.proposalId })).state).toBe(
      "ACTIVE",
    );
    for (const voter of [1, 2] as const) {
      await writeAs(system, voter, {
        ...governor(),
        functionName: "castVote",
        args: [BigInt(built.proposalId), 1],
      });
    }
    await syncIndexer(system.services.chain);
    const voted = await system.anonymous().governance.proposal({ id: built.proposalId });
    expect(voted.votes).toMatchObject({ for: "2", against: "0", abstain: "0", count: 2 });
    expect(voted.voteList.map((v) => v.support)).toEqual(["for", "for"]);

    // Past the voting period: SUCCEEDED is a function of chain time, read from the chain.
    await advanceChainTime(system, 30);
    const succeeded = await system.anonymous().governance.proposal({ id: built.proposalId });
    expect(succeeded.state).toBe("SUCCEEDED");
    const { targets, values, calldatas, descriptionHash } = succeeded.actions;
    await writeAs(system, 1, {
      ...governor(),
      functionName: "queue",
      args: [targets, values, calldatas, descriptionHash],
    });
    await advanceChainTime(system, 5);
    await writeAs(system, 3, {
      ...governor(),
      functionName: "execute",
      args: [targets, values, calldatas, descriptionHash],
    });
    await syncIndexer(system.services.chain);

    expect((await system.anonymous().governance.proposal({ id: built.proposalId })).state).toBe(
      "EXECUTED",
    );
    const standards = await system.anonymous().governance.standards();
    expect(standards.onChain.minCellSize).toBe(20);
    expect(standards.snapshot?.minCellSize).toBe(20);
    expect(standards.inSync).toBe(true);

    const query = await researcher.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: "SELECT sex, count(*) FROM person GROUP BY sex",
    });
    expect(query.status).toBe("SUCCEEDED");
    expect(query.receipt?.parameters.minCellSize).toBe(20);
  });

  it("the contribution cap is governed, and the next query runs with it", async () => {
    const before = await system.anonymous().governance.standards();
    expect(before.onChain.contributionCap).toBe(10);
    expect(before.snapshot?.contributionCap).toBe(10);
    const built = await steward.governance.buildProposal({
      change: { kind: "contributionCap", value: 3 },
      description: "Cap each person's contribution to a cell at 3 rows",
    });
    expect(built.change).toEqual({ kind: "contributionCap", value: 3 });
    await pass(built);
    const after = await system.anonymous().governance.standards();
    expect(after.onChain.contributionCap).toBe(3);
    expect(after.snapshot?.contributionCap).toBe(3);
    expect(after.inSync).toBe(true);
    const query = await researcher.query.submit({
      wait: true,
      datasetId: dataset.datasetId,
      sql: "SELECT sex, count(*) FROM condition_occurrence JOIN person USING (person_id) GROUP BY sex",
    });
    expect(query.status).toBe("SUCCEEDED");
    expect(query.receipt?.parameters.contributionCap).toBe(3);
  });

  it("accredits a researcher by proposal; refuses an address that already has a credential", async () => {
    const demoResearcher = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 4)).address;
    await expect(
      steward.governance.buildProposal({
        change: { kind: "accreditResearcher", researcher: demoResearcher, reference: "x" },
        description: "Accredit twice",
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("rule researcher-credential"),
    });
    const newcomer = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 6)).address;
    const built = await steward.governance.buildProposal({
      change: { kind: "accreditResearcher", researcher: newcomer, reference: "ONS-SR-2026-0042" },
      description: "Accredit Dr. Maria Santos (ONS safe researcher 2026-0042)",
    });
    expect(built.targets).toEqual([system.manifest.contracts.ResearcherCredential]);
    await pass(built);
    const accredited = await system.services.chain.client.readContract({
      address: system.manifest.contracts.ResearcherCredential,
      abi: researcherCredentialAbi,
      functionName: "isAccredited",
      args: [newcomer],
    });
    expect(accredited).toBe(true);
    const shown = await system.anonymous().governance.proposal({ id: built.proposalId });
    expect(shown.changes).toEqual([
      {
        kind: "accreditResearcher",
        researcher: newcomer.toLowerCase(),
        referenceHash: keccak256(stringToHex("ONS-SR-2026-0042")),
      },
    ]);
  });

  it("the credential life cycle: the holder asks for a second address, stewards approve it, suspend and revoke by proposal", async () => {
    // #6 was accredited by the test above.
    const { caller: holder, address } = await system.signIn(6);
    const second = "0x00000000000000000000000000000000000000c2";
    const mine = await holder.access.myCredential();
    const credentialId = Number(mine.credential?.id);
    expect(mine).toMatchObject({ accredited: true, credential: { pendingAddresses: [] } });
    await expect(
      steward.governance.buildProposal({
        change: { kind: "approveCredentialAddress", credentialId, account: second },
        description: "Approve an address nobody asked for",
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("has not asked"),
    });
    await writeAs(system, 6, {
      address: system.manifest.contracts.ResearcherCredential,
      abi: researcherCredentialAbi,
      functionName: "requestAddress",
      args: [second],
    });
    expect((await holder.access.myCredential()).credential).toMatchObject({
      addresses: [address.toLowerCase()],
      pendingAddresses: [second],
    });
    // A researcher cannot list everyone's credentials; a steward sees the request.
    await expect(researcher.governance.credentials()).rejects.toMatchObject({ code: "FORBIDDEN" });
    const listed = (await steward.governance.credentials()).find(
      (row) => row.id === String(credentialId),
    );
    expect(listed?.addresses).toContainEqual({ address: second, status: "REQUESTED" });

    const approve = await steward.governance.buildProposal({
      change: { kind: "approveCredentialAddress", credentialId, account: second },
      description: `Add ${second} to credential ${credentialId}`,
    });
    expect(approve.change).toEqual({
      kind: "approveCredentialAddress",
      credentialId: String(credentialId),
      account: second,
    });
    await pass(approve);
    expect((await holder.access.myCredential()).credential).toMatchObject({
      addresses: [address.toLowerCase(), second],
      pendingAddresses: [],
    });

    await expect(
      steward.governance.buildProposal({
        change: { kind: "suspendCredential", credentialId, suspended: false },
        description: "Reinstate a credential that is not suspended",
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("is not suspended") });
    await expect(
      steward.governance.buildProposal({
        change: { kind: "revokeCredential", credentialId: 999 },
        description: "Revoke a credential that does not exist",
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("no credential #999") });
    const suspend = await steward.governance.buildProposal({
      change: { kind: "suspendCredential", credentialId, suspended: true },
      description: `Suspend credential ${credentialId}`,
    });
    await pass(suspend);
    expect(await holder.access.myCredential()).toMatchObject({
      accredited: false,
      credential: { suspended: true, revoked: false },
    });
    const revoke = await steward.governance.buildProposal({
      change: { kind: "revokeCredential", credentialId },
      description: `Revoke credential ${credentialId}`,
    });
    expect(revoke.change).toEqual({ kind: "revokeCredential", credentialId: String(credentialId) });
    const shown = await system.anonymous().governance.proposal({ id: suspend.proposalId });
    expect(shown.changes).toEqual([
      { kind: "suspendCredential", credentialId: String(credentialId), suspended: true },
    ]);
  });

  it("steward membership: lists the stewards; admits and removes one by proposal", async () => {
    const newcomer = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 5)).address.toLowerCase();
    const before = await system.anonymous().governance.stewards();
    expect(before).toHaveLength(3);
    const first = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 1)).address.toLowerCase();
    // Steward #1 listed the seeded dataset.
    expect(before.find((member) => member.address === first)).toMatchObject({ listedDatasets: 1 });
    expect(before.map((member) => member.address)).not.toContain(newcomer);
    await expect(
      steward.governance.buildProposal({
        change: { kind: "admitSteward", steward: before[1]?.address as string },
        description: "Admit an existing steward",
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("already a steward"),
    });
    await expect(
      steward.governance.buildProposal({
        change: { kind: "removeSteward", steward: newcomer },
        description: "Remove a non-steward",
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("is not a steward"),
    });

    const admit = await steward.governance.buildProposal({
      change: { kind: "admitSteward", steward: newcomer },
      description: "Admit the Fjord Registry as a steward",
    });
    expect(admit.targets).toEqual([system.manifest.contracts.StewardBadge]);
    expect(admit.change).toEqual({ kind: "admitSteward", steward: newcomer });
    await pass(admit);
    const after = await system.anonymous().governance.stewards();
    expect(after.map((member) => member.address)).toEqual([
      ...before.map((member) => member.address),
      newcomer,
    ]);
    expect(after.at(-1)).toMatchObject({ listedDatasets: 0 });
    expect(
      (await system.anonymous().governance.proposal({ id: admit.proposalId })).changes,
    ).toEqual([{ kind: "admitSteward", steward: newcomer }]);
    // The badge is the steward role: the newcomer may now build proposals.
    const { caller: admitted } = await system.signIn(5);
    const remove = await admitted.governance.buildProposal({
      change: { kind: "removeSteward", steward: newcomer },
      description: "Remove the Fjord Registry",
    });
    await pass(remove);
    expect((await system.anonymous().governance.stewards()).map((m) => m.address)).toEqual(
      before.map((member) => member.address),
    );
    await expect(admitted.steward.myDatasets()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("is NOT_FOUND for an unknown proposal and BAD_REQUEST for a malformed id", async () => {
    await expect(system.anonymous().governance.proposal({ id: "12345" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(system.anonymous().governance.proposal({ id: "0xabc" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^id: /),
    });
  });
});
