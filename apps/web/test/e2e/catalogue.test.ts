import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import type { Browser, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAs } from "./actions";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// The researcher's first steps in real Chromium against the real dev stack: the home page,
// the server-rendered catalogue with its search, filters and URL state, and Sign-In with
// Ethereum with a dev account.
let stack: RunningStack | undefined;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];

const demoTitles = [
  "Northbridge Cardiometabolic Cohort",
  "Lakeside Respiratory Registry",
  "Coastal Primary Care Panel",
  "Eunomia GiBleed (OMOP CDM)",
];

const resultCount = () => page.getByTestId("result-count").textContent();
/** The condition filter's row (checkbox, label, dataset count) for a condition label. */
const conditionRow = (label: string) =>
  page.getByRole("group", { name: "Conditions" }).locator("label", { hasText: label });

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

  it("browses the server-rendered catalogue and searches it", async () => {
    await page.getByRole("link", { name: "Catalogue" }).click();
    await page.waitForURL("**/datasets");
    const cards = page.getByTestId("dataset-card");
    await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(4);
    for (const title of demoTitles) {
      await expect.poll(() => page.getByRole("heading", { name: title }).count()).toBe(1);
    }
    expect(await resultCount()).toMatch(/^4 datasets/);
    const card = (title: string) =>
      cards.filter({ has: page.getByRole("heading", { name: title }) });
    expect(await card("Lakeside Respiratory Registry").textContent()).toMatch(
      /Persons300Consented\d+/,
    );
    // The fourth: OMOP's Eunomia sample, imported by the dev stack as a steward would.
    expect(await card("Eunomia GiBleed (OMOP CDM)").textContent()).toMatch(
      /Persons2,694Consented[\d,]+/,
    );
    // Lakeside's steward publishes both.
    expect(await page.getByText("Lakeside Registry", { exact: true }).count()).toBe(2);
    // The filters offer what the listed datasets have, with counts (eight conditions: all shown).
    expect(await page.getByRole("checkbox").count()).toBe(8);
    expect(await conditionRow("Type 2 diabetes mellitus").textContent()).toBe(
      "Type 2 diabetes mellitus2",
    );
    await page.screenshot({ path: screenshotPath("catalogue"), fullPage: true });

    // The first page is in the HTML itself: no client fetch is needed to see the datasets.
    const html = await (await fetch(`${stack?.url}/datasets?q=respiratory`)).text();
    expect(html).toContain("Lakeside Respiratory Registry");
    expect(html).not.toContain("Coastal Primary Care Panel");

    await page.getByRole("searchbox", { name: "Search datasets" }).fill("respiratory");
    await page.getByRole("searchbox", { name: "Search datasets" }).press("Enter");
    await page.waitForURL("**/datasets?q=respiratory");
    await expect.poll(resultCount).toBe("1 dataset of 4");
    expect(await cards.count()).toBe(1);
    expect(await cards.first().getByRole("heading").textContent()).toBe(
      "Lakeside Respiratory Registry",
    );
    await page.screenshot({ path: screenshotPath("catalogue-search"), fullPage: true });
    await page.getByRole("link", { name: "Clear filters" }).first().click();
    await page.waitForURL(/\/datasets$/);
    await expect.poll(resultCount).toBe("4 datasets");
  });

  it("narrows by condition, price and size, keeps every filter in the URL, and goes back", async () => {
    const cards = page.getByTestId("dataset-card");
    await conditionRow("Type 2 diabetes mellitus").getByRole("checkbox").check();
    await page.waitForURL("**/datasets?condition=ICD10%3AE11");
    await expect.poll(resultCount).toBe("2 datasets of 4");
    await conditionRow("Asthma").getByRole("checkbox").check();
    await page.waitForURL("**/datasets?condition=ICD10%3AE11&condition=ICD10%3AJ45");
    await expect.poll(resultCount).toBe("3 datasets of 4");
    await page.goBack();
    await expect.poll(resultCount).toBe("2 datasets of 4");
    expect(await conditionRow("Asthma").getByRole("checkbox").isChecked()).toBe(false);
    await page.getByRole("link", { name: "Clear filters" }).first().click();
    await expect.poll(resultCount).toBe("4 datasets");

    // Price 150-180 leaves Lakeside (180); Northbridge is 250, Coastal 120 and Eunomia 90.
    await page.getByLabel("Minimum price").fill("150");
    await page.getByLabel("Maximum price").fill("200");
    await page.getByRole("button", { name: "Apply ranges" }).click();
    await page.waitForURL("**/datasets?minPrice=150&maxPrice=200");
    await expect.poll(resultCount).toBe("1 dataset of 4");
    expect(await cards.first().getByRole("heading").textContent()).toBe(
      "Lakeside Respiratory Registry",
    );

    // Every synthetic demo cohort has 300 persons: at least 301 matches none in that price range.
    await page.getByLabel("Minimum persons").fill("301");
    await page.getByRole("button", { name: "Apply ranges" }).click();
    await page.waitForURL("**/datasets?minPersons=301&minPrice=150&maxPrice=200");
    await expect
      .poll(() => page.getByTestId("empty").textContent())
      .toContain("No dataset matches these filters.");
    expect(await cards.count()).toBe(0);
    await page.screenshot({ path: screenshotPath("catalogue-empty"), fullPage: true });

    // Back restores the previous view, typed bounds included; forward the empty one.
    await page.goBack();
    await page.waitForURL("**/datasets?minPrice=150&maxPrice=200");
    await expect.poll(resultCount).toBe("1 dataset of 4");
    expect(await page.getByLabel("Minimum persons").inputValue()).toBe("");
    expect(await page.getByLabel("Minimum price").inputValue()).toBe("150");
    await page.goForward();
    await expect.poll(() => cards.count()).toBe(0);

    // A bound the size range cannot hold is refused in place, with a reason.
    await page.getByLabel("Minimum persons").fill("300");
    await page.getByLabel("Maximum persons").fill("10");
    await page.getByRole("button", { name: "Apply ranges" }).click();
    expect(await page.getByTestId("range-problem").textContent()).toBe(
      "The smallest size is above the largest.",
    );
    expect(page.url()).toMatch(/minPersons=301/);
  });

  it("reproduces a linked view: conditions, size, schema version and sort from the URL", async () => {
    const cards = page.getByTestId("dataset-card");
    await page.goto(
      `${stack?.url}/datasets?condition=ICD10%3AE11&maxPersons=300&schema=omop-lite%2F2&sort=price-asc`,
    );
    await expect.poll(resultCount).toBe("2 datasets of 4");
    expect(await cards.getByRole("heading").allTextContents()).toEqual([
      "Coastal Primary Care Panel",
      "Northbridge Cardiometabolic Cohort",
    ]);
    expect(await conditionRow("Type 2 diabetes mellitus").getByRole("checkbox").isChecked()).toBe(
      true,
    );
    expect(await page.getByRole("combobox", { name: "Sort" }).inputValue()).toBe("price-asc");
    expect(await page.getByRole("combobox", { name: "Schema version" }).inputValue()).toBe(
      "omop-lite/2",
    );
    expect(await page.getByLabel("Maximum persons").inputValue()).toBe("300");
    await page.screenshot({ path: screenshotPath("catalogue-filtered"), fullPage: true });

    // Sorting keeps the filters.
    await page.getByRole("combobox", { name: "Sort" }).selectOption("price-desc");
    await page.waitForURL(/sort=price-desc/);
    await expect
      .poll(() => cards.getByRole("heading").allTextContents())
      .toEqual(["Northbridge Cardiometabolic Cohort", "Coastal Primary Care Panel"]);
    expect(page.url()).toContain("condition=ICD10%3AE11&maxPersons=300&schema=omop-lite%2F2");
  });

  it("explains a link with bad parameters instead of failing, and a page past the end", async () => {
    await page.goto(`${stack?.url}/datasets?minPersons=lots&sort=cheapest&condition=E11`);
    const problems = page.getByTestId("param-problems");
    expect(await problems.getByRole("listitem").allTextContents()).toEqual([
      'condition: "E11" must be VOCABULARY:CODE, e.g. ICD10:E11',
      "minPersons: must be a whole number such as 1000",
      "sort: must be one of newest, oldest, price-asc, price-desc, persons-desc, title",
    ]);
    await expect.poll(resultCount).toBe("4 datasets");
    await page.screenshot({ path: screenshotPath("catalogue-bad-link"), fullPage: true });

    await page.goto(`${stack?.url}/datasets?page=4`);
    expect(await page.getByTestId("empty").textContent()).toContain(
      "Page 4 is past the last page (1).",
    );
    await page.getByRole("link", { name: "Go to the first page" }).click();
    await expect.poll(() => page.getByTestId("dataset-card").count()).toBe(4);
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
  it("creates an API token, sees it once, uses it from a script, revokes it (issue 13)", async () => {
    await page.goto(`${stack?.url}/datasets`);
    await signInAs(page, 4);
    await page.getByRole("link", { name: "API tokens" }).click();
    await page.waitForURL(/\/account\/tokens$/);
    await page.getByTestId("token-form").waitFor({ timeout: 30_000 });

    // Bad input: a clear message and the form keeps what was typed.
    await page.getByRole("button", { name: "Create token" }).click();
    expect(await page.getByTestId("token-error").textContent()).toMatch(/^name: /);

    await page.getByLabel("Name").fill("e2e notebook");
    await page.getByRole("button", { name: "Create token" }).click();
    const secretBox = page.getByTestId("token-secret");
    await secretBox.waitFor({ timeout: 20_000 });
    const secret = (await secretBox.textContent()) ?? "";
    expect(secret).toMatch(/^oc_[A-Za-z0-9_-]{43}$/);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: stack?.url,
    });
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = page.getByTestId("token-row").filter({ hasText: "e2e notebook" });
    await expect.poll(() => row.getByTestId("token-state").textContent()).toBe("active");
    await page.screenshot({ path: screenshotPath("api-token-created"), fullPage: true });

    // The secret works from outside the browser, through the documented HTTP API.
    const me = await fetch(`${stack?.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(me.status).toBe(200);
    const document = await (await fetch(`${stack?.url}/api/openapi.json`)).json();
    expect(document.openapi).toBe("3.1.0");

    // Shown once: after Done or a reload it is gone from the page, only its prefix is listed.
    await page.getByRole("button", { name: "Done" }).click();
    await page.reload();
    await row.waitFor({ timeout: 20_000 });
    expect(await page.content()).not.toContain(secret);
    expect(await row.textContent()).toContain(secret.slice(0, 9));

    page.once("dialog", (dialog) => void dialog.accept());
    await row.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => row.getByTestId("token-state").textContent()).toBe("revoked");
    const refused = await fetch(`${stack?.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      "This API token was revoked.",
    );

    // The reference page lists the operations.
    await page.goto(`${stack?.url}/docs/api`);
    expect(await page.getByTestId("api-operations").textContent()).toContain(
      "POST /api/v1/queries",
    );
    expect(browserErrors).toEqual([]);
  });
});
