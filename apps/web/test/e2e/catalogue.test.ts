import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import type { Browser, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// The researcher's first steps in real Chromium against the real dev stack: the home page,
// the catalogue with search, and Sign-In with Ethereum with a dev account.
let stack: RunningStack | undefined;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];

const demoTitles = [
  "Northbridge Cardiometabolic Cohort",
  "Lakeside Respiratory Registry",
  "Coastal Primary Care Panel",
];

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startDevStack(300);
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

describe("researcher in the browser", () => {
  it("sees the governed standards and the demo datasets on the home page", async () => {
    await page.goto(`${stack?.url}/`);
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await expect.poll(() => page.getByTestId("min-cell-size").textContent()).toBe("k = 11");
    for (const title of demoTitles) {
      expect(await page.getByText(title).count()).toBeGreaterThan(0);
    }
    await page.screenshot({ path: screenshotPath("home"), fullPage: true });
  });

  it("browses the catalogue and searches it", async () => {
    await page.getByRole("link", { name: "Catalogue" }).click();
    await page.waitForURL("**/datasets");
    const cards = page.getByTestId("dataset-card");
    await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(3);
    for (const title of demoTitles) {
      await expect.poll(() => page.getByRole("heading", { name: title }).count()).toBe(1);
    }
    expect(await page.getByTestId("result-count").textContent()).toMatch(/^3 datasets/);
    expect(await cards.first().textContent()).toMatch(/Persons300Consented\d+/);
    expect(await page.getByText("Lakeside Registry", { exact: true }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath("catalogue"), fullPage: true });

    await page.getByRole("searchbox", { name: "Search datasets" }).fill("respiratory");
    await expect.poll(() => page.getByTestId("result-count").textContent()).toBe("1 dataset");
    expect(await cards.count()).toBe(1);
    expect(await cards.first().getByRole("heading").textContent()).toBe(
      "Lakeside Respiratory Registry",
    );
    await page.screenshot({ path: screenshotPath("catalogue-search"), fullPage: true });
  });

  it("signs in with dev account #4 (researcher) and out again", async () => {
    const researcher = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 4)).address;
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("dev-account").selectOption("4");
    await page.screenshot({ path: screenshotPath("sign-in") });
    await page.getByTestId("dev-sign-in").click();
    const signedIn = page.getByTestId("signed-in-address");
    await expect.poll(() => signedIn.getAttribute("title"), { timeout: 20_000 }).toBe(researcher);
    expect(await signedIn.textContent()).toBe(`${researcher.slice(0, 6)}…${researcher.slice(-4)}`);
    expect(await page.locator(".account .badge").allTextContents()).toEqual(["researcher"]);
    await page.screenshot({ path: screenshotPath("signed-in"), fullPage: true });

    // The API route runs the compute engine inside the Next.js server: free feasibility counts.
    const feasibility = await page.evaluate(async () => {
      const input = encodeURIComponent(JSON.stringify({ json: { search: "respiratory" } }));
      const list = await (await fetch(`/api/trpc/dataset.list?input=${input}`)).json();
      const datasetId = list.result.data.json.items[0].id;
      const response = await fetch("/api/trpc/dataset.feasibility", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { datasetId, cohort: { output: { groupBy: ["sex"] } } } }),
      });
      return { status: response.status, body: JSON.stringify(await response.json()) };
    });
    expect(feasibility, feasibility.body).toMatchObject({ status: 200 });
    expect(feasibility.body).toMatch(/"queryHash":"0x[0-9a-f]{64}"/);
    expect(feasibility.body).toMatch(/"minCellSize":22/);

    // The session is a cookie: it survives a reload.
    await page.reload();
    await expect.poll(() => signedIn.getAttribute("title"), { timeout: 20_000 }).toBe(researcher);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Sign in" }).count()).toBe(1);
    expect(browserErrors).toEqual([]);
  });
});
