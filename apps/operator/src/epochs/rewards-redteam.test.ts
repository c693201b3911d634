/**
 * Red team: can a researcher learn whom their query matched from the rewards it triggers?
 *
 * The attack: consent is public per address, and a claim is public (`Claimed(datasetId,
 * epoch, account, amount)`). If rewards followed a query's inclusions, a researcher who runs
 * ONE narrow query in an epoch (say, one diagnosis) would read its matches off the chain as
 * the patients claim: paid addresses = matched people. Here, on a real anvil and database,
 * two datasets are bought in the same epoch with the same enrolled patients and the same
 * consent history; one gets a narrow query that matches only some of them, the other no
 * query at all. The chain must pay both datasets' patients exactly alike, and inside the
 * queried dataset a matched patient exactly what an unmatched one with the same consent time
 * is paid.
 */
import { rewardDistributorAbi } from "@opencohort/chain";
import { type Address, type Hex, keccak256, parseAbiItem, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buyAccess,
  type ChainFixture,
  chainNow,
  enrol,
  epochStatus,
  listDataset,
  recordQuery,
  setConsents,
  startChainFixture,
  tokenBalance,
} from "../testing/fixture";
import { ensureOpenEpoch } from "./clock";
import { createEpochOperator } from "./epochs";

const EPOCH_SECONDS = 100;
const price = parseEther("100");

/** Seven patients with keys of their own; #6 consents everywhere but is enrolled nowhere. */
const patientKeys = Array.from({ length: 7 }, (_, i) => keccak256(stringToHex(`redteam-${i}`)));
const patients = patientKeys.map(
  (key) => privateKeyToAccount(key).address.toLowerCase() as Address,
);
const ENROLLED = [0, 1, 2, 3, 4, 5];
/** The narrow query's matches (persons of patients #0, #1 and #4 in the queried dataset). */
const MATCHED = [0, 1, 4];

let fixture: ChainFixture;
let queried: Hex;
let control: Hex;
let clock: Date;
let epochStart: bigint;
const personOf = (dataset: Hex, patient: number) =>
  BigInt(dataset === queried ? 1_000 + patient : 2_000 + patient);

/** The stored allocations of a dataset's epoch 1 (amount and proof), by address. */
async function allocations(datasetId: Hex) {
  const rows = await fixture.db.rewardAllocation.findMany({
    where: { rewardEpoch: { datasetId, epoch: 1 } },
    select: { patientAddress: true, amount: true, proof: true },
  });
  return new Map(rows.map((row) => [row.patientAddress, row]));
}

/** The researcher's view: every Claimed event of a dataset's epoch 1, account -> amount. */
async function claimedOnChain(datasetId: Hex): Promise<Map<string, bigint>> {
  const logs = await fixture.reader.getLogs({
    address: fixture.manifest.contracts.RewardDistributor,
    event: parseAbiItem(
      "event Claimed(bytes32 indexed datasetId, uint256 indexed epoch, address indexed account, uint256 amount)",
    ),
    args: { datasetId, epoch: 1n },
    fromBlock: 0n,
  });
  return new Map(
    logs.map((log) => [String(log.args.account).toLowerCase(), log.args.amount ?? 0n]),
  );
}

beforeAll(async () => {
  fixture = await startChainFixture("rewards-redteam");
  queried = await listDataset(fixture, "redteam-queried", price);
  control = await listDataset(fixture, "redteam-control", price);
  await fixture.sync();
  for (const datasetId of [queried, control]) {
    for (const patient of ENROLLED) {
      await enrol(fixture, datasetId, personOf(datasetId, patient), patients[patient] as Address);
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
        patientKey: patientKeys[patient] as Hex,
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
  it("pays matched and unmatched patients alike, and as an epoch without the query", async () => {
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
        { patientKey: patientKeys[4] as Hex, datasetId, granted: true },
        { patientKey: patientKeys[5] as Hex, datasetId, granted: false },
      ]),
      epochStart + 50n,
    );
    await fixture.sync();

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

    const pool = (
      await fixture.db.purchase.findFirstOrThrow({
        where: { datasetId: queried, epoch: 1 },
        select: { patientsShare: true },
      })
    ).patientsShare;
    // Weights 100 s for #0-#3, 50 s for #4 and #5: 500 s in all.
    const full = (BigInt(pool) * 100n) / 500n;
    const half = (BigInt(pool) * 50n) / 500n;
    const expected = new Map(
      ENROLLED.map((patient) => [patients[patient] as string, patient >= 4 ? half : full]),
    );
    expect(4n * full + 2n * half).toBe(BigInt(pool));

    const stored = { queried: await allocations(queried), control: await allocations(control) };
    for (const rows of [stored.queried, stored.control]) {
      expect(new Map([...rows].map(([address, row]) => [address, BigInt(row.amount)]))).toEqual(
        expected,
      );
      // The unenrolled consenting address has no leaf.
      expect(rows.has(patients[6] as string)).toBe(false);
    }

    // Every enrolled patient claims both rewards (anyone may pay the gas; the tokens go to
    // the patient). Then the researcher reads the Claimed events.
    await fixture.sync();
    for (const datasetId of [queried, control]) {
      const rows = datasetId === queried ? stored.queried : stored.control;
      for (const patient of ENROLLED) {
        const address = patients[patient] as Address;
        const row = rows.get(address);
        if (!row) throw new Error(`no allocation for patient #${patient}`);
        const before = await tokenBalance(fixture, address);
        const hash = await fixture.signer(0).writeContract({
          address: fixture.manifest.contracts.RewardDistributor,
          abi: rewardDistributorAbi,
          functionName: "claim",
          args: [address, datasetId, 1n, BigInt(row.amount), row.proof as Hex[]],
        });
        const receipt = await fixture.reader.waitForTransactionReceipt({ hash });
        expect(receipt.status).toBe("success");
        expect((await tokenBalance(fixture, address)) - before).toBe(expected.get(address));
      }
    }
    const seen = { queried: await claimedOnChain(queried), control: await claimedOnChain(control) };
    expect(seen.queried).toEqual(expected);
    // Exactly what the same epoch pays without the query.
    expect(seen.queried).toEqual(seen.control);
    // Matched and unmatched patients with the same consent time are paid the same: the
    // payments do not separate the query's matches from anybody else.
    const paid = (patient: number) => seen.queried.get(patients[patient] as string);
    expect(paid(0)).toBe(paid(2));
    expect(paid(1)).toBe(paid(3));
    expect(paid(4)).toBe(paid(5));
    const matchedSet = new Set(MATCHED.map((patient) => patients[patient] as string));
    const paidSet = new Set([...seen.queried.keys()]);
    expect(paidSet).not.toEqual(matchedSet);
    expect([...matchedSet].every((address) => paidSet.has(address))).toBe(true);

    // What each share was weighted by, as the patient's own view shows it.
    for (const datasetId of [queried, control]) {
      const rows = await fixture.db.rewardAllocation.findMany({
        where: { rewardEpoch: { datasetId, epoch: 1 } },
        select: { patientAddress: true, consentSeconds: true },
      });
      expect(new Map(rows.map((row) => [row.patientAddress, row.consentSeconds]))).toEqual(
        new Map(ENROLLED.map((patient) => [patients[patient] as string, patient >= 4 ? 50 : 100])),
      );
    }
  });
});
