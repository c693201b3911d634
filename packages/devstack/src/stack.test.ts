import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cohortTokenAbi,
  createChainPublicClient,
  createSigningClient,
  devAccountKey,
  LOCAL_CHAIN_ID,
  marketplaceAbi,
  readDeploymentManifest,
  signAndRelayConsents,
} from "@opencohort/chain";
import { freePort } from "@opencohort/chain/anvil";
import { createDb } from "@opencohort/db";
import { type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { manifestPathFor } from "./deploy";
import { type Observation, observeWallet } from "./observer";
import { assertPortFree } from "./ports";

// The whole `npm start` path, twice, in a state folder of its own: chain, contracts,
// database, demo data, operator and web; Ctrl-C; and a second start that seeds nothing.
const stateDir = mkdtempSync(join(tmpdir(), "oc-stack-"));
afterAll(() => {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(manifestPathFor(stateDir), { force: true });
});

interface RunningStack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startStack(env: Record<string, string>): Promise<RunningStack> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, OPENCOHORT_STATE_DIR: stateDir, OPENCOHORT_DEMO_PERSONS: "300", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("OpenCohort is running."))
        resolve({ child, output: () => output, exited });
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    void exited.then((code) =>
      reject(new Error(`the dev stack exited (${code}) before it was up:\n${output}`)),
    );
  });
}

async function pageText(url: string): Promise<string> {
  const html = await (await fetch(url)).text();
  return html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
}

const titles = (observation: Observation, nameOf: Map<string, string>) =>
  [...observation.found.keys()].map((id) => nameOf.get(id) ?? id).sort();

/**
 * Issue 16's observer on this run: every block, transaction and event, and one patient's
 * wallet. Jonas (#7) consented to three datasets and Maria (#6) to two, under identities, and
 * Jonas is paid and claims (relayed) to his wallet: the observer must find none of their
 * datasets. A wallet that consents itself, as every patient did before identities, is found in
 * both its datasets by the same observer.
 */
async function playTheObserver(rpcUrl: string, databaseUrl: string) {
  const manifest = readDeploymentManifest(manifestPathFor(stateDir));
  const chain = { chainId: LOCAL_CHAIN_ID, rpcUrl };
  const reader = createChainPublicClient(chain);
  const db = createDb(databaseUrl);
  try {
    const datasets = await db.dataset.findMany({ select: { id: true, title: true } });
    const nameOf = new Map(datasets.map((d) => [d.id, d.title ?? d.id]));
    const idOf = (prefix: string) => datasets.find((d) => d.title?.startsWith(prefix))?.id as Hex;

    // Before identities: a wallet signs its own consent to two datasets (relayed by #0).
    const legacy = privateKeyToAccount(keccak256(stringToHex("observer-legacy-patient")));
    await signAndRelayConsents({
      signer: createSigningClient(chain, devAccountKey(LOCAL_CHAIN_ID, 0)),
      reader,
      chainId: LOCAL_CHAIN_ID,
      consentRegistry: manifest.contracts.ConsentRegistry,
      consents: [idOf("Northbridge"), idOf("Lakeside")].map((datasetId) => ({
        patientKey: keccak256(stringToHex("observer-legacy-patient")),
        datasetId,
        granted: true,
        nonce: 1n,
      })),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 3_600),
    });

    // A purchase funds the pool; an epoch that Jonas's consents span pays him.
    const researcher = createSigningClient(chain, devAccountKey(LOCAL_CHAIN_ID, 4));
    const coastal = idOf("Coastal");
    const price = 10n ** 21n;
    for (const call of [
      {
        address: manifest.contracts.CohortToken,
        abi: cohortTokenAbi,
        functionName: "approve",
        args: [manifest.contracts.Marketplace, price],
      },
      {
        address: manifest.contracts.Marketplace,
        abi: marketplaceAbi,
        functionName: "purchaseAccess",
        args: [coastal, price, 0n],
      },
    ] as const) {
      const hash = await researcher.writeContract(call as never);
      await reader.waitForTransactionReceipt({ hash });
    }
    const jonas = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 7)).address.toLowerCase();
    const maria = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 6)).address.toLowerCase();
    const posted = async () =>
      db.rewardPayout.findMany({
        where: { payoutAddress: jonas, rewardEpoch: { status: "POSTED" }, claimedTxHash: null },
        select: { epoch: true },
      });
    await expect
      .poll(async () => (await posted()).length, { timeout: 60_000, interval: 1_000 })
      .toBeGreaterThan(0);
    // What reward.requestClaim stores; the operator's relayer sends it.
    await db.claimRelayRequest.create({
      data: { payoutAddress: jonas, epochs: (await posted()).map((row) => row.epoch) },
      select: { id: true },
    });
    await expect
      .poll(
        async () =>
          (
            await db.claimRelayRequest.findFirst({
              where: { payoutAddress: jonas },
              select: { status: true },
            })
          )?.status,
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe("APPLIED");

    const jonasSeen = await observeWallet(reader, manifest.contracts, jonas as Hex);
    console.log(
      `observer read ${JSON.stringify(jonasSeen.read)}; Jonas's payouts ${jonasSeen.payouts.length}`,
    );
    // The observer had material: the whole chain, identities in every dataset, Jonas's payout.
    expect(jonasSeen.read.datasets).toBe(4);
    expect(jonasSeen.read.identities).toBeGreaterThan(1_000);
    expect(jonasSeen.payouts.length).toBeGreaterThan(0);
    expect(titles(jonasSeen, nameOf)).toEqual([]);
    expect(titles(await observeWallet(reader, manifest.contracts, maria as Hex), nameOf)).toEqual(
      [],
    );
    // The same observer on a wallet that consented itself finds all its datasets.
    const legacySeen = await observeWallet(reader, manifest.contracts, legacy.address);
    expect(titles(legacySeen, nameOf)).toEqual([
      "Lakeside Respiratory Registry",
      "Northbridge Cardiometabolic Cohort",
    ]);
    expect(legacySeen.found.get(idOf("Lakeside"))?.map((link) => link.kind)).toContain("consent");
  } finally {
    await db.$disconnect();
  }
}

describe("npm start (the dev stack)", () => {
  it("brings up everything, stops everything on Ctrl-C, and starts again without seeding twice", async () => {
    const ports = { anvil: await freePort(), web: await freePort() };
    const env = {
      OPENCOHORT_ANVIL_PORT: String(ports.anvil),
      OPENCOHORT_WEB_PORT: String(ports.web),
      DATABASE_URL: `file:${join(stateDir, "app.db")}`,
      // Short epochs, so the observer below sees rewards paid and claimed.
      OPERATOR_EPOCH_SECONDS: "4",
    };
    const url = `http://127.0.0.1:${ports.web}`;

    const first = await startStack(env);
    const firstPage = await pageText(url);
    expect(firstPage).toContain("k = 11");
    for (const title of [
      "Northbridge Cardiometabolic Cohort",
      "Lakeside Respiratory Registry",
      "Coastal Primary Care Panel",
    ]) {
      expect(firstPage).toContain(title);
    }
    const consented = [...firstPage.matchAll(/300 persons · (\d+) consented/g)].map((match) =>
      Number(match[1]),
    );
    expect(consented).toHaveLength(3);
    for (const count of consented) expect(count).toBeGreaterThan(240);
    // The fourth: the vendored Eunomia export, imported with the steward's importer.
    expect(firstPage).toContain("Eunomia GiBleed (OMOP CDM)");
    const eunomia = /2,694 persons · ([\d,]+) consented/.exec(firstPage);
    expect(Number(eunomia?.[1]?.replaceAll(",", ""))).toBeGreaterThan(2_200);
    expect(first.output()).toContain("Signing and relaying consents");
    expect(first.output()).toContain("Importing Eunomia GiBleed (OMOP CDM)");
    // ...and its source sits in the import root, for a steward to import from the web.
    expect(existsSync(join(stateDir, "imports", "eunomia-gibleed", "person.csv.gz"))).toBe(true);

    await playTheObserver(`http://127.0.0.1:${ports.anvil}`, env.DATABASE_URL);
    // The observer's own wallet consented to two of them: the public counts moved by one.
    const consentedNow = [...(await pageText(url)).matchAll(/300 persons · (\d+) consented/g)].map(
      (match) => Number(match[1]),
    );
    expect(consentedNow.reduce((a, b) => a + b, 0)).toBe(consented.reduce((a, b) => a + b, 0) + 2);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    // Every service is gone: their ports are free again.
    await assertPortFree(ports.anvil, "anvil");
    await assertPortFree(ports.web, "web");

    const second = await startStack(env);
    expect(second.output()).toContain("Contracts already deployed");
    expect(second.output()).not.toContain("Signing and relaying consents");
    expect(second.output()).not.toContain("Generating");
    expect(second.output()).not.toContain("Importing");
    const secondPage = await pageText(url);
    expect(
      [...secondPage.matchAll(/300 persons · (\d+) consented/g)].map((match) => Number(match[1])),
    ).toEqual(consentedNow);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  }, 400_000);
});
