/**
 * A real chain and a real database for the operator's tests: anvil, the deployed contracts,
 * a migrated temporary SQLite file, and the steps the rest of the system would take
 * (list a dataset, buy access, enrol patients, consent on chain, record succeeded queries).
 */
import {
  CONSENT_BATCH_SIZE,
  cohortTokenAbi,
  consentRegistryAbi,
  type DevAccountIndex,
  datasetRegistryAbi,
  devAccountKey,
  marketplaceAbi,
  rewardDistributorAbi,
  signAndRelayConsents,
} from "@opencohort/chain";
import { type LocalSystem, startLocalSystem } from "@opencohort/chain/testing/local-system";
import { type Address, getAbiItem, type Hex, keccak256, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

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

export async function enrol(
  fixture: ChainFixture,
  datasetId: string,
  personId: bigint,
  patientAddress: string,
) {
  await fixture.db.enrolment.create({
    data: { datasetId, personId, patientAddress: patientAddress.toLowerCase() },
    select: { id: true },
  });
}

/** The latest block's timestamp: the chain's "now", in unix seconds. */
export async function chainNow(fixture: ChainFixture): Promise<bigint> {
  return (await fixture.reader.getBlock({ blockTag: "latest" })).timestamp;
}

export interface ConsentChangeToSend {
  /** The patient's key: a dev account's (`devAccountKey`) or any other. */
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
      inclusions: {
        createMany: {
          data: options.personIds.map((personId) => ({
            personId,
            datasetId: options.datasetId,
            epoch: options.epoch,
          })),
        },
      },
    },
    select: { id: true },
  });
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

/** RootPosted events on chain for (dataset, epoch): the number of roots actually posted. */
export async function rootsPosted(fixture: ChainFixture, datasetId: Hex, epoch: number) {
  const logs = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.RewardDistributor,
    event: getAbiItem({ abi: rewardDistributorAbi, name: "RootPosted" }),
    args: { datasetId, epoch: BigInt(epoch) },
    fromBlock: 0n,
  });
  return logs.length;
}

/** A patient claims their stored allocation on chain; returns the tokens it paid them. */
export async function claimStoredAllocation(
  fixture: ChainFixture,
  patientIndex: DevAccountIndex,
  datasetId: Hex,
  epoch: number,
): Promise<bigint> {
  const patient = addressOf(patientIndex);
  const allocation = await fixture.db.rewardAllocation.findFirstOrThrow({
    where: { patientAddress: patient, rewardEpoch: { datasetId, epoch } },
    select: { amount: true, proof: true },
  });
  const before = await tokenBalance(fixture, patient);
  const hash = await fixture.signer(patientIndex).writeContract({
    address: fixture.manifest.contracts.RewardDistributor,
    abi: rewardDistributorAbi,
    functionName: "claim",
    args: [patient, datasetId, BigInt(epoch), BigInt(allocation.amount), allocation.proof as Hex[]],
  });
  const receipt = await fixture.reader.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("claim reverted");
  return (await tokenBalance(fixture, patient)) - before;
}

export async function epochStatus(fixture: ChainFixture, epoch: number) {
  return (await fixture.db.epoch.findUnique({ where: { number: epoch }, select: { status: true } }))
    ?.status;
}
