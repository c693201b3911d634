import {
  type ConsentIdentity,
  consentRegistryAbi,
  consentTypedData,
  createSigningClient,
  deriveConsentIdentity,
  devAccountKey,
  identityBindingTypedData,
  LOCAL_CHAIN_ID,
  MAX_CONSENT_NONCE_JUMP,
  type SignedConsent,
  submitConsentBatch,
} from "@opencohort/chain";
import { enrolmentOrdinals, ordinalsOf, recordQueryInclusions, sqlDialectOf } from "@opencohort/db";
import { type Address, getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { relayConsents, startTestSystem, type TestSystem } from "../testing/harness";
import {
  type CohortFolder,
  cohortFolder,
  type ListedDataset,
  listOnChain,
} from "../testing/listing";
import { consentRouter } from "./consent";

let system: TestSystem;
let folder: CohortFolder;
let dataset: ListedDataset;
let elsewhere: ListedDataset;
/** The identity each demo patient's wallet derives for `dataset`. */
const identities = new Map<DemoPatient, ConsentIdentity>();

type DemoPatient = 5 | 6 | 7 | 8 | 9;
const account = (index: DemoPatient) => privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
const walletOf = (index: DemoPatient) => account(index).address.toLowerCase() as Address;
function identityOf(index: DemoPatient): ConsentIdentity {
  const identity = identities.get(index);
  if (!identity) throw new Error(`no identity derived for #${index}`);
  return identity;
}
const identitySigner = (index: DemoPatient) => privateKeyToAccount(identityOf(index).privateKey);
const metadata = {
  title: "Harbour Asthma Registry",
  description: "Asthma patients of the Harbour region.",
  conditions: [{ code: "ICD10:J45", label: "Asthma" }],
  schemaVersion: "omop-lite/2",
};
const bigintJson = (value: unknown) =>
  JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/**
 * Submits the queued requests in one batch as the operator's relayer would (oldest first, or
 * newest first to play a relayer that sends them out of order), then indexes the result.
 */
async function relayQueued(order: "asc" | "desc" = "asc") {
  const rows = await system.db.consentRelayRequest.findMany({
    where: { status: "PENDING" },
    orderBy: { createdAt: order },
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

/** Signs `typed` with `signer` (the patient's identity unless a test says otherwise) and queues it. */
async function relaySigned(
  caller: Caller,
  signer: ReturnType<typeof privateKeyToAccount>,
  typed: ConsentTypedData,
) {
  return caller.consent.relay({
    datasetId: typed.message.datasetId,
    granted: typed.message.granted,
    nonce: typed.message.nonce,
    deadline: typed.message.deadline,
    signature: await signer.signTypedData(typed),
  });
}

/** `identityKey`'s BindIdentity signature naming demo patient `wallet` for `datasetId`. */
function bindingSignature(
  signer: ReturnType<typeof privateKeyToAccount>,
  identity: Address,
  wallet: DemoPatient,
  datasetId: Hex,
) {
  return signer.signTypedData(
    identityBindingTypedData(LOCAL_CHAIN_ID, {
      identity: getAddress(identity),
      wallet: account(wallet).address,
      datasetId,
    }),
  );
}

/** Demo patient `index` binds the identity their wallet derives for `dataset`. */
async function bindOwnIdentity(caller: Caller, index: DemoPatient) {
  const identity = identityOf(index);
  return caller.consent.bindIdentity({
    datasetId: dataset.datasetId,
    identity: identity.address,
    signature: await bindingSignature(
      identitySigner(index),
      identity.address,
      index,
      dataset.datasetId,
    ),
  });
}

const enrolmentOfPerson = (position: number) =>
  system.db.enrolment.findUniqueOrThrow({
    where: {
      datasetId_personId: {
        datasetId: dataset.datasetId,
        personId: folder.personIds[position] as bigint,
      },
    },
    select: { patientAddress: true, identityAddress: true, boundAt: true },
  });

/** The indexed consent of `address` for the dataset (nonce as a bigint), or null. */
async function consentStateOf(address: string) {
  const state = await system.db.consentState.findUnique({
    where: {
      patientAddress_datasetId: {
        patientAddress: address.toLowerCase(),
        datasetId: dataset.datasetId,
      },
    },
    select: { granted: true, nonce: true },
  });
  return state && { granted: state.granted, nonce: BigInt(state.nonce) };
}

const nonceOnChain = (address: Address) =>
  system.services.chain.client.readContract({
    address: system.manifest.contracts.ConsentRegistry,
    abi: consentRegistryAbi,
    functionName: "nonceOf",
    args: [getAddress(address), dataset.datasetId],
  });

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
  for (const index of [6, 7, 8, 9] as const) {
    identities.set(
      index,
      await deriveConsentIdentity(account(index), LOCAL_CHAIN_ID, dataset.datasetId),
    );
  }
  const { caller: steward } = await system.signIn(1);
  await steward.steward.registerVersion({
    datasetId: dataset.datasetId,
    version: 1,
    folder: folder.folder,
  });
  await steward.steward.updateMetadata({ datasetId: dataset.datasetId, ...metadata });
  // Maria (#6) and Jonas (#7) are enrolled by wallet as the dataset's first two persons; Priya
  // (#8) gave the steward her consent identity, which is enrolled as the third.
  await steward.steward.importEnrolments({
    datasetId: dataset.datasetId,
    entries: ([6, 7] as const).map((index, position) => ({
      personId: folder.personIds[position] as bigint,
      patientAddress: account(index).address,
    })),
  });
  await steward.steward.importEnrolments({
    datasetId: dataset.datasetId,
    addressKind: "identity",
    entries: [
      {
        personId: folder.personIds[2] as bigint,
        patientAddress: getAddress(identityOf(8).address),
      },
    ],
  });
});
afterAll(async () => {
  await system?.stop();
});

describe("consent", () => {
  it("is FORBIDDEN to anyone who is not an enrolled patient, and has no direct call", async () => {
    const { caller: researcher } = await system.signIn(4);
    await expect(researcher.consent.myEnrolments()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(researcher.consent.whoUsedMyData()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      system.anonymous().consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identityOf(6).address,
        signature: `0x${"11".repeat(65)}`,
      }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
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
    // A consent transaction sent from the wallet would put the wallet next to the dataset.
    expect(Object.keys(consentRouter)).not.toContain("directCall");
  });

  it("refuses typed data and relay until the consent identity is bound (rule identity-unbound)", async () => {
    const { caller: maria } = await system.signIn(6);
    const [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment).toMatchObject({ datasetId: dataset.datasetId, identity: null });
    const unbound = {
      code: "PRECONDITION_FAILED",
      message: expect.stringContaining("rule identity-unbound"),
    };
    await expect(
      maria.consent.typedData({ datasetId: dataset.datasetId, granted: true }),
    ).rejects.toMatchObject(unbound);
    await expect(
      maria.consent.relay({
        datasetId: dataset.datasetId,
        granted: true,
        nonce: 1n,
        deadline: 2n ** 40n,
        signature: `0x${"11".repeat(65)}`,
      }),
    ).rejects.toMatchObject(unbound);
  });

  it("binds an identity only from its own signature, to the caller's own enrolment", async () => {
    const { caller: maria } = await system.signIn(6);
    const identity = identityOf(6);
    const signature = await bindingSignature(
      identitySigner(6),
      identity.address,
      6,
      dataset.datasetId,
    );

    // The wallet signing in the identity's place.
    await expect(
      maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identity.address,
        signature: await bindingSignature(account(6), identity.address, 6, dataset.datasetId),
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule identity-signature"),
    });
    // The identity's signature naming another wallet (Jonas's) does not bind it to Maria.
    await expect(
      maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identity.address,
        signature: await bindingSignature(
          identitySigner(6),
          identity.address,
          7,
          dataset.datasetId,
        ),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule identity-signature") });
    // The wallet itself as identity: refused before anything else.
    await expect(
      maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: account(6).address,
        signature: await bindingSignature(account(6), account(6).address, 6, dataset.datasetId),
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule identity-is-wallet"),
    });
    // A dataset she is not enrolled in.
    const other = await deriveConsentIdentity(account(6), LOCAL_CHAIN_ID, elsewhere.datasetId);
    await expect(
      maria.consent.bindIdentity({
        datasetId: elsewhere.datasetId,
        identity: other.address,
        signature: await bindingSignature(
          privateKeyToAccount(other.privateKey),
          other.address,
          6,
          elsewhere.datasetId,
        ),
      }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("rule enrolment"),
    });
    expect(await enrolmentOfPerson(0)).toMatchObject({
      patientAddress: walletOf(6),
      identityAddress: null,
    });

    // Enrolled by wallet: the identity is filled in.
    expect(
      await maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identity.address,
        signature,
      }),
    ).toEqual({ datasetId: dataset.datasetId, identity: identity.address, bound: true });
    const bound = await enrolmentOfPerson(0);
    expect(bound).toMatchObject({ patientAddress: walletOf(6), identityAddress: identity.address });
    expect(bound.boundAt).toBeInstanceOf(Date);
    // The same identity again changes nothing.
    expect(
      await maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identity.address,
        signature,
      }),
    ).toMatchObject({ bound: true });
    expect(await enrolmentOfPerson(0)).toEqual(bound);
    // Another identity (correctly signed) is refused: consent and rewards live under the first.
    const stranger = privateKeyToAccount(generatePrivateKey());
    await expect(
      maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: stranger.address,
        signature: await bindingSignature(stranger, stranger.address, 6, dataset.datasetId),
      }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("rule identity-mismatch"),
    });
    expect(await enrolmentOfPerson(0)).toEqual(bound);
    // The same identity for another dataset would link the two datasets on chain.
    await expect(
      maria.consent.bindIdentity({
        datasetId: elsewhere.datasetId,
        identity: identity.address,
        signature: await bindingSignature(
          identitySigner(6),
          identity.address,
          6,
          elsewhere.datasetId,
        ),
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule identity-reused"),
    });

    const [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment).toMatchObject({ identity: identity.address, legacyWalletConsent: false });
  });

  it("fills in the wallet of an enrolment the steward imported by identity", async () => {
    const { caller: priya } = await system.signIn(8);
    expect(await enrolmentOfPerson(2)).toMatchObject({
      patientAddress: null,
      identityAddress: identityOf(8).address,
      boundAt: null,
    });
    // Not yet a patient: the server does not know her wallet.
    await expect(priya.consent.myEnrolments()).rejects.toMatchObject({ code: "FORBIDDEN" });
    // Maria cannot claim Priya's identity: its signature names Priya's wallet, not hers.
    const { caller: maria } = await system.signIn(6);
    await expect(
      maria.consent.bindIdentity({
        datasetId: dataset.datasetId,
        identity: identityOf(8).address,
        signature: await bindingSignature(
          identitySigner(8),
          identityOf(8).address,
          8,
          dataset.datasetId,
        ),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule identity-signature") });

    await expect(bindOwnIdentity(priya, 8)).resolves.toMatchObject({ bound: true });
    expect(await enrolmentOfPerson(2)).toMatchObject({
      patientAddress: walletOf(8),
      identityAddress: identityOf(8).address,
      boundAt: expect.any(Date),
    });
    const [enrolment] = await priya.consent.myEnrolments();
    expect(enrolment).toMatchObject({
      datasetId: dataset.datasetId,
      identity: identityOf(8).address,
    });
  });

  it("queues an opt-in the identity signed, relays it under the identity, then an opt-out", async () => {
    const { caller: maria } = await system.signIn(6);
    const identity = identityOf(6);
    const optIn = await maria.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    expect(optIn.message).toMatchObject({
      patient: getAddress(identity.address),
      granted: true,
      nonce: 1n,
    });
    expect(optIn.domain).toMatchObject({ chainId: LOCAL_CHAIN_ID });
    const relayInput = {
      datasetId: dataset.datasetId,
      granted: true,
      nonce: optIn.message.nonce,
      deadline: optIn.message.deadline,
    };
    // Her wallet's signature of the same message is not her identity's.
    await expect(
      maria.consent.relay({ ...relayInput, signature: await account(6).signTypedData(optIn) }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule consent-signature"),
    });
    const signature = await identitySigner(6).signTypedData(optIn);
    const queued = await maria.consent.relay({ ...relayInput, signature });
    expect(queued).toMatchObject({ status: "PENDING", nonce: "1", granted: true });
    // Posting the same signed message again is the same request.
    expect((await maria.consent.relay({ ...relayInput, signature })).id).toBe(queued.id);
    // Another message under the same nonce is a conflict.
    const otherSignature = await identitySigner(6).signTypedData({
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
    // On chain and in the mirror under the identity; the wallet has no consent anywhere.
    expect(await consentStateOf(identity.address)).toEqual({ granted: true, nonce: 1n });
    expect(await consentStateOf(walletOf(6))).toBeNull();
    expect(await nonceOnChain(identity.address)).toBe(1n);
    expect(await nonceOnChain(walletOf(6))).toBe(0n);
    const events = await system.services.chain.client.getContractEvents({
      address: system.manifest.contracts.ConsentRegistry,
      abi: consentRegistryAbi,
      eventName: "ConsentSet",
      fromBlock: 0n,
    });
    expect(events.map((event) => event.args.patient?.toLowerCase())).toContain(identity.address);
    expect(bigintJson(events).toLowerCase()).not.toContain(walletOf(6).slice(2));
    [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment).toMatchObject({
      identity: identity.address,
      consent: { granted: true, setOnChain: true, nonce: "1" },
      pending: false,
      requests: [{ status: "APPLIED" }],
    });

    await relaySigned(maria, identitySigner(6), optOut);
    await relayQueued();
    [enrolment] = await maria.consent.myEnrolments();
    expect(enrolment?.consent).toMatchObject({ granted: false, nonce: "2" });
    expect(enrolment?.requests.map((request) => request.status)).toEqual(["APPLIED", "APPLIED"]);
    // No person id, not even her own, leaves the server.
    const json = bigintJson(enrolment);
    expect(json).not.toContain((folder.personIds[0] as bigint).toString());
    expect(json).not.toMatch(/personId/i);
  });

  it("refuses a signature by another key, an expired message and a stale nonce", async () => {
    const { caller: jonas } = await system.signIn(7);
    await bindOwnIdentity(jonas, 7);
    const typed = await jonas.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    const input = {
      datasetId: dataset.datasetId,
      granted: true,
      nonce: typed.message.nonce,
      deadline: typed.message.deadline,
    };
    // Maria's identity is not Jonas's.
    await expect(
      jonas.consent.relay({ ...input, signature: await identitySigner(6).signTypedData(typed) }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("rule consent-signature"),
    });
    const expired = { ...typed.message, deadline: 1n };
    await expect(
      jonas.consent.relay({
        ...input,
        deadline: 1n,
        signature: await identitySigner(7).signTypedData({ ...typed, message: expired }),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule consent-expired") });

    // Maria's nonce 1 is already used: a new message under it conflicts with the one queued.
    const { caller: maria } = await system.signIn(6);
    const stale = await maria.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    const message = { ...stale.message, nonce: 1n, deadline: stale.message.deadline + 1n };
    await expect(
      maria.consent.relay({
        datasetId: dataset.datasetId,
        granted: true,
        nonce: 1n,
        deadline: message.deadline,
        signature: await identitySigner(6).signTypedData(
          consentTypedData(LOCAL_CHAIN_ID, system.manifest.contracts.ConsentRegistry, message),
        ),
      }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("applies the latest action when the relayer sends an older grant after a revocation", async () => {
    const { caller: priya } = await system.signIn(8);
    const grant = await priya.consent.typedData({ datasetId: dataset.datasetId, granted: true });
    await relaySigned(priya, identitySigner(8), grant);
    const revoke = await priya.consent.typedData({ datasetId: dataset.datasetId, granted: false });
    expect(revoke.message.nonce).toBe(grant.message.nonce + 1n);
    await relaySigned(priya, identitySigner(8), revoke);
    // The relayer sends the revocation first, the older grant after it: the chain skips the grant.
    await relayQueued("desc");
    expect(await consentStateOf(identityOf(8).address)).toEqual({
      granted: false,
      nonce: revoke.message.nonce,
    });
    const [enrolment] = await priya.consent.myEnrolments();
    expect(enrolment?.consent).toMatchObject({ granted: false, setOnChain: true });

    // A message whose nonce the chain would skip as too distant is refused up front.
    const far = { ...grant.message, nonce: revoke.message.nonce + MAX_CONSENT_NONCE_JUMP + 1n };
    await expect(
      priya.consent.relay({
        datasetId: dataset.datasetId,
        granted: true,
        nonce: far.nonce,
        deadline: far.deadline,
        signature: await identitySigner(8).signTypedData({ ...grant, message: far }),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("rule consent-nonce") });
  });

  it("reports a consent the wallet signed itself as legacy: public, and no longer counted", async () => {
    // Jonas consented with his wallet before identities existed (relayed as then).
    await relayConsents(
      system,
      dataset.datasetId,
      [{ identity: walletOf(7), identityKey: devAccountKey(LOCAL_CHAIN_ID, 7) }],
      true,
    );
    await system.services.chain.indexer.syncOnce();
    const { caller: jonas } = await system.signIn(7);
    const [enrolment] = await jonas.consent.myEnrolments();
    expect(enrolment).toMatchObject({
      identity: identityOf(7).address,
      legacyWalletConsent: true,
      consent: { granted: false, setOnChain: false },
    });
    const { caller: maria } = await system.signIn(6);
    expect((await maria.consent.myEnrolments())[0]?.legacyWalletConsent).toBe(false);
  });

  it("shows a patient the studies that used their records, and nobody else's", async () => {
    const version = await system.db.datasetVersion.findUniqueOrThrow({
      where: { datasetId_version: { datasetId: dataset.datasetId, version: 1 } },
      select: { id: true },
    });
    const researcher = `0x${"44".repeat(20)}`;
    // An executed query whose private inclusion set holds Maria's person, Priya's and one
    // enrolled by identity alone (as the query worker stores them).
    const query = await system.db.query.create({
      data: {
        researcherAddress: researcher,
        datasetId: dataset.datasetId,
        datasetVersionId: version.id,
        kind: "SQL",
        sql: "SELECT count(*) FROM person",
        status: "SUCCEEDED",
        finishedAt: new Date(),
      },
      select: { id: true },
    });
    const person = (position: number) => folder.personIds[position] as bigint;
    // Person 10 is enrolled by identity alone before the query (as the steward imports
    // them); the query worker maps persons to ordinals through its consent snapshot.
    const { caller: steward } = await system.signIn(1);
    await steward.steward.importEnrolments({
      datasetId: dataset.datasetId,
      addressKind: "identity",
      entries: [{ personId: person(10), patientAddress: getAddress(identityOf(9).address) }],
    });
    const included = [person(0), person(2), person(10)];
    const ordinals = ordinalsOf(
      await enrolmentOrdinals(system.db, dataset.datasetId, included),
      included,
    );
    await system.db.$transaction((tx) =>
      recordQueryInclusions(tx, sqlDialectOf(system.db), {
        queryId: query.id,
        datasetId: dataset.datasetId,
        epoch: 1,
        ordinals,
      }),
    );
    const study = {
      queryId: query.id,
      datasetId: dataset.datasetId,
      datasetTitle: metadata.title,
      researcher,
      kind: "SQL",
      createdAt: expect.any(Date),
      finishedAt: expect.any(Date),
    };
    const page = (items: unknown[]) => ({ items, nextCursor: null });
    const { caller: maria } = await system.signIn(6);
    expect(await maria.consent.whoUsedMyData()).toEqual(page([study]));
    const { caller: jonas } = await system.signIn(7);
    expect(await jonas.consent.whoUsedMyData()).toEqual(page([]));

    // Enrolled by wallet (#5) after the query ran, through the steward's import: a new
    // enrolment is in no earlier query. The identity enrolled before it (#9's) is, once its
    // patient binds it to their wallet.
    await steward.steward.importEnrolments({
      datasetId: dataset.datasetId,
      entries: [{ personId: person(9), patientAddress: account(5).address }],
    });
    const { caller: five } = await system.signIn(5);
    expect(await five.consent.whoUsedMyData()).toEqual(page([]));
    const { caller: nine } = await system.signIn(9);
    await expect(bindOwnIdentity(nine, 9)).resolves.toMatchObject({ bound: true });
    expect(await nine.consent.whoUsedMyData()).toEqual(page([study]));
    // A cursor from another patient's page or a made-up one shows nothing of anyone else.
    expect(await jonas.consent.whoUsedMyData({ cursor: query.id, limit: 10 })).toEqual(page([]));
    expect(await jonas.consent.whoUsedMyData()).toEqual(page([]));
  });
});
