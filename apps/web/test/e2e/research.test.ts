import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import type { Browser, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportFailures, runSql } from "./actions";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// Issue 6, scenario (1) in real Chromium against the real dev stack: researcher #4 signs in,
// finds a dataset in the catalogue, opens it, gets a free feasibility count, buys a pass with
// a permit, runs SQL and sees aggregates with suppressed groups marked, a refusal with its
// rule, and the receipt.
let stack: RunningStack | undefined;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];
const TITLE = "Northbridge Cardiometabolic Cohort";

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startDevStack(300);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => browserErrors.push(error.message));
}, 400_000);

reportFailures(() => ({ page, stack }));

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("researcher buys access and queries (issue 6, scenario 1)", () => {
  it("signs in, finds the dataset in the catalogue and opens it", async () => {
    const researcher = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 4)).address;
    await page.goto(`${stack?.url}/datasets`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("dev-account").selectOption("4");
    await page.getByTestId("dev-sign-in").click();
    await expect
      .poll(() => page.getByTestId("signed-in-address").getAttribute("title"), { timeout: 20_000 })
      .toBe(researcher);

    await page.getByRole("searchbox", { name: "Search datasets" }).fill("cardiometabolic");
    await page.getByRole("searchbox", { name: "Search datasets" }).press("Enter");
    await expect.poll(() => page.getByTestId("dataset-card").count(), { timeout: 30_000 }).toBe(1);
    await page.getByRole("link", { name: TITLE }).click();
    await page.waitForURL(/\/datasets\/0x[0-9a-f]{64}$/);
    await page.getByRole("heading", { name: TITLE }).waitFor();
    await page.getByTestId("data-card").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("data-card").textContent()).toMatch(/person.*year_of_birth/s);
    expect(await page.getByTestId("privacy-k").textContent()).toBe("k = 11");
    // How precise a count will be, from the standards in force (ε 0.1 of a budget of 5).
    const precision = page.getByTestId("precision");
    expect(await precision.textContent()).toMatch(/Each researcher gets 50 queries on a dataset/);
    expect(await precision.locator("thead th").allTextContents()).toEqual([
      "a count of",
      "50 persons",
      "200 persons",
      "1,000 persons",
      "10,000 persons",
    ]);
    const cells = await precision.locator("tbody td").allTextContents();
    expect(cells.filter((cell) => /^[\d.<]+% \(±\d+\)$/.test(cell))).toHaveLength(8);
  });

  it("gets a free feasibility count, then buys access with one permit", async () => {
    await page.getByRole("button", { name: "Count (free)" }).click();
    const feasibility = page.getByTestId("feasibility-result");
    await feasibility.getByRole("table").waitFor({ timeout: 60_000 });
    expect(await feasibility.locator("thead").textContent()).toMatch(/^sex/);
    await expect
      .poll(() => page.getByTestId("feasibility-budget").textContent())
      .not.toMatch(/^ε 10$/);

    expect(await page.getByTestId("access-until").count()).toBe(0);
    // The dev stack accredits researchers #4 and #5 at deploy.
    await expect
      .poll(() => page.getByTestId("credential-status").textContent(), { timeout: 30_000 })
      .toMatch(/^Researcher credential #\d+/);
    await page.getByTestId("buy-access").click();
    await page.getByTestId("purchase-mined").waitFor({ timeout: 60_000 });
    await page.getByTestId("access-until").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("access-until").textContent()).toMatch(/^Access until .+ UTC$/);
    await page.screenshot({ path: screenshotPath("dataset"), fullPage: true });
  });

  it("runs SQL in the workspace: aggregates, suppression marked, refusals by rule, receipt", async () => {
    await page.getByTestId("open-workspace").click();
    await page.waitForURL(/\/query$/);
    await page.getByTestId("sql-editor").waitFor({ timeout: 30_000 });
    await page.getByTestId("budget-remaining").waitFor();
    const before = await page.getByTestId("budget-remaining").textContent();

    // The SQL editor is CodeMirror (loaded lazily), and completes the data card's columns.
    const editor = page.locator(".cm-content[data-testid=sql-editor]");
    await editor.waitFor({ timeout: 30_000 });
    await editor.click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("SELECT year_of");
    const completion = page.locator(".cm-tooltip-autocomplete");
    await completion.waitFor({ timeout: 10_000 });
    expect(await completion.textContent()).toContain("year_of_birth");
    const selected = completion.locator("li[aria-selected=true]");
    await expect.poll(() => selected.textContent()).toMatch(/^year_of_birth/);
    // CodeMirror ignores an Enter within its interaction delay (75 ms) of the list opening.
    await page.waitForTimeout(200);
    await page.keyboard.press("Enter");
    await expect.poll(() => editor.textContent()).toBe("SELECT year_of_birth");

    await runSql(page, "SELECT sex, count(*) FROM person GROUP BY sex");
    const result = page.getByTestId("result");
    await result.waitFor();
    // Bare columns keep their names; every noisy count comes with ± its 95% half-width.
    expect(await result.locator("thead").textContent()).toMatch(/^sex\s*count$/);
    const rows = await result.locator("tbody tr").allTextContents();
    expect(rows.some((row) => /^F\d+ ± [\d.]+( ⚠)?$/.test(row))).toBe(true);
    expect(await result.getByTestId("plus-minus").count()).toBe(2);
    expect(await page.getByTestId("uncertainty-note").textContent()).toMatch(/95% interval/);
    await page.getByTestId("receipt").waitFor();
    expect(await page.getByTestId("receipt-hash").textContent()).toMatch(/^0x[0-9a-f]{64}$/);
    await expect.poll(() => page.getByTestId("budget-remaining").textContent()).not.toBe(before);

    await runSql(page, "SELECT person_id FROM person");
    await page.getByTestId("refusal-rule").waitFor();
    expect(await page.getByTestId("refusal-rule").textContent()).toMatch(/^[a-z-]+$/);

    // A syntax error is marked where DuckDB's parser says it is (never its message).
    await runSql(page, "SELECT sex, count(*) FRM person");
    await expect.poll(() => page.getByTestId("refusal-rule").textContent()).toBe("syntax");
    expect(await page.getByTestId("refusal").textContent()).toMatch(/at line 1, column 26/);
    await page.getByTestId("refusal-mark").waitFor({ timeout: 10_000 });
    expect(await page.getByTestId("refusal-mark").textContent()).toBe("person");

    await runSql(
      page,
      "SELECT floor(year_of_birth / 10) * 10 AS decade, count(*) FROM person GROUP BY decade",
    );
    await page.getByTestId("suppressed-rows").waitFor();
    expect(await page.getByTestId("suppressed-rows").textContent()).toMatch(
      /noisy person count is under k = 11 are withheld, and how many were withheld is not shown/,
    );
    await page.getByTestId("result-chart").waitFor();
    // Each bar carries its 95% interval as an error bar.
    expect(await page.getByTestId("error-bar").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("error-bar").count()).toBe(
      await page.getByTestId("result").locator("tbody tr:not([data-testid])").count(),
    );
    await page.getByTestId("receipt").waitFor();
    await expect
      .poll(() => page.getByTestId("history").locator("li").count(), { timeout: 10_000 })
      .toBe(4);
    await page.screenshot({ path: screenshotPath("query-workspace"), fullPage: true });
    expect(browserErrors).toEqual([]);
  });
});
