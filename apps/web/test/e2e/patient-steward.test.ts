import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import {
  cohortTokenAbi,
  datasetRegistryAbi,
  marketplaceAbi,
} from "@opencohort/chain/generated/abis";
import { readDeploymentManifest } from "@opencohort/chain/manifest";
import type { Browser, Page } from "playwright-core";
import { createPublicClient, createWalletClient, type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// The patient's consent (signed in the browser, relayed by the dev stack's operator) and the
// stewards' governance (propose, vote, queue, execute k = 20), in real Chromium.
let stack: RunningStack;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  // Short reward epochs, so a purchase and a query pay Maria within the test.
  stack = await startDevStack(300, { OPERATOR_EPOCH_SECONDS: "15" });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => browserErrors.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400) browserErrors.push(`${response.status()} ${response.url()}`);
  });
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function anvil(method: string, params: unknown[]): Promise<void> {
  const response = await fetch(stack.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { error?: unknown };
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
}

async function signInAs(index: 1 | 2 | 4 | 6) {
  const address = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)).address;
  const signOut = page.getByRole("button", { name: "Sign out" });
  const signIn = page.getByRole("button", { name: "Sign in" });
  // The header first asks for the session: wait until it knows.
  await signOut.or(signIn).waitFor({ timeout: 60_000 });
  if ((await signOut.count()) > 0) {
    await signOut.click();
    await signIn.waitFor({ timeout: 60_000 });
  }
  await signIn.click();
  await page.getByTestId("dev-account").selectOption(String(index));
  await page.getByTestId("dev-sign-in").click();
  await expect
    .poll(() => page.getByTestId("signed-in-address").getAttribute("title"), { timeout: 20_000 })
    .toBe(address);
}

describe("patient and stewards in the browser", () => {
  it("Maria opts out of a dataset: signed, relayed, confirmed", async () => {
    await page.goto(`${stack.url}/`);
    await signInAs(6);
    await page.getByRole("link", { name: "My data" }).click();
    await page.waitForURL("**/patient");
    const enrolments = page.getByTestId("enrolment");
    await expect.poll(() => enrolments.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const first = enrolments.first();
    const toggle = first.getByTestId("consent-toggle");
    expect(await toggle.getAttribute("aria-checked")).toBe("true");
    expect(await first.getByTestId("consent-state").textContent()).toBe("Opted in");

    await toggle.click();
    // The relayer (the dev stack's operator) picks it up: Relayed, then Confirmed.
    const progress = first.getByTestId("consent-progress");
    await expect
      .poll(() => progress.textContent(), { timeout: 30_000 })
      .toMatch(/Signing|Signed|Relayed|Applied|Confirmed/);
    await expect.poll(() => progress.getAttribute("data-step"), { timeout: 60_000 }).toBe("3");
    expect(await progress.textContent()).toMatch(/Confirmed: opted out on chain/);
    expect(await toggle.getAttribute("aria-checked")).toBe("false");
    expect(await first.getByTestId("consent-state").textContent()).toBe("Opted out");
    expect(await page.getByRole("heading", { name: "Who used my data" }).count()).toBe(1);
    expect(await page.getByRole("heading", { name: "Rewards" }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath("patient"), fullPage: true });
  });

  it("a researcher buys and queries; the epoch closes and Maria claims her reward", async () => {
    const manifestPath = /Manifest\s+(\S+\.json)/.exec(stack.output())?.[1];
    expect(manifestPath).toBeTruthy();
    const { contracts } = readDeploymentManifest(manifestPath as string);
    const chain = { ...foundry, rpcUrls: { default: { http: [stack.rpcUrl] } } };
    const publicClient = createPublicClient({ chain, transport: http(stack.rpcUrl) });
    const researcher = createWalletClient({
      account: privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 4)),
      chain,
      transport: http(stack.rpcUrl),
    });

    await signInAs(4);
    const datasetId = (await page.evaluate(async () => {
      const input = encodeURIComponent(JSON.stringify({ json: { search: "Coastal" } }));
      const list = await (await fetch(`/api/trpc/dataset.list?input=${input}`)).json();
      return list.result.data.json.items[0].id as string;
    })) as Hex;
    // Purchase and query land in one epoch (retried once if an epoch boundary split them).
    const buyAndQuery = async () => {
      const [, price] = await publicClient.readContract({
        address: contracts.DatasetRegistry,
        abi: datasetRegistryAbi,
        functionName: "purchaseTerms",
        args: [datasetId],
      });
      for (const request of [
        {
          address: contracts.CohortToken,
          abi: cohortTokenAbi,
          functionName: "approve",
          args: [contracts.Marketplace, price],
        },
        {
          address: contracts.Marketplace,
          abi: marketplaceAbi,
          functionName: "purchaseAccess",
          args: [datasetId, price],
        },
      ] as const) {
        const hash = await researcher.writeContract(request as never);
        await publicClient.waitForTransactionReceipt({ hash });
      }
      const submitted = await page.evaluate(async (id) => {
        const response = await fetch("/api/trpc/query.submit", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            json: { datasetId: id, sql: "SELECT count(*) AS n FROM person" },
          }),
        });
        return { status: response.status, body: await response.text() };
      }, datasetId);
      expect(submitted.status, submitted.body).toBe(200);
    };
    const waitClaimable = async (tries: number) => {
      await signInAs(6);
      await page.goto(`${stack.url}/patient`);
      for (let i = 0; i < tries; i++) {
        await page.getByTestId("claim-all").waitFor({ timeout: 30_000 });
        if (await page.getByTestId("claim-all").isEnabled()) return true;
        await page.waitForTimeout(2_000);
        await page.reload();
      }
      return false;
    };
    await buyAndQuery();
    let ready = await waitClaimable(20);
    if (!ready) {
      // An epoch boundary fell between the purchase and the query: both again, in one epoch.
      await signInAs(4);
      await buyAndQuery();
      ready = await waitClaimable(20);
    }
    const claimAll = page.getByTestId("claim-all");
    expect(ready, "no claimable reward after the epoch closed").toBe(true);
    expect(await page.getByTestId("used-table").textContent()).toMatch(
      /Coastal Primary Care Panel/,
    );
    await claimAll.click();
    const result = page.getByTestId("claim-result");
    await result.waitFor({ timeout: 30_000 });
    const text = (await result.textContent()) ?? "";
    expect(text).toMatch(/^Claimed in block \d+/);
    const gain = /\(\+([\d.,]+) /.exec(text)?.[1];
    expect(Number(gain?.replaceAll(",", ""))).toBeGreaterThan(0);
    await expect.poll(() => claimAll.isEnabled(), { timeout: 20_000 }).toBe(false);
    await page.screenshot({ path: screenshotPath("patient-rewards"), fullPage: true });
  });

  it("stewards #1 and #2 pass k = 20: propose, vote, queue, execute", async () => {
    await signInAs(1);
    await page.getByRole("link", { name: "Stewards" }).click();
    await page.waitForURL("**/steward");
    const k = page.getByTestId("standard-k");
    await expect.poll(() => k.textContent(), { timeout: 30_000 }).toBe("k = 11");
    await expect.poll(() => page.getByTestId("my-datasets").count(), { timeout: 20_000 }).toBe(1);

    await page.getByTestId("proposal-kind").selectOption("minCellSize");
    await page.getByTestId("proposal-value").fill("20");
    await page.getByTestId("proposal-description").fill("Raise the minimum cell size to 20");
    await page.getByTestId("propose").click();
    await expect
      .poll(() => page.getByTestId("propose-result").count(), { timeout: 30_000 })
      .toBe(1);
    const proposal = page
      .getByTestId("proposal")
      .filter({ hasText: "Raise the minimum cell size to 20" });
    const state = proposal.getByTestId("proposal-state");
    // Shown once the operator's indexer mirrored ProposalCreated.
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe("PENDING");

    // Past the voting delay (1 block): voting opens.
    await anvil("anvil_mine", ["0x2"]);
    await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe("ACTIVE");
    await proposal.getByRole("button", { name: "Vote for" }).click();
    await expect
      .poll(() => proposal.getByTestId("proposal-result").textContent(), { timeout: 30_000 })
      .toMatch(/You voted for in block \d+/);

    await signInAs(2);
    await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe("ACTIVE");
    await proposal.getByRole("button", { name: "Vote for" }).click();
    await expect
      .poll(() => proposal.getByTestId("proposal-result").textContent(), { timeout: 30_000 })
      .toMatch(/You voted for in block \d+/);
    await expect
      .poll(() => proposal.getByTestId("tally").textContent(), { timeout: 30_000 })
      .toMatch(/For 2 · Against 0 · Abstain 0/);

    // Past the voting period (20 blocks): the proposal passed.
    await anvil("anvil_mine", ["0x15"]);
    await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe("SUCCEEDED");
    await proposal.getByRole("button", { name: "Queue" }).click();
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe("QUEUED");

    // Past the timelock delay.
    await anvil("evm_increaseTime", [5]);
    await anvil("evm_mine", []);
    await proposal.getByRole("button", { name: "Execute" }).click();
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe("EXECUTED");
    await expect.poll(() => k.textContent(), { timeout: 30_000 }).toBe("k = 20");
    await expect
      .poll(() => page.getByTestId("standards-sync").textContent(), { timeout: 30_000 })
      .toBe("Queries run with these values.");
    await page.screenshot({ path: screenshotPath("steward"), fullPage: true });
    expect(browserErrors).toEqual([]);
  });
});
