import type { Db } from "@opencohort/db";
import { type Hex, keccak256, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChainPublicClient, createSigningClient } from "../clients";
import { consentTypedData, MAX_CONSENT_NONCE_JUMP } from "../consent";
import { devAccountKey } from "../dev-accounts";
import { consentRegistryAbi, datasetRegistryAbi, researcherCredentialAbi } from "../generated/abis";
import type { DeploymentManifest } from "../manifest";
import { submitConsentBatch } from "../relayer";
import { type LocalSystem, startLocalSystem } from "../testing/local-system";
import { createIndexer } from "./indexer";

let system: LocalSystem;
let anvil: LocalSystem["anvil"];
let manifest: DeploymentManifest;
let db: Db;

const steward = () =>
  createSigningClient({ chainId: 31337, rpcUrl: anvil.rpcUrl }, devAccountKey(31337, 1));
const reader = () => createChainPublicClient({ chainId: 31337, rpcUrl: anvil.rpcUrl });
const schemaVersion = keccak256(stringToHex("omop-lite/1"));
const indexer = () => createIndexer({ db, client: reader(), manifest, batchSize: 50 });

async function listDataset(slug: string): Promise<Hex> {
  const datasetId = keccak256(stringToHex(slug));
  const hash = await steward().writeContract({
    address: manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "listDataset",
    args: [
      datasetId,
      keccak256(stringToHex(`${slug}-meta`)),
      schemaVersion,
      keccak256(stringToHex(`${slug}-v1`)),
      parseEther("10"),
      86_400n,
    ],
  });
  await reader().waitForTransactionReceipt({ hash });
  return datasetId;
}

async function relayConsent(
  datasetId: Hex,
  patientIndex: 6 | 7 | 8,
  granted: boolean,
  nonce: bigint,
) {
  const patient = privateKeyToAccount(devAccountKey(31337, patientIndex));
  const message = { patient: patient.address, datasetId, granted, nonce, deadline: 4_000_000_000n };
  const signature = await patient.signTypedData(
    consentTypedData(31337, manifest.contracts.ConsentRegistry, message),
  );
  const relayer = createSigningClient(
    { chainId: 31337, rpcUrl: anvil.rpcUrl },
    devAccountKey(31337, 9),
  );
  await submitConsentBatch(relayer, reader(), manifest.contracts.ConsentRegistry, [
    { ...message, signature },
  ]);
  return patient.address.toLowerCase();
}

beforeAll(async () => {
  system = await startLocalSystem("indexer");
  ({ anvil, manifest, db } = system);
}, 120_000);

afterAll(async () => {
  await system?.close();
});

describe("the event indexer against a real anvil", () => {
  it("deploys with the demo researchers accredited and the nonce bound the app assumes", async () => {
    const accredited = await Promise.all(
      ([4, 5, 6] as const).map((index) =>
        reader().readContract({
          address: manifest.contracts.ResearcherCredential,
          abi: researcherCredentialAbi,
          functionName: "isAccredited",
          args: [privateKeyToAccount(devAccountKey(31337, index)).address],
        }),
      ),
    );
    expect(accredited).toEqual([true, true, false]);
    const jump = await reader().readContract({
      address: manifest.contracts.ConsentRegistry,
      abi: consentRegistryAbi,
      functionName: "MAX_NONCE_JUMP",
    });
    expect(jump).toBe(MAX_CONSENT_NONCE_JUMP);
  });

  it("mirrors the deployment: governed standards and the admitted stewards", async () => {
    const report = await indexer().syncOnce();
    expect(report.events).toBeGreaterThan(0);
    const standards = await db.standardsSnapshot.findFirst({
      orderBy: { block: "desc" },
      select: {
        minCellSize: true,
        roundingBase: true,
        contributionCap: true,
        patientsBps: true,
        stewardBps: true,
        treasuryBps: true,
        acceptedSchemaVersions: true,
      },
    });
    expect(standards).toMatchObject({ minCellSize: 11, roundingBase: 5, contributionCap: 10 });
    expect(
      (standards?.patientsBps ?? 0) + (standards?.stewardBps ?? 0) + (standards?.treasuryBps ?? 0),
    ).toBe(10_000);
    // The deployment accepts both dataset schema versions (Deploy.s.sol defaults).
    expect(standards?.acceptedSchemaVersions).toEqual([
      schemaVersion,
      keccak256(stringToHex("omop-lite/2")),
    ]);
    const stewards = await db.accountRole.count({ where: { role: "STEWARD" } });
    expect(stewards).toBe(3);
  });

  it("mirrors a listing and a relayed consent, and replaying the range changes nothing", async () => {
    const datasetId = await listDataset("replay");
    const patient = await relayConsent(datasetId, 6, true, 1n);
    await indexer().syncOnce();
    const before = {
      dataset: await db.dataset.findUnique({
        where: { id: datasetId },
        select: { steward: true, latestVersion: true, listed: true },
      }),
      consent: await db.consentState.findUnique({
        where: { patientAddress_datasetId: { patientAddress: patient, datasetId } },
        select: { granted: true, nonce: true },
      }),
      events: await db.indexedEvent.count(),
      snapshots: await db.standardsSnapshot.count(),
    };
    expect(before.dataset).toEqual({
      steward: privateKeyToAccount(devAccountKey(31337, 1)).address.toLowerCase(),
      latestVersion: 1,
      listed: true,
    });
    expect(before.consent?.granted).toBe(true);

    // Forget the cursor: the whole range is indexed again.
    await db.indexerCursor.deleteMany({});
    await indexer().syncOnce();
    const after = {
      dataset: await db.dataset.findUnique({
        where: { id: datasetId },
        select: { steward: true, latestVersion: true, listed: true },
      }),
      consent: await db.consentState.findUnique({
        where: { patientAddress_datasetId: { patientAddress: patient, datasetId } },
        select: { granted: true, nonce: true },
      }),
      events: await db.indexedEvent.count(),
      snapshots: await db.standardsSnapshot.count(),
    };
    expect(after).toEqual(before);
  });

  it("rolls back a reorged range and applies the new fork", async () => {
    const client = reader();
    const kept = await listDataset("kept");
    const snapshot = await client.request({ method: "evm_snapshot" as never });
    const orphan = await listDataset("orphan");
    const orphanPatient = await relayConsent(kept, 7, true, 1n);
    await indexer().syncOnce();
    expect(await db.dataset.count({ where: { id: orphan } })).toBe(1);
    expect(
      await db.consentState.count({ where: { patientAddress: orphanPatient, datasetId: kept } }),
    ).toBe(1);

    // Another fork from the snapshot, taller than the one it replaces.
    await client.request({ method: "evm_revert" as never, params: [snapshot] as never });
    const replacement = await listDataset("replacement");
    await client.request({ method: "anvil_mine" as never, params: ["0x5"] as never });

    const report = await indexer().syncOnce();
    expect(report.rolledBackTo).toBeDefined();
    expect(await db.dataset.count({ where: { id: orphan } })).toBe(0);
    expect(
      await db.consentState.count({ where: { patientAddress: orphanPatient, datasetId: kept } }),
    ).toBe(0);
    expect(await db.dataset.count({ where: { id: { in: [kept, replacement] } } })).toBe(2);
    const canonical = await client.getBlock();
    const cursor = await db.indexerCursor.findFirst({ select: { block: true, blockHash: true } });
    expect(cursor).toEqual({ block: canonical.number, blockHash: canonical.hash.toLowerCase() });
  });

  it("follows a direct opt-out after a relayed opt-in (latest action wins)", async () => {
    const datasetId = await listDataset("opt-out");
    const patient = await relayConsent(datasetId, 8, true, 1n);
    const wallet = createSigningClient(
      { chainId: 31337, rpcUrl: anvil.rpcUrl },
      devAccountKey(31337, 8),
    );
    const hash = await wallet.writeContract({
      address: manifest.contracts.ConsentRegistry,
      abi: consentRegistryAbi,
      functionName: "setConsent",
      args: [datasetId, false, 2n],
    });
    await reader().waitForTransactionReceipt({ hash });
    await indexer().syncOnce();
    const state = await db.consentState.findUnique({
      where: { patientAddress_datasetId: { patientAddress: patient, datasetId } },
      select: { granted: true, nonce: true },
    });
    expect(state?.granted).toBe(false);
    expect(BigInt(state?.nonce ?? "0")).toBe(2n);
  });

  it("mirrors credentials: issued, an address requested, approved and removed, suspension and revocation", async () => {
    const client = reader();
    const credential = {
      address: manifest.contracts.ResearcherCredential,
      abi: researcherCredentialAbi,
    };
    // Governance is the timelock: impersonated here (the API tests pass real proposals).
    const timelock = manifest.contracts.TimelockController;
    await system.rpc("anvil_impersonateAccount", [timelock]);
    await system.rpc("anvil_setBalance", [timelock, "0xde0b6b3a7640000"]);
    const asGovernance = async (
      functionName: "approveAddress" | "setSuspended" | "revoke",
      args: readonly unknown[],
    ) => {
      const hash = await createSigningClient(
        { chainId: 31337, rpcUrl: anvil.rpcUrl },
        devAccountKey(31337, 0),
      ).writeContract({ ...credential, functionName, args, account: timelock } as never);
      await client.waitForTransactionReceipt({ hash });
    };
    const researcher = privateKeyToAccount(devAccountKey(31337, 4)).address.toLowerCase();
    await indexer().syncOnce();
    const rowOf = (id: number) =>
      db.researcherCredential.findUnique({
        where: { id },
        select: {
          holder: true,
          suspended: true,
          revoked: true,
          expiresAt: true,
          addresses: { orderBy: { address: "asc" }, select: { address: true, status: true } },
        },
      });
    const id = Number(
      await client.readContract({
        ...credential,
        functionName: "credentialOf",
        args: [researcher as Hex],
      }),
    );
    // The deploy script accredited #4 and #5.
    expect(await db.researcherCredential.count()).toBe(2);
    expect(await rowOf(id)).toEqual({
      holder: researcher,
      suspended: false,
      revoked: false,
      expiresAt: null,
      addresses: [{ address: researcher, status: "ACTIVE" }],
    });

    // #4 asks for two more wallets; governance approves both; #4 drops the first one.
    const wallets = [
      "0x00000000000000000000000000000000000000a1",
      "0x00000000000000000000000000000000000000a2",
    ] as const;
    const holder = createSigningClient(
      { chainId: 31337, rpcUrl: anvil.rpcUrl },
      devAccountKey(31337, 4),
    );
    for (const wallet of wallets) {
      const hash = await holder.writeContract({
        ...credential,
        functionName: "requestAddress",
        args: [wallet],
      });
      await client.waitForTransactionReceipt({ hash });
    }
    await indexer().syncOnce();
    expect((await rowOf(id))?.addresses).toEqual([
      { address: wallets[0], status: "REQUESTED" },
      { address: wallets[1], status: "REQUESTED" },
      { address: researcher, status: "ACTIVE" },
    ]);
    for (const wallet of wallets) await asGovernance("approveAddress", [BigInt(id), wallet]);
    const removed = await holder.writeContract({
      ...credential,
      functionName: "removeAddress",
      args: [wallets[0]],
    });
    await client.waitForTransactionReceipt({ hash: removed });
    await asGovernance("setSuspended", [BigInt(id), true]);
    await indexer().syncOnce();
    expect(await rowOf(id)).toMatchObject({
      suspended: true,
      revoked: false,
      addresses: [
        { address: wallets[0], status: "REMOVED" },
        { address: wallets[1], status: "ACTIVE" },
        { address: researcher, status: "ACTIVE" },
      ],
    });

    // Revoked: final. Replaying the whole range from scratch gives the same rows.
    await asGovernance("revoke", [BigInt(id)]);
    await indexer().syncOnce();
    const revoked = await rowOf(id);
    expect(revoked).toMatchObject({ suspended: true, revoked: true });
    await db.indexerCursor.deleteMany({});
    await indexer().syncOnce();
    expect(await rowOf(id)).toEqual(revoked);
    await system.rpc("anvil_stopImpersonatingAccount", [timelock]);
  });
});
