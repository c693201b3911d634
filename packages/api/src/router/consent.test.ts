import {
  consentRegistryAbi,
  consentTypedData,
  createSigningClient,
  devAccountKey,
  LOCAL_CHAIN_ID,
  MAX_CONSENT_NONCE_JUMP,
  type SignedConsent,
  submitConsentBatch,
} from "@opencohort/chain";
import { getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSystem, type TestSystem } from "../testing/harness";
import {
  type CohortFolder,
  cohortFolder,
  type ListedDataset,
  listOnChain,
} from "../testing/listing";

let system: TestSystem;
let folder: CohortFolder;
let dataset: ListedDataset;
let elsewhere: ListedDataset;

const account = (index: 6 | 7 | 8) => privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
const metadata = {
  title: "Harbour Asthma Registry",
  description: "Asthma patients of the Harbour region.",
  conditions: [{ code: "ICD10:J45", label: "Asthma" }],
  schemaVersion: "omop-lite/2",
};

/** Submits the queued requests as the operator's relayer would, then indexes the result. */
async function relayQueued() {
  const rows = await system.db.consentRelayRequest.findMany({
    where: { status: "PENDING" },
    orderBy: { createdAt: "asc" },
    select: {
      patientAddress: true,
      datasetId: true,
      granted: true,
      nonce: true,
      deadline: true,
      signature: true,
    },
  });
  const batch: SignedConsent[] = rows.map((row) => ({
    patient: getAddress(row.patientAddress),
    datasetId: row.datasetId as Hex,
    granted: row.granted,
    nonce: BigInt(row.nonce),
    deadline: BigInt(row.deadline),
    signature: row.signature as Hex,
  }));
  const relayer = createSigningClient(
    { chainId: LOCAL_CHAIN_ID, rpcUrl: system.anvil.rpcUrl },
    devAccountKey(LOCAL_CHAIN_ID, 9),
  );
  await submitConsentBatch(
    relayer,
    system.services.chain.client,
    system.manifest.contracts.ConsentRegistry,
    batch,
  );
  await system.services.chain.indexer.syncOnce();
}

type Caller = Awaited<ReturnType<TestSystem["signIn"]>>["caller"];
type ConsentTypedData = Awaited<ReturnType<Caller["consent"]["typedData"]>>;

/** Patient `index` signs `typed` and queues it for the relayer. */
async function relaySigned(caller: Caller, index: 6 | 7 | 8, typed: ConsentTypedData) {
  return caller.consent.relay({
    datasetId: typed.message.datasetId,
    granted: typed.message.granted,
    nonce: typed.message.nonce,
    deadline: typed.message.deadline,
    signature: await account(index).signTypedData(typed),
  });
}

beforeAll(async () => {
  system = await startTestSystem();
  folder = await cohortFolder(system, 100, 21);
  dataset = await listOnChain(system, {
    slug: "consent-harbour",
    contentHash: folder.manifest.contentHash,
    metadata,
  });
  elsewhere = await listOnChain(system, {
    slug: "consent-elsewhere",
    contentHash: folder.manifest.contentHash,
    metadata: { ...metadata, title: "Elsewhere" },
  });
  const { caller: steward } = await system.signIn(1);
  await steward.steward.registerVersion({
    datasetId: dataset.datasetId,
    version: 1,
    folder: folder.folder,
  });
  await steward.steward.updateMetadata({ datasetId: dataset.datasetId, ...metadata });
  // Demo patients #6-#8 are the dataset's first three persons.
  await steward.steward.importEnrolments({
    datasetId: dataset.datasetId,
    entries: ([6, 7, 8] as const).map((index, position) => ({
      personId: folder.personIds[position] as bigint,
      patientAddress: account(index).address,
    })),
  });
});
afterAll(async () => {
  await system?.stop();
});

describe("consent", () => {
  it("is FORBIDDEN to anyone who is not an enrolled patient", async () => {
    const { caller: researcher } = await system.signIn(4);
    await expect(researcher.consent.myEnrolments()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(researcher.consent.whoUsedMyData()).rejects.toMatchObject({ code: "FORBIDDEN" });
    const { caller: maria } = await system.signIn(6);
    await expect(
      maria.consent.typedData({ datasetId: elsewhere.datasetId, granted: true }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("rule enrolment"),
    });
    await expect(
      maria.consent.typedData({ datasetId: "0x12", granted: true }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^datasetId: /),
    });
  });

  it("signs, queues, relays and applies an opt-in, then an opt-out", async () => {
    const { caller: maria } = await system.signIn(6);
    const optIn = await maria.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    expect(optIn.message).toMatchObject({ patient: account(6).address, granted: true, nonce: 1n });
    expect(optIn.domain).toMatchObject({ chainId: LOCAL_CHAIN_ID });
    const signature = await account(6).signTypedData(optIn);
    const relayInput = {
      datasetId: dataset.datasetId,
      granted: true,
      nonce: optIn.message.nonce,
      deadline: optIn.message.deadline,
      signature,
    };
    const queued = await maria.consent.relay(relayInput);
    expect(queued).toMatchObject({ status: "PENDING", nonce: "1", granted: true });
    // Posting the same signed message again is the same request.
    expect((await maria.consent.relay(relayInput)).id).toBe(queued.id);
    // Another message under the same nonce is a conflict.
    const otherSignature = await account(6).signTypedData({
      ...optIn,
      message: { ...optIn.message, granted: false },
    });
    await expect(
      maria.consent.relay({ ...relayInput, granted: false, signature: otherSignature }),
    ).rejects.toMatchObject({ code: "CONFLICT" });

    // The next message to sign follows the queued one.
    const optOut = await maria.consent.typedData({ datasetId: dataset.datasetId, granted: false });
    expect(optOut.message.nonce).toBe(2n);

    let [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment).toMatchObject({
      datasetId: dataset.datasetId,
      title: metadata.title,
      consent: { granted: false, setOnChain: false },
      pending: true,
      requests: [{ status: "PENDING", nonce: "1" }],
    });

    await relayQueued();
    expect(
      await system.db.consentState.findUniqueOrThrow({
        where: {
          patientAddress_datasetId: {
            patientAddress: account(6).address.toLowerCase(),
            datasetId: dataset.datasetId,
          },
        },
        select: { granted: true },
      }),
    ).toEqual({ granted: true });
    [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment).toMatchObject({
      consent: { granted: true, setOnChain: true, nonce: "1" },
      pending: false,
      requests: [{ status: "APPLIED" }],
    });

    await relaySigned(maria, 6, optOut);
    await relayQueued();
    [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment?.consent).toMatchObject({ granted: false, nonce: "2" });
    expect(enrolment?.requests.map((request) => request.status)).toEqual(["APPLIED", "APPLIED"]);
    // No person id, not even her own, leaves the server.
    const json = JSON.stringify(enrolment, (_, value) =>
      typeof value === "bigint" ? value.toString() : value,
    );
    expect(json).not.toContain((folder.personIds[0] as bigint).toString());
    expect(json).not.toMatch(/personId/i);
  });

  it("refuses a signature by another key, an expired message and a stale nonce", async () => {
    const { caller: jonas } = await system.signIn(7);
    const typed = await jonas.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    const input = {
      datasetId: dataset.datasetId,
      granted: true,
      nonce: typed.message.nonce,
      deadline: typed.message.deadline,
    };
    await expect(
      jonas.consent.relay({ ...input, signature: await account(8).signTypedData(typed) }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule consent-signature"),
    });
    const expired = { ...typed.message, deadline: 1n };
    await expect(
      jonas.consent.relay({
        ...input,
        deadline: 1n,
        signature: await account(7).signTypedData({ ...typed, message: expired }),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule consent-expired") });

    // Maria's nonce 1 is already used on chain: a new message under it is stale.
    const { caller: maria } = await system.signIn(6);
    const stale = await maria.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    const message = { ...stale.message, nonce: 1n, deadline: stale.message.deadline + 1n };
    await expect(
      maria.consent.relay({
        datasetId: dataset.datasetId,
        granted: true,
        nonce: 1n,
        deadline: message.deadline,
        signature: await account(6).signTypedData(
          consentTypedData(LOCAL_CHAIN_ID, system.manifest.contracts.ConsentRegistry, message),
        ),
      }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("lets a direct revocation void a grant still queued for the relayer (latest action wins)", async () => {
    const { caller: priya } = await system.signIn(8);
    const grant = await priya.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    await relaySigned(priya, 8, grant);
    // Priya then revokes from her own wallet, before the relayer sent the grant.
    const call = await priya.consent.directCall({ datasetId: dataset.datasetId, granted: false });
    expect(call.args[2]).toBe(grant.message.nonce + 1n);
    const wallet = createSigningClient(
      { chainId: LOCAL_CHAIN_ID, rpcUrl: system.anvil.rpcUrl },
      devAccountKey(LOCAL_CHAIN_ID, 8),
    );
    const hash = await wallet.writeContract({ ...call, abi: consentRegistryAbi });
    await system.services.chain.client.waitForTransactionReceipt({ hash });
    // The relayer sends the older grant afterwards: the chain skips it.
    await relayQueued();
    const state = await system.db.consentState.findUniqueOrThrow({
      where: {
        patientAddress_datasetId: {
          patientAddress: account(8).address.toLowerCase(),
          datasetId: dataset.datasetId,
        },
      },
      select: { granted: true },
    });
    expect(state).toEqual({ granted: false });

    // A message whose nonce the chain would skip as too distant is refused up front.
    const far = { ...grant.message, nonce: grant.message.nonce + MAX_CONSENT_NONCE_JUMP + 2n };
    await expect(
      priya.consent.relay({
        datasetId: dataset.datasetId,
        granted: true,
        nonce: far.nonce,
        deadline: far.deadline,
        signature: await account(8).signTypedData({ ...grant, message: far }),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule consent-nonce") });
  });

  it("shows a patient the studies that used their records, and nobody else's", async () => {
    const version = await system.db.datasetVersion.findUniqueOrThrow({
      where: { datasetId_version: { datasetId: dataset.datasetId, version: 1 } },
      select: { id: true },
    });
    const researcher = `0x${"44".repeat(20)}`;
    // An executed query whose private inclusions hold Maria's person (as the query router stores them).
    const query = await system.db.query.create({
      data: {
        researcherAddress: researcher,
        datasetId: dataset.datasetId,
        datasetVersionId: version.id,
        kind: "SQL",
        sql: "SELECT count(*) FROM person",
        status: "SUCCEEDED",
        finishedAt: new Date(),
        inclusions: {
          create: [
            { personId: folder.personIds[0] as bigint, datasetId: dataset.datasetId, epoch: 1 },
            { personId: folder.personIds[5] as bigint, datasetId: dataset.datasetId, epoch: 1 },
          ],
        },
      },
      select: { id: true },
    });
    const { caller: maria } = await system.signIn(6);
    const studies = await maria.consent.whoUsedMyData();
    expect(studies).toEqual([
      {
        queryId: query.id,
        datasetId: dataset.datasetId,
        datasetTitle: metadata.title,
        researcher,
        kind: "SQL",
        createdAt: expect.any(Date),
        finishedAt: expect.any(Date),
      },
    ]);
    const { caller: jonas } = await system.signIn(7);
    expect(await jonas.consent.whoUsedMyData()).toEqual([]);
  });
});
