/**
 * Red team: can an observer of the chain learn how many consents are enrolled (the steward's
 * private enrolment table), or whether one identity is enrolled, from the reward payments?
 *
 * The observer sees everything on chain: each epoch's pool (the distributor's unallocated
 * funds), the posted unit (any claim is a multiple of it) and total, and every consent event,
 * so it counts the consents active for the whole of each epoch itself. Enrolled identities
 * join one at a time. Under the old rule (kept here as a local copy: the unit divided the pool
 * by the ENROLLED whole-epoch consents rounded up to 10, and the total padded the paid ones to
 * 10), the unit halves in the epoch the enrolled count crosses 10 -> 11; the consent events show
 * exactly one identity joining in that epoch, so the observer pins the count at 11 and learns
 * that the identity is enrolled. Under the rule the close applies (rewards/epoch-split.ts, run
 * here on a real SQLite database), private worlds with the same chain must post the same unit
 * and total, and those must follow from the observer's own count.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, migrate } from "@opencohort/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EpochWindow, wholeEpochConsents } from "./consent-time";
import { splitEpoch } from "./epoch-split";

const CHAIN_ID = 31337;
const STREAM = "core";
const STUDY = `0x${"a1".repeat(32)}`;
const REGISTRY = `0x${"b2".repeat(32)}`;
const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
/** Whatever the distributor holds unallocated at each close (public): odd, so no unit is exact. */
const POOL = 10n ** 18n + 7n;
const EPOCH_SECONDS = 1_000n;
const FIRST_START = 100_000n;
const EPOCHS = [1, 2, 3, 4];
const windowOf = (epoch: number): EpochWindow => ({
  start: FIRST_START + BigInt(epoch - 1) * EPOCH_SECONDS,
  end: FIRST_START + BigInt(epoch) * EPOCH_SECONDS,
});

/** Consent identities, each of one dataset, and when they opted in (nobody opts out here). */
interface Consenter {
  identity: string;
  datasetId: string;
  grantedAt: bigint;
}
/** Nine enrolled patients of STUDY, opted in before epoch 1. */
const founders: Consenter[] = Array.from({ length: 9 }, (_, n) => ({
  identity: address(0x100 + n),
  datasetId: STUDY,
  grantedAt: FIRST_START - 100n,
}));
/** Identities that consent to REGISTRY but are enrolled in no world (anybody can consent). */
const strangers: Consenter[] = Array.from({ length: 3 }, (_, n) => ({
  identity: address(0x200 + n),
  datasetId: REGISTRY,
  grantedAt: FIRST_START - 100n,
}));
/** One joiner per epoch from epoch 2: opts in during the epoch before, whole from its epoch on. */
const joiners: Consenter[] = [2, 3, 4].map((epoch) => ({
  identity: address(0x300 + epoch),
  datasetId: STUDY,
  grantedAt: windowOf(epoch).start - 10n,
}));
/** The joiner whose epoch takes the enrolled count from 10 to 11. */
const crossing = joiners[1] as Consenter;

/** A private world: who is enrolled (bound) and who has a payout address. Same chain in all. */
interface World {
  name: string;
  enrolled: Consenter[];
  withPayout: Consenter[];
}
const everyone = [...founders, ...joiners];
const worlds: World[] = [
  { name: "every joiner enrolled", enrolled: everyone, withPayout: everyone },
  {
    name: "the crossing joiner not enrolled",
    enrolled: everyone.filter((c) => c !== crossing),
    withPayout: everyone.filter((c) => c !== crossing),
  },
  {
    name: "the crossing joiner enrolled, without a payout address",
    enrolled: everyone,
    withPayout: everyone.filter((c) => c !== crossing),
  },
  {
    name: "one founder and one stranger swap roles",
    enrolled: [...everyone.filter((c) => c !== founders[0]), strangers[0] as Consenter],
    withPayout: [...everyone.filter((c) => c !== founders[0]), strangers[0] as Consenter],
  },
];

/** The rule before this fix, as it was in pooled.ts: the "before" of the red team. */
const roundUp = (count: bigint, base: bigint) => ((count + base - 1n) / base) * base;
function oldRule(pool: bigint, counted: bigint, paid: bigint) {
  const unit = pool / roundUp(counted, 10n);
  return { unit, total: unit * roundUp(paid, 10n) };
}

/** What the observer counts from the consent events alone: consents active all epoch. */
const observedConsents = (epoch: number) =>
  BigInt(
    [...founders, ...strangers, ...joiners].filter((c) => c.grantedAt <= windowOf(epoch).start)
      .length,
  );

/**
 * The observer's attack on the figures of consecutive epochs: `pool / unit` gives the rounded
 * divisor (a multiple of 10); when it grows in an epoch where the events show exactly one
 * consent joining and none leaving, the count before was that multiple and is now one more.
 */
function pinCount(figures: { unit: bigint }[]): { epoch: number; count: bigint } | null {
  const divisorOf = (unit: bigint) => {
    for (let divisor = 10n; divisor <= 1_000n; divisor += 10n) {
      if (POOL / divisor === unit) return divisor;
    }
    return null;
  };
  for (let index = 1; index < figures.length; index += 1) {
    const before = divisorOf(figures[index - 1]?.unit ?? 0n);
    const after = divisorOf(figures[index]?.unit ?? 0n);
    const epoch = EPOCHS[index] as number;
    const joined = observedConsents(epoch) - observedConsents(epoch - 1);
    if (before !== null && after !== null && after > before && joined === 1n) {
      return { epoch, count: before + 1n };
    }
  }
  return null;
}

let db: Db;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "oc-rewards-redteam-"));
  const url = `file:${join(dir, "app.db")}`;
  await migrate(url);
  db = createDb(url);
  for (const id of [STUDY, REGISTRY]) {
    await db.dataset.create({
      data: {
        id,
        steward: address(0x99),
        price: "0".padStart(78, "0"),
        accessDurationSeconds: 3600,
        metadataHash: `0x${"00".repeat(32)}`,
        listedBlock: 1n,
        listedTxHash: `0x${"aa".repeat(32)}`,
        updatedBlock: 1n,
      },
      select: { id: true },
    });
  }
  const consenters = [...founders, ...strangers, ...joiners].sort((a, b) =>
    a.grantedAt < b.grantedAt ? -1 : a.grantedAt > b.grantedAt ? 1 : 0,
  );
  await db.indexedEvent.createMany({
    data: consenters.map((c, index) => ({
      chainId: CHAIN_ID,
      stream: STREAM,
      blockNumber: BigInt(10 + index),
      blockHash: `0x${randomBytes(32).toString("hex")}`,
      blockTimestamp: c.grantedAt,
      txHash: `0x${randomBytes(32).toString("hex")}`,
      logIndex: 0,
      entityKey: `consent:${c.identity}:${c.datasetId}`,
      address: address(0x98),
      eventName: "ConsentSet",
      args: { patient: c.identity, datasetId: c.datasetId, granted: true, nonce: "1" },
    })),
  });
}, 120_000);

afterAll(async () => {
  await db?.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** Each epoch of a world, under the old rule and under the close's split. */
async function runWorld(world: World) {
  await db.enrolment.deleteMany({});
  await db.payoutRegistration.deleteMany({});
  for (const [index, c] of world.enrolled.entries()) {
    await db.enrolment.create({
      data: {
        datasetId: c.datasetId,
        personId: BigInt(index + 1),
        identityAddress: c.identity,
        ordinal: index + 1,
      },
      select: { id: true },
    });
  }
  for (const [index, c] of world.withPayout.entries()) {
    await db.payoutRegistration.create({
      data: {
        identityAddress: c.identity,
        payoutAddress: address(0x4000 + index),
        signature: "0x",
        issuedAt: 1n,
      },
      select: { identityAddress: true },
    });
  }
  const epochs = [];
  for (const epoch of EPOCHS) {
    const scope = { chainId: CHAIN_ID, stream: STREAM, window: windowOf(epoch) };
    const { split, enrolled } = await db.$transaction(async (tx) => ({
      split: await splitEpoch(tx, scope, POOL),
      enrolled: (await wholeEpochConsents(tx, scope)).enrolled,
    }));
    const paid = BigInt(split.shares.length);
    epochs.push({
      epoch,
      enrolledCount: BigInt(enrolled.length),
      old: oldRule(POOL, BigInt(enrolled.length), paid),
      now: { unit: split.unit, total: split.total, posted: split.payouts.length > 0 },
    });
  }
  return epochs;
}

describe("reward figures on chain carry no private count", () => {
  it("the old rule lets the observer pin the enrolled count; the close's rule posts the same figures in every world", async () => {
    const results = [];
    for (const world of worlds) results.push({ world, epochs: await runWorld(world) });
    const [allEnrolled, crossingNotEnrolled] = results;
    if (!allEnrolled || !crossingNotEnrolled) throw new Error("worlds missing");

    // Before: at the crossing the observer pins the exact enrolled count (9 founders + 2
    // joiners) and so learns that the crossing joiner is enrolled...
    const pinned = pinCount(allEnrolled.epochs.map((e) => e.old));
    expect(pinned).toEqual({ epoch: 3, count: 11n });
    expect(allEnrolled.epochs[2]?.enrolledCount).toBe(11n);
    // ...because a world where it is not enrolled posts other figures from the same chain (and
    // there the next joiner crosses instead, and is pinned as enrolled).
    expect(allEnrolled.epochs[2]?.old).not.toEqual(crossingNotEnrolled.epochs[2]?.old);
    expect(pinCount(crossingNotEnrolled.epochs.map((e) => e.old))).toEqual({
      epoch: 4,
      count: 11n,
    });

    // Now: the private worlds differ, the figures on chain do not, and they follow from what
    // the observer counts on chain itself (so they cannot tell it anything more).
    for (const { epochs } of results) {
      expect(epochs.map((e) => e.now)).toEqual(
        EPOCHS.map((epoch) => {
          const unit = POOL / observedConsents(epoch);
          return { unit, total: unit * observedConsents(epoch), posted: true };
        }),
      );
    }
    expect(new Set(results.map(({ epochs }) => epochs[2]?.enrolledCount))).toEqual(
      new Set([10n, 11n]),
    );
    expect(pinCount(allEnrolled.epochs.map((e) => e.now))).toBeNull();
  });
});
