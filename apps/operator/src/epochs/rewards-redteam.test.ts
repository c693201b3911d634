/**
 * Red team: can a researcher learn whom their query matched from the rewards it triggers?
 *
 * The attack: consent is public per consent identity, and a claim is public (`Claimed(epoch,
 * account, amount)`, the account being a payout address). If rewards followed a query's
 * inclusions, a researcher who runs ONE narrow query in an epoch (say, one diagnosis) would read
 * its matches off the chain as the patients claim: paid addresses = matched people. Here, on a
 * real anvil and database, two datasets are bought in the same epoch with the same enrolled
 * patients and the same consent history; one gets a narrow query that matches only some of
 * them, the other no query at all. Each patient has one payout address per dataset, so the
 * chain shows both datasets' payments apart: they must be exactly alike, and a matched patient
 * must be paid exactly what an unmatched one with the same consent history is paid.
 */
import { type ConsentIdentity, rewardDistributorAbi } from "@opencohort/chain";
import { type Address, getAbiItem, type Hex, keccak256, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buyAccess,
  type ChainFixture,
  chainNow,
  chainWholeEpochConsents,
  claimStoredPayout,
  distributorPool,
  enrol,
  epochStatus,
  identityOf,
  listDataset,
  recordQuery,
  registerPayout,
  setConsents,
  startChainFixture,
  storedPayouts,
} from "../testing/fixture";
import { ensureOpenEpoch } from "./clock";
import { createEpochOperator } from "./epochs";

const EPOCH_SECONDS = 100;
const price = parseEther("100");

const keyOf = (label: string) => keccak256(stringToHex(`redteam-${label}`));
const addressOfKey = (key: Hex) => privateKeyToAccount(key).address.toLowerCase() as Address;
/** Seven patients' wallets; #6 consents everywhere but is enrolled nowhere. */
const PATIENTS = [0, 1, 2, 3, 4, 5, 6];
const walletKeys = PATIENTS.map((patient) => keyOf(`wallet-${patient}`));
const ENROLLED = [0, 1, 2, 3, 4, 5];
/** The narrow query's matches (persons of patients #0, #1 and #4 in the queried dataset). */
const MATCHED = [0, 1, 4];

let fixture: ChainFixture;
let queried: Hex;
let control: Hex;
let clock: Date;
let epochStart: bigint;
/** Each patient's consent identity per dataset. */
const identities = new Map<string, ConsentIdentity>();
const identity = (dataset: Hex, patient: number) => {
  const found = identities.get(`${dataset}:${patient}`);
  if (!found) throw new Error(`no identity of patient #${patient} in ${dataset}`);
  return found;
};
/** Each patient's payout address for one dataset (distinct, so the chain shows them apart). */
const payoutOf = (dataset: Hex, patient: number) =>
  addressOfKey(keyOf(`payout-${dataset === queried ? "queried" : "control"}-${patient}`));
const personOf = (dataset: Hex, patient: number) =>
  BigInt(dataset === queried ? 1_000 + patient : 2_000 + patient);

/** The researcher's view: every Claimed event of epoch 1, account -> amount. */
async function claimedOnChain(): Promise<Map<string, bigint>> {
  const logs = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.RewardDistributor,
    event: getAbiItem({ abi: rewardDistributorAbi, name: "Claimed" }),
    args: { epoch: 1n },
    fromBlock: 0n,
  });
  return new Map(
    logs.map((log) => [String(log.args.account).toLowerCase(), log.args.amount ?? 0n]),
  );
}

/** What a dataset's payout addresses were paid on chain, by patient (unpaid left out). */
const paidByPatient = (seen: Map<string, bigint>, dataset: Hex) =>
  new Map(
    PATIENTS.flatMap((patient) => {
      const amount = seen.get(payoutOf(dataset, patient));
      return amount === undefined ? [] : [[patient, amount] as const];
    }),
  );

beforeAll(async () => {
  fixture = await startChainFixture("rewards-redteam");
  queried = await listDataset(fixture, "redteam-queried", price);
  control = await listDataset(fixture, "redteam-control", price);
  await fixture.sync();
  for (const datasetId of [queried, control]) {
    for (const patient of PATIENTS) {
      const own = await identityOf(walletKeys[patient] as Hex, datasetId);
      identities.set(`${datasetId}:${patient}`, own);
      await registerPayout(fixture, own, payoutOf(datasetId, patient));
      if (ENROLLED.includes(patient)) {
        await enrol(fixture, datasetId, personOf(datasetId, patient), {
          identity: own.address,
          wallet: addressOfKey(walletKeys[patient] as Hex),
        });
      }
    }
  }
  // The epoch starts 100 s ahead of the chain; identical consent histories in both datasets:
  // #0-#3 and #5 (and the unenrolled #6) opt in before it, in one block.
  epochStart = (await chainNow(fixture)) + 100n;
  clock = new Date(Number(epochStart) * 1000);
  await ensureOpenEpoch(fixture.db, clock);
  await setConsents(
    fixture,
    [0, 1, 2, 3, 5, 6].flatMap((patient) =>
      [queried, control].map((datasetId) => ({
        patientKey: identity(datasetId, patient).privateKey,
        datasetId,
        granted: true,
      })),
    ),
    epochStart - 50n,
  );
  await buyAccess(fixture, queried, price);
  await buyAccess(fixture, control, price);
  await fixture.sync();
});

afterAll(async () => {
  await fixture?.close();
});

describe("rewards reveal nothing of a query's matches", () => {
  it("pays matched and unmatched patients alike, and as a dataset without the query", async () => {
    // The researcher's one narrow query, recorded as query execution records it (receipt,
    // inclusions of the matched persons only). The control dataset gets no query at all.
    await recordQuery(fixture, {
      datasetId: queried,
      epoch: 1,
      personIds: MATCHED.map((patient) => personOf(queried, patient)),
    });
    // Half-way through, #4 opts in and #5 opts out, in both datasets.
    await setConsents(
      fixture,
      [queried, control].flatMap((datasetId) => [
        { patientKey: identity(datasetId, 4).privateKey, datasetId, granted: true },
        { patientKey: identity(datasetId, 5).privateKey, datasetId, granted: false },
      ]),
      epochStart + 50n,
    );
    await fixture.sync();
    const { unallocated: pool } = await distributorPool(fixture);
    const purchases = await fixture.db.purchase.findMany({ select: { patientsShare: true } });
    expect(pool).toBe(purchases.reduce((sum, row) => sum + BigInt(row.patientsShare), 0n));

    clock = new Date(Number(epochStart + BigInt(EPOCH_SECONDS)) * 1000);
    await createEpochOperator({
      db: fixture.db,
      reader: fixture.reader,
      signer: fixture.signer(9),
      manifest: fixture.manifest,
      epochSeconds: EPOCH_SECONDS,
      epochSettleSeconds: 0,
      log: () => {},
      now: () => clock,
    }).tick();
    expect(await epochStatus(fixture, 1)).toBe("CLOSED");

    // Whole-epoch consents on chain: #0-#3 and the unenrolled #6, in both datasets; the unit
    // divides the pool by them. #4 and #5 changed mid-epoch and earn nothing this epoch,
    // matched or not; #6 earns nothing anywhere.
    const consents = await chainWholeEpochConsents(fixture, 1);
    expect(consents).toBe(10n);
    const unit = pool / consents;
    expect(unit).toBeGreaterThan(0n);
    const expected = new Map([0, 1, 2, 3].map((patient) => [patient, unit]));
    expect(await storedPayouts(fixture, 1)).toEqual(
      Object.fromEntries(
        [queried, control].flatMap((datasetId) =>
          [0, 1, 2, 3].map((patient) => [payoutOf(datasetId, patient), unit]),
        ),
      ),
    );

    // Every leaf is claimed (anyone may pay the gas; the tokens go to the payout address).
    // Then the researcher reads the Claimed events.
    for (const datasetId of [queried, control]) {
      for (const patient of [0, 1, 2, 3]) {
        expect(await claimStoredPayout(fixture, payoutOf(datasetId, patient), 1, 0)).toBe(unit);
      }
    }
    const seen = await claimedOnChain();
    expect(seen.size).toBe(8);
    expect(paidByPatient(seen, queried)).toEqual(expected);
    // Exactly what the same epoch pays without the query.
    expect(paidByPatient(seen, queried)).toEqual(paidByPatient(seen, control));
    // Matched and unmatched patients with the same consent history are paid the same: the
    // payments do not separate the query's matches from anybody else.
    const paid = (patient: number) => paidByPatient(seen, queried).get(patient);
    expect(paid(0)).toBe(paid(2));
    expect(paid(1)).toBe(paid(3));
    expect(paid(4)).toBe(paid(5));
    const paidSet = new Set(paidByPatient(seen, queried).keys());
    expect(paidSet).not.toEqual(new Set(MATCHED));
    // The unenrolled consenting patient has no leaf in either dataset.
    expect(paidByPatient(seen, queried).has(6) || paidByPatient(seen, control).has(6)).toBe(false);

    // The private shares, as the patient's own view reads them: alike in both datasets.
    const shares = await fixture.db.rewardShare.findMany({
      where: { epoch: 1 },
      select: { datasetId: true, identityAddress: true, amount: true },
    });
    for (const datasetId of [queried, control]) {
      expect(
        new Map(
          shares
            .filter((share) => share.datasetId === datasetId)
            .map((share) => [share.identityAddress, BigInt(share.amount)]),
        ),
      ).toEqual(
        new Map([0, 1, 2, 3].map((patient) => [identity(datasetId, patient).address, unit])),
      );
    }
  });
});
