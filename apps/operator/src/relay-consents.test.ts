/**
 * The consent relay on a real anvil and database: one batch never carries two identities of
 * the same patient (they would be linked by the transaction), and the other waits a turn.
 */
import { type ConsentIdentity, consentRegistryAbi, consentTypedData } from "@opencohort/chain";
import { getAddress, type Hex, keccak256, parseEventLogs, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { relayPendingConsents } from "./relay";
import {
  type ChainFixture,
  chainNow,
  enrol,
  identityOf,
  listDataset,
  startChainFixture,
} from "./testing/fixture";

const keyOf = (label: string) => keccak256(stringToHex(`operator-relay-consents-${label}`));
let fixture: ChainFixture;
let datasets: Hex[];
/** Maria's identities in datasets 0 and 1, and Ana's in dataset 0. */
let maria: ConsentIdentity[];
let ana: ConsentIdentity;

async function queue(identity: ConsentIdentity, datasetId: Hex) {
  const message = {
    patient: getAddress(identity.address),
    datasetId,
    granted: true,
    nonce: 1n,
    deadline: (await chainNow(fixture)) + 3_600n,
  };
  const signature = await privateKeyToAccount(identity.privateKey).signTypedData(
    consentTypedData(fixture.manifest.chainId, fixture.manifest.contracts.ConsentRegistry, message),
  );
  await fixture.db.consentRelayRequest.create({
    data: {
      patientAddress: identity.address.toLowerCase(),
      datasetId,
      granted: true,
      nonce: "1",
      deadline: message.deadline.toString(),
      signature,
    },
    select: { id: true },
  });
}

/** The identities whose consent the relayer's last transaction carried. */
async function lastBatch(): Promise<string[]> {
  const rows = await fixture.db.consentRelayRequest.findMany({
    where: { status: "SUBMITTED" },
    orderBy: { updatedAt: "desc" },
    select: { txHash: true },
    take: 1,
  });
  const receipt = await fixture.reader.getTransactionReceipt({ hash: rows[0]?.txHash as Hex });
  return parseEventLogs({ abi: consentRegistryAbi, logs: receipt.logs, eventName: "ConsentSet" })
    .map((log) => log.args.patient.toLowerCase())
    .sort();
}

beforeAll(async () => {
  fixture = await startChainFixture("relay-consents");
  datasets = [
    await listDataset(fixture, "relay-consents-a"),
    await listDataset(fixture, "relay-consents-b"),
  ];
  await fixture.sync();
  const mariaWallet = privateKeyToAccount(keyOf("maria")).address;
  maria = [
    await identityOf(keyOf("maria"), datasets[0] as Hex),
    await identityOf(keyOf("maria"), datasets[1] as Hex),
  ];
  ana = await identityOf(keyOf("ana"), datasets[0] as Hex);
  for (const [i, identity] of maria.entries()) {
    await enrol(fixture, datasets[i] as Hex, 10n, {
      identity: identity.address,
      wallet: mariaWallet,
    });
  }
  await enrol(fixture, datasets[0] as Hex, 11n, {
    identity: ana.address,
    wallet: privateKeyToAccount(keyOf("ana")).address,
  });
});

afterAll(async () => {
  await fixture?.close();
});

describe("relayPendingConsents", () => {
  it("sends one identity per patient in a batch; the patient's other identity goes next turn", async () => {
    await queue(maria[0] as ConsentIdentity, datasets[0] as Hex);
    await queue(maria[1] as ConsentIdentity, datasets[1] as Hex);
    await queue(ana, datasets[0] as Hex);
    const send = () =>
      relayPendingConsents(fixture.db, fixture.signer(9), fixture.reader, fixture.manifest);

    expect(await send()).toBe(2);
    expect(await lastBatch()).toEqual([maria[0]?.address, ana.address].sort());
    expect(await send()).toBe(1);
    expect(await lastBatch()).toEqual([maria[1]?.address]);
    expect(await send()).toBe(0);
  });
});
