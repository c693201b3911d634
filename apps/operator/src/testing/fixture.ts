/**
 * A real chain and a real database for the operator's tests: anvil, the deployed contracts,
 * a migrated temporary SQLite file, and the steps the rest of the system would take
 * (list a dataset, buy access, enrol patients under their consent identities, register payout
 * addresses, consent on chain, record succeeded queries, claim rewards).
 */
import {
  CONSENT_BATCH_SIZE,
  type ConsentIdentity,
  cohortTokenAbi,
  consentRegistryAbi,
  type DevAccountIndex,
  datasetRegistryAbi,
  deriveConsentIdentity,
  devAccountKey,
  marketplaceAbi,
  payoutAddressTypedData,
  rewardDistributorAbi,
  signAndRelayConsents,
} from "@opencohort/chain";
import { type LocalSystem, startLocalSystem } from "@opencohort/chain/testing/local-system";
import {
  createEnrolments,
  enrolmentOrdinals,
  ordinalsOf,
  recordQueryInclusions,
  sqlDialectOf,
} from "@opencohort/db";
import {
  type Address,
  getAbiItem,
  getAddress,
  type Hex,
  keccak256,
  parseEther,
  stringToHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type ConsentChange, consentSecondsIn, epochWindow } from "../rewards/consent-time";

export const CHAIN_ID = 31337;
export const schemaVersion = keccak256(stringToHex("omop-lite/1"));
export const addressOf = (index: DevAccountIndex) =>
  privateKeyToAccount(devAccountKey(CHAIN_ID, index)).address.toLowerCase() as Address;

/** The shared local system (anvil, deployed contracts, migrated SQLite, indexer). */
export type ChainFixture = LocalSystem;

export function startChainFixture(name: string): Promise<ChainFixture> {
  return startLocalSystem(`operator-${name}`);
}

/** Steward anvil #1 lists a dataset at `price`; returns its opaque id. */
export async function listDataset(
  fixture: ChainFixture,
  slug: string,
  price = parseEther("100"),
): Promise<Hex> {
  const datasetId = keccak256(stringToHex(slug));
  const hash = await fixture.signer(1).writeContract({
    address: fixture.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "listDataset",
    args: [
      datasetId,
      keccak256(stringToHex(`${slug}-meta`)),
      schemaVersion,
      keccak256(stringToHex(`${slug}-v1`)),
      price,
      86_400n,
    ],
  });
  await fixture.reader.waitForTransactionReceipt({ hash });
  return datasetId;
}

/** Researcher anvil #4 buys access (approve, then purchaseAccess). */
export async function buyAccess(fixture: ChainFixture, datasetId: Hex, price: bigint) {
  const researcher = fixture.signer(4);
  const approval = await researcher.writeContract({
    address: fixture.manifest.contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "approve",
    args: [fixture.manifest.contracts.Marketplace, price],
  });
  await fixture.reader.waitForTransactionReceipt({ hash: approval });
  const purchase = await researcher.writeContract({
    address: fixture.manifest.contracts.Marketplace,
    abi: marketplaceAbi,
    functionName: "purchaseAccess",
    args: [datasetId, price, 0n],
  });
  const receipt = await fixture.reader.waitForTransactionReceipt({ hash: purchase });
  if (receipt.status !== "success") throw new Error("purchase reverted");
}

/** The consent identity wallet `walletKey` derives for `datasetId`, as the browser does. */
export function identityOf(walletKey: Hex, datasetId: Hex): Promise<ConsentIdentity> {
  return deriveConsentIdentity(privateKeyToAccount(walletKey), CHAIN_ID, datasetId);
}

/**
 * Enrols a person under a consent identity (what counts for queries and rewards), optionally
 * with the wallet the patient signed in with (a bound enrolment); without one, as the steward
 * imports enrolments by identity alone.
 */
export async function enrol(
  fixture: ChainFixture,
  datasetId: string,
  personId: bigint,
  addresses: { identity?: string; wallet?: string },
) {
  await fixture.db.$transaction((tx) =>
    createEnrolments(tx, sqlDialectOf(fixture.db), datasetId, [
      {
        personId,
        identityAddress: addresses.identity?.toLowerCase() ?? null,
        patientAddress: addresses.wallet?.toLowerCase() ?? null,
        boundAt: addresses.identity && addresses.wallet ? new Date() : null,
      },
    ]),
  );
}

/**
 * The identity names `payout` as the address its rewards go to, signed as the patient's
 * browser signs it (reward.registerPayout stores the same row after checking the signature).
 */
export async function registerPayout(
  fixture: ChainFixture,
  identity: ConsentIdentity,
  payout: Address,
): Promise<void> {
  const issuedAt = await chainNow(fixture);
  const message = { identity: getAddress(identity.address), payout: getAddress(payout), issuedAt };
  const signature = await privateKeyToAccount(identity.privateKey).signTypedData(
    payoutAddressTypedData(CHAIN_ID, message),
  );
  await fixture.db.payoutRegistration.create({
    data: {
      identityAddress: identity.address.toLowerCase(),
      payoutAddress: payout.toLowerCase(),
      signature: signature.toLowerCase(),
      issuedAt,
    },
    select: { identityAddress: true },
  });
}

/** The latest block's timestamp: the chain's "now", in unix seconds. */
export async function chainNow(fixture: ChainFixture): Promise<bigint> {
  return (await fixture.reader.getBlock({ blockTag: "latest" })).timestamp;
}

export interface ConsentChangeToSend {
  /** The consenting key: a consent identity's (`identityOf`), or any other (a wallet's own). */
  patientKey: Hex;
  datasetId: Hex;
  granted: boolean;
}

/**
 * Patients' consent changes, signed by each patient and relayed in ONE transaction by the
 * deployer (#0, so the operator's nonce is left alone), as the relayer would. With `at`
 * (unix seconds, not before the latest block) the block is mined at exactly that time, so
 * tests place consent changes precisely in an epoch's window. A pair may appear once.
 */
export async function setConsents(
  fixture: ChainFixture,
  changes: readonly ConsentChangeToSend[],
  at?: bigint,
): Promise<void> {
  const consentRegistry = fixture.manifest.contracts.ConsentRegistry;
  const pairs = new Set<string>();
  const consents = [];
  for (const change of changes) {
    const patient = privateKeyToAccount(change.patientKey).address;
    const pair = `${patient}:${change.datasetId}`;
    if (pairs.has(pair)) throw new Error(`setConsents got ${pair} twice; send them one by one.`);
    pairs.add(pair);
    const nonce = await fixture.reader.readContract({
      address: consentRegistry,
      abi: consentRegistryAbi,
      functionName: "nonceOf",
      args: [patient, change.datasetId],
    });
    consents.push({ ...change, nonce: nonce + 1n });
  }
  if (consents.length > CONSENT_BATCH_SIZE)
    throw new Error(`setConsents sends one transaction: ${CONSENT_BATCH_SIZE} changes at most.`);
  if (at !== undefined) await fixture.rpc("evm_setNextBlockTimestamp", [Number(at)]);
  await signAndRelayConsents({
    signer: fixture.signer(0),
    reader: fixture.reader,
    chainId: CHAIN_ID,
    consentRegistry,
    consents,
    deadline: (at ?? (await chainNow(fixture))) + 86_400n,
  });
}

let querySerial = 0;

/** A query as the API records it: status, epoch, receipt and the persons it included. */
export async function recordQuery(
  fixture: ChainFixture,
  options: {
    datasetId: string;
    epoch: number;
    personIds: bigint[];
    status?: "SUCCEEDED" | "FAILED" | "RUNNING";
    withReceipt?: boolean;
  },
): Promise<{ id: string; receiptHash: Hex | null }> {
  const { db } = fixture;
  const version = await db.datasetVersion.findFirstOrThrow({
    where: { datasetId: options.datasetId },
    select: { id: true },
  });
  querySerial += 1;
  const status = options.status ?? "SUCCEEDED";
  const receiptHash =
    (options.withReceipt ?? status === "SUCCEEDED")
      ? keccak256(stringToHex(`receipt-${process.pid}-${querySerial}`))
      : null;
  const query = await db.query.create({
    data: {
      researcherAddress: addressOf(4),
      datasetId: options.datasetId,
      datasetVersionId: version.id,
      kind: "SQL",
      sql: "SELECT count(*) FROM person",
      status,
      epoch: options.epoch,
      receiptHash,
      includedPersonCount: options.personIds.length,
    },
    select: { id: true },
  });
  // As the query worker stores them: the included persons' enrolment ordinals. Tests name
  // persons they never enrolled (inclusions do not pay anything); those have no ordinal.
  const ordinals = ordinalsOf(
    await enrolmentOrdinals(db, options.datasetId, options.personIds),
    options.personIds,
    "skip",
  );
  await db.$transaction((tx) =>
    recordQueryInclusions(tx, sqlDialectOf(db), {
      queryId: query.id,
      datasetId: options.datasetId,
      epoch: options.epoch,
      ordinals,
    }),
  );
  return { id: query.id, receiptHash };
}

export async function tokenBalance(fixture: ChainFixture, account: Address): Promise<bigint> {
  return fixture.reader.readContract({
    address: fixture.manifest.contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "balanceOf",
    args: [account],
  });
}

/** RootPosted events on chain for `epoch`: the number of roots actually posted. */
export async function rootsPosted(fixture: ChainFixture, epoch: number) {
  const logs = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.RewardDistributor,
    event: getAbiItem({ abi: rewardDistributorAbi, name: "RootPosted" }),
    args: { epoch: BigInt(epoch) },
    fromBlock: 0n,
  });
  return logs.length;
}

/** The distributor's pool: funded, allocated, and what no posted root reserves yet. */
export async function distributorPool(fixture: ChainFixture) {
  const [funded, allocated] = await fixture.reader.readContract({
    address: fixture.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "pool",
  });
  return { funded, allocated, unallocated: funded - allocated };
}

/** The stored leaves of `epoch`, payout address -> amount. */
export async function storedPayouts(fixture: ChainFixture, epoch: number) {
  const rows = await fixture.db.rewardPayout.findMany({
    where: { epoch },
    select: { payoutAddress: true, amount: true },
  });
  return Object.fromEntries(rows.map((row) => [row.payoutAddress, BigInt(row.amount)]));
}

/** The `claim` call for a stored leaf (anyone may send it; the tokens go to the payout). */
async function storedClaim(fixture: ChainFixture, payout: Address, epoch: number) {
  const leaf = await fixture.db.rewardPayout.findUniqueOrThrow({
    where: { epoch_payoutAddress: { epoch, payoutAddress: payout.toLowerCase() } },
    select: { amount: true, proof: true },
  });
  return {
    address: fixture.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "claim",
    args: [payout, BigInt(epoch), BigInt(leaf.amount), leaf.proof as Hex[]],
  } as const;
}

/**
 * Claims the stored leaf of `payout` for `epoch` on chain, sent (and paid for) by dev account
 * `senderIndex`; returns the tokens it paid the payout address.
 */
export async function claimStoredPayout(
  fixture: ChainFixture,
  payout: Address,
  epoch: number,
  senderIndex: DevAccountIndex = 0,
): Promise<bigint> {
  const call = await storedClaim(fixture, payout, epoch);
  const before = await tokenBalance(fixture, payout);
  const hash = await fixture.signer(senderIndex).writeContract(call);
  const receipt = await fixture.reader.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("claim reverted");
  return (await tokenBalance(fixture, payout)) - before;
}

/** Simulates claiming the stored leaf again; resolves with the revert (or throws if it would pass). */
export async function simulateStoredClaim(fixture: ChainFixture, payout: Address, epoch: number) {
  const call = await storedClaim(fixture, payout, epoch);
  return fixture.reader.simulateContract({ account: fixture.signer(0).account, ...call });
}

/**
 * What anybody counts from the chain itself (not the mirror): consents active for the whole
 * window of a closed `epoch`, over every address and every dataset listed on chain. The unit and
 * total an epoch posts must follow from this count and the pool alone.
 */
export async function chainWholeEpochConsents(
  fixture: ChainFixture,
  epoch: number,
): Promise<bigint> {
  const row = await fixture.db.epoch.findUniqueOrThrow({
    where: { number: epoch },
    select: { startedAt: true, closedAt: true },
  });
  if (!row.closedAt) throw new Error(`epoch ${epoch} is not closed`);
  const window = epochWindow(row.startedAt, row.closedAt);
  const listed = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.DatasetRegistry,
    event: getAbiItem({ abi: datasetRegistryAbi, name: "DatasetListed" }),
    fromBlock: 0n,
  });
  const datasets = new Set(listed.map((log) => String(log.args.datasetId).toLowerCase()));
  const consents = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.ConsentRegistry,
    event: getAbiItem({ abi: consentRegistryAbi, name: "ConsentSet" }),
    fromBlock: 0n,
  });
  const timestamps = new Map<bigint, bigint>();
  const changesByPair = new Map<string, ConsentChange[]>();
  for (const log of consents) {
    const datasetId = String(log.args.datasetId).toLowerCase();
    if (!datasets.has(datasetId)) continue;
    let at = timestamps.get(log.blockNumber);
    if (at === undefined) {
      at = (await fixture.reader.getBlock({ blockNumber: log.blockNumber })).timestamp;
      timestamps.set(log.blockNumber, at);
    }
    const pair = `${String(log.args.patient).toLowerCase()}:${datasetId}`;
    const changes = changesByPair.get(pair) ?? [];
    changes.push({ at, granted: log.args.granted === true });
    changesByPair.set(pair, changes);
  }
  let count = 0n;
  for (const changes of changesByPair.values()) {
    if (consentSecondsIn(changes, window) === window.end - window.start) count += 1n;
  }
  return count;
}

export async function epochStatus(fixture: ChainFixture, epoch: number) {
  return (await fixture.db.epoch.findUnique({ where: { number: epoch }, select: { status: true } }))
    ?.status;
}
