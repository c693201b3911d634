/**
 * The real operator process (src/main.ts) killed with SIGKILL in the middle of an epoch and
 * started again. anvil's automine is switched off so the operator's postRoot sits in the
 * mempool: the process can be killed after storing and sending but before mining, exactly
 * as a crash on a real chain would leave it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { devAccountKey, rewardDistributorAbi } from "@opencohort/chain";
import { type Address, type Hex, keccak256, parseEther, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureOpenEpoch } from "./epochs/clock";
import { readRewardRoot } from "./epochs/publish";
import {
  addressOf,
  buyAccess,
  CHAIN_ID,
  type ChainFixture,
  chainNow,
  chainWholeEpochConsents,
  claimStoredPayout,
  enrol,
  epochStatus,
  identityOf,
  listDataset,
  recordQuery,
  registerPayout,
  rootsPosted,
  setConsents,
  simulateStoredClaim,
  startChainFixture,
  storedPayouts,
} from "./testing/fixture";

const operatorDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const price = parseEther("100");

let fixture: ChainFixture;
const running = new Set<ChildProcess>();

interface OperatorProcess {
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
  output(): string;
}

function startOperator(): OperatorProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: operatorDir,
    env: {
      ...process.env,
      DATABASE_URL: fixture.databaseUrl,
      OPENCOHORT_RPC_URL: fixture.anvil.rpcUrl,
      OPENCOHORT_CHAIN_ID: "31337",
      OPENCOHORT_DEPLOYMENT: fixture.manifestPath,
      OPERATOR_EPOCH_SECONDS: "1",
      OPERATOR_EPOCH_SETTLE_SECONDS: "0",
      OPERATOR_POLL_INTERVAL_MS: "100",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    for (const wake of waiters) wake();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      for (const wake of waiters) wake();
      resolve(code);
    }),
  );
  return {
    output: () => lines.join("\n"),
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((line) => pattern.test(line));
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`operator exited before ${pattern}:\n${lines.join("\n")}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const rewardEpochRow = () =>
  fixture.db.rewardEpoch.findUniqueOrThrow({
    where: { epoch: 1 },
    select: {
      status: true,
      merkleRoot: true,
      pool: true,
      unit: true,
      total: true,
      postTxHash: true,
    },
  });
/** Patient #7 is paid at an address of their own, not their wallet. */
const payout7 = privateKeyToAccount(
  keccak256(stringToHex("restart-payout-7")),
).address.toLowerCase() as Address;

beforeAll(async () => {
  fixture = await startChainFixture("restart");
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await fixture?.close();
});

describe("the operator process killed mid-epoch", () => {
  it("resumes from the stored tree: one root on chain, every claim paid exactly once", async () => {
    const datasetId: Hex = await listDataset(fixture, "restart-cohort", price);
    await fixture.sync();
    const id6 = await identityOf(devAccountKey(CHAIN_ID, 6), datasetId);
    const id7 = await identityOf(devAccountKey(CHAIN_ID, 7), datasetId);
    await enrol(fixture, datasetId, 201n, { identity: id6.address, wallet: addressOf(6) });
    await enrol(fixture, datasetId, 202n, { identity: id7.address, wallet: addressOf(7) });
    await registerPayout(fixture, id6, addressOf(6));
    await registerPayout(fixture, id7, payout7);
    // Both consent before epoch 1 starts (chain time), so both are paid for all of it.
    await setConsents(
      fixture,
      [id6, id7].map((identity) => ({
        patientKey: identity.privateKey,
        datasetId,
        granted: true,
      })),
    );
    const consentedAt = Number(await chainNow(fixture)) * 1000;
    await ensureOpenEpoch(fixture.db, new Date(Math.max(Date.now(), consentedAt)));
    await buyAccess(fixture, datasetId, price);
    await fixture.sync();
    await recordQuery(fixture, { datasetId, epoch: 1, personIds: [201n, 202n] });
    await recordQuery(fixture, { datasetId, epoch: 1, personIds: [201n] });
    await fixture.rpc("evm_setAutomine", [false]);

    // 1. Killed after storing the epoch and sending postRoot, before it was mined.
    const first = startOperator();
    await first.waitForLine(/sent the reward root of epoch 1/);
    await first.kill("SIGKILL");
    expect(await epochStatus(fixture, 1)).toBe("CLOSING");
    const stored = await rewardEpochRow();
    expect(stored.status).toBe("CLOSING");
    expect(stored.postTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await readRewardRoot(fixture, 1)).toBe(`0x${"0".repeat(64)}`);

    // 2. The node lost the transaction; the restarted operator sends the stored root again,
    //    and is killed again before that one is mined.
    await fixture.rpc("anvil_dropAllTransactions");
    await expect(
      fixture.reader.getTransaction({ hash: stored.postTxHash as Hex }),
    ).rejects.toThrow();
    const second = startOperator();
    await second.waitForLine(/sent the reward root of epoch 1/);
    await second.kill("SIGKILL");
    const resent = await rewardEpochRow();
    expect(resent.merkleRoot).toBe(stored.merkleRoot);
    expect(resent.total).toBe(stored.total);
    // Same nonce, fees and calldata sign to the same hash; it is in the mempool again.
    const pending = await fixture.reader.getTransaction({ hash: resent.postTxHash as Hex });
    expect(pending.blockNumber).toBeNull();

    // 3. This time the transaction is still pending: the operator waits for it instead of
    //    sending a duplicate, and finishes the epoch once it is mined.
    const third = startOperator();
    await third.waitForLine(/waiting for the reward root of epoch 1 sent before/);
    await fixture.rpc("evm_setAutomine", [true]);
    await fixture.rpc("evm_mine");
    await third.waitForLine(/posted the reward root of epoch 1/);
    await third.waitForLine(/anchored the receipt root of epoch 1/);
    await third.waitForLine(/epoch 1 closed/);
    await waitFor(
      async () =>
        (await rewardEpochRow()).status === "POSTED" &&
        (await fixture.db.receiptAnchor.count({ where: { epoch: 1, status: "ANCHORED" } })) === 1,
      "the indexer to mirror RootPosted and ReceiptsAnchored",
    );
    expect(await third.kill("SIGTERM")).toBe(0);
    expect(third.output()).toMatch(/operator: stopped/);
    expect(`${first.output()}\n${second.output()}\n${third.output()}`).not.toMatch(
      /posted the reward root of epoch 1[\s\S]*posted the reward root of epoch 1/,
    );

    expect(await rootsPosted(fixture, 1)).toBe(1);
    expect(await readRewardRoot(fixture, 1)).toBe(stored.merkleRoot);
    // The unit divides the pool by the whole-epoch consents the chain shows; the total is that
    // many units, and the leaves pay one unit each.
    const consents = await chainWholeEpochConsents(fixture, 1);
    const unit = BigInt(stored.pool) / consents;
    expect(unit).toBeGreaterThan(0n);
    expect(BigInt(stored.unit)).toBe(unit);
    expect(BigInt(stored.total ?? "0")).toBe(consents * unit);
    expect(await storedPayouts(fixture, 1)).toEqual({ [addressOf(6)]: unit, [payout7]: unit });
    expect(await claimStoredPayout(fixture, addressOf(6), 1, 6)).toBe(unit);
    expect(await claimStoredPayout(fixture, payout7, 1, 0)).toBe(unit);
    await expect(simulateStoredClaim(fixture, addressOf(6), 1)).rejects.toThrow(/AlreadyClaimed/);
    const [, total, claimed] = await fixture.reader.readContract({
      address: fixture.manifest.contracts.RewardDistributor,
      abi: rewardDistributorAbi,
      functionName: "epochOf",
      args: [1n],
    });
    expect([total, claimed]).toEqual([consents * unit, 2n * unit]);
  });
});
