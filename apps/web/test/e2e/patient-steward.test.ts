import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import type { Browser, Page } from "playwright-core";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buyAccessOnChain,
  datasetIdOf,
  passProposalInPage,
  reportFailures,
  runSql,
  signInAs,
} from "./actions";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// Issue 6, scenarios (2) and (3) in real Chromium against the real dev stack: the patient's
// consent (signed in the browser by her consent identity, relayed by the dev stack's operator)
// and what the researcher's same query shows afterwards; a first visit (issue 16: identities,
// opt in and out, who used my data, pooled rewards claimed by the relayer); the stewards' governance
// (propose, vote, queue, execute k = 20) and the next query computed with k = 20; and a
// steward publishing a new dataset, a new version and its enrolments.
let stack: RunningStack;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];
const NORTHBRIDGE = "Northbridge Cardiometabolic Cohort";
const COUNT_SQL = "SELECT count(*) AS n FROM person";
/** Short reward epochs, so an epoch that pays Priya closes within the test. */
const EPOCH_SECONDS = 15;
let northbridge: Hex;

beforeAll(async () => {
  browser = await launchChromium();
  // Short reward epochs, so a purchase pays Priya within the test.
  stack = await startDevStack(300, { OPERATOR_EPOCH_SECONDS: String(EPOCH_SECONDS) });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => browserErrors.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400) browserErrors.push(`${response.status()} ${response.url()}`);
  });
}, 400_000);

reportFailures(() => ({ page, stack }));

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Runs COUNT_SQL in Northbridge's workspace as the signed-in researcher; its receipt's snapshot. */
async function countNorthbridge(): Promise<{ block: number; consented: number; hash: string }> {
  await page.goto(`${stack.url}/datasets/${northbridge}/query`);
  await page.getByTestId("sql-editor").waitFor({ timeout: 30_000 });
  const previous = (await page.getByTestId("receipt-hash").count())
    ? await page.getByTestId("receipt-hash").textContent()
    : null;
  await runSql(page, COUNT_SQL);
  await expect
    .poll(() => page.getByTestId("receipt-hash").textContent(), { timeout: 30_000 })
    .not.toBe(previous);
  const text = (await page.getByTestId("consent-snapshot").textContent()) ?? "";
  const match = /^block (\d+) · ([\d,]+) patients consented$/.exec(text);
  expect(match, text).not.toBeNull();
  return {
    block: Number(match?.[1]),
    consented: Number(match?.[2]?.replaceAll(",", "")),
    hash: (await page.getByTestId("receipt-hash").textContent()) ?? "",
  };
}

describe("patient and stewards in the browser", () => {
  it("Maria opts out; the researcher's same query afterwards leaves her out", async () => {
    await page.goto(`${stack.url}/`);
    await signInAs(page, 4);
    northbridge = await datasetIdOf(page, "Northbridge");
    await buyAccessOnChain(stack, 4, northbridge);
    const before = await countNorthbridge();
    expect(before.consented).toBeGreaterThan(100);

    await signInAs(page, 6);
    await page.getByRole("link", { name: "My data" }).click();
    await page.waitForURL("**/patient");
    const enrolment = page.getByTestId("enrolment").filter({ hasText: NORTHBRIDGE });
    await enrolment.waitFor({ timeout: 30_000 });
    // Her records were in the researcher's first query.
    const usedRows = page.getByTestId("used-table").locator("tbody tr", { hasText: NORTHBRIDGE });
    await expect.poll(() => usedRows.count(), { timeout: 30_000 }).toBe(1);
    const toggle = enrolment.getByTestId("consent-toggle");
    expect(await toggle.getAttribute("aria-checked")).toBe("true");
    expect(await enrolment.getByTestId("consent-state").textContent()).toBe("Opted in");

    await toggle.click();
    // The relayer (the dev stack's operator) picks it up: Relayed, then Confirmed.
    const progress = enrolment.getByTestId("consent-progress");
    await expect
      .poll(() => progress.textContent(), { timeout: 30_000 })
      .toMatch(/signs|Signed|Relayed|Applied|Confirmed/);
    await expect.poll(() => progress.getAttribute("data-step"), { timeout: 60_000 }).toBe("3");
    expect(await progress.textContent()).toMatch(/Confirmed: opted out on chain/);
    expect(await toggle.getAttribute("aria-checked")).toBe("false");
    expect(await enrolment.getByTestId("consent-state").textContent()).toBe("Opted out");
    expect(await page.getByRole("heading", { name: "Rewards" }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath("patient"), fullPage: true });

    // The researcher runs the very same query again: it runs over one patient fewer...
    await signInAs(page, 4);
    const after = await countNorthbridge();
    expect(after.consented).toBe(before.consented - 1);
    expect(after.block).toBeGreaterThan(before.block);
    expect(after.hash).not.toBe(before.hash);
    // ...and Maria's records were not in it: her list still shows the first query only.
    await signInAs(page, 6);
    await page.goto(`${stack.url}/patient`);
    await page.getByTestId("used-table").waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1_000);
    expect(await usedRows.count()).toBe(1);
  }, 180_000);

  it("Priya opts in to two datasets under identities of their own, opts out of one, sees who used her data, and claims from both to her wallet", async () => {
    // Issue 16. Priya (#8) is enrolled by her wallet but has never visited: no identity yet.
    const priya = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 8)).address.toLowerCase();
    await signInAs(page, 8);
    await page.goto(`${stack.url}/patient`);
    const row = (title: string) => page.getByTestId("enrolment").filter({ hasText: title });
    const lakeside = row("Lakeside Respiratory Registry");
    const coastal = row("Coastal Primary Care Panel");
    await lakeside.waitFor({ timeout: 30_000 });
    expect(await lakeside.getByTestId("consent-identity").textContent()).toMatch(
      /No consent identity yet/,
    );
    // Opting in: her wallet signs once per dataset (the identity), the identity signs the rest.
    for (const enrolment of [lakeside, coastal]) {
      await enrolment.getByTestId("consent-toggle").click();
      await expect
        .poll(() => enrolment.getByTestId("consent-progress").getAttribute("data-step"), {
          timeout: 60_000,
        })
        .toBe("3");
      expect(await enrolment.getByTestId("consent-state").textContent()).toBe("Opted in");
    }
    const identities = await Promise.all(
      [lakeside, coastal].map((enrolment) =>
        enrolment.getByTestId("consent-identity").locator("code").getAttribute("title"),
      ),
    );
    // Two identities, neither of them her wallet.
    expect(new Set([...identities, priya]).size).toBe(3);
    expect(await page.getByTestId("payout-address").textContent()).toMatch(/your wallet/);

    // A researcher buys Lakeside and counts it: the purchase funds the pool, the query shows
    // in Priya's "who used my data" (and nowhere in her rewards).
    await signInAs(page, 4);
    const lakesideId = await datasetIdOf(page, "Lakeside");
    await buyAccessOnChain(stack, 4, lakesideId);
    const submitted = await page.evaluate(async (id) => {
      const response = await fetch("/api/trpc/query.submit", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { datasetId: id, sql: "SELECT count(*) AS n FROM person" } }),
      });
      return { status: response.status, body: await response.text() };
    }, lakesideId);
    expect(submitted.status, submitted.body).toBe(200);

    await signInAs(page, 8);
    await page.goto(`${stack.url}/patient`);
    const usedRows = page.getByTestId("used-table").locator("tbody tr");
    await expect.poll(() => usedRows.count(), { timeout: 30_000 }).toBe(1);
    expect(await usedRows.first().textContent()).toMatch(/Lakeside Respiratory Registry/);

    // Purchases of an epoch pay the consents active from its start to its end (the whole pool
    // goes to that epoch's whole-epoch consents, the operator's rule since payments carry no
    // private count). Once an epoch has begun after both her consents, the researcher extends
    // the Lakeside pass: that epoch pays both shares, as one payout to her wallet.
    await page.waitForTimeout(2 * EPOCH_SECONDS * 1_000 + 2_000);
    await buyAccessOnChain(stack, 4, lakesideId);
    const bothPaid = async () => {
      await page.reload();
      await page.getByTestId("claim-all").waitFor({ timeout: 30_000 });
      const table = page.getByTestId("rewards-table");
      if ((await table.count()) === 0) return false;
      const text = (await table.textContent()) ?? "";
      return (
        text.includes("Lakeside Respiratory Registry") &&
        text.includes("Coastal Primary Care Panel") &&
        (await page.getByTestId("claim-all").isEnabled())
      );
    };
    await expect.poll(bothPaid, { timeout: 120_000, interval: 3_000 }).toBe(true);

    // She opts out of Lakeside: signed by that dataset's identity, relayed.
    await lakeside.getByTestId("consent-toggle").click();
    await expect
      .poll(() => lakeside.getByTestId("consent-progress").getAttribute("data-step"), {
        timeout: 60_000,
      })
      .toBe("3");
    expect(await lakeside.getByTestId("consent-state").textContent()).toBe("Opted out");
    expect(await coastal.getByTestId("consent-state").textContent()).toBe("Opted in");

    // Claim all: the relayer sends it, the tokens land in her wallet.
    const payoutRows = page.getByTestId("payouts-table").locator("tbody tr");
    const claimableEpochs = async () =>
      (
        await payoutRows.evaluateAll((rows) =>
          rows.map((r) => [...r.querySelectorAll("td")].map((cell) => cell.textContent ?? "")),
        )
      )
        .filter((cells) => cells[3] === "Claimable")
        .map((cells) => cells[0]);
    const claimable = await claimableEpochs();
    expect(claimable.length).toBeGreaterThan(0);
    await page.getByTestId("claim-all").click();
    const result = page.getByTestId("claim-result");
    await result.waitFor({ timeout: 60_000 });
    const text = (await result.textContent()) ?? "";
    expect(text).toMatch(/^Claimed by the relayer/);
    const gain = /\(\+([\d.,]+) /.exec(text)?.[1];
    expect(Number(gain?.replaceAll(",", ""))).toBeGreaterThan(0);
    await expect
      .poll(async () => (await claimableEpochs()).filter((epoch) => claimable.includes(epoch)), {
        timeout: 20_000,
      })
      .toEqual([]);
    await page.screenshot({ path: screenshotPath("patient-identities"), fullPage: true });
  }, 300_000);

  it("stewards #1 and #2 pass k = 20: propose, vote, queue, execute", async () => {
    await signInAs(page, 1);
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
    await passProposalInPage(page, stack, "Raise the minimum cell size to 20");
    await expect.poll(() => k.textContent(), { timeout: 30_000 }).toBe("k = 20");
    await expect
      .poll(() => page.getByTestId("standards-sync").textContent(), { timeout: 30_000 })
      .toBe("Queries run with these values.");
    await page.screenshot({ path: screenshotPath("steward"), fullPage: true });

    // The researcher's next query is computed with k = 20.
    await signInAs(page, 4);
    await page.goto(`${stack.url}/datasets/${northbridge}/query`);
    await page.getByTestId("sql-editor").waitFor({ timeout: 30_000 });
    await runSql(
      page,
      "SELECT floor(year_of_birth / 10) * 10 AS decade, count(*) FROM person GROUP BY decade",
    );
    await expect
      .poll(() => page.getByTestId("receipt-parameters").textContent(), { timeout: 30_000 })
      .toMatch(/^k = 20, rounded to 5/);
    await page.getByTestId("suppressed-rows").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("suppressed-rows").textContent()).toMatch(
      /noisy person count is under k = 20 are withheld/,
    );
  });

  it("steward #1 publishes a new dataset, a second version and its enrolments", async () => {
    const root = join(stack.stateDir, "datasets");
    synth(join(root, "riverside", "v1"), 240, 41);
    synth(join(root, "riverside", "v2"), 260, 42);
    await page.goto(`${stack.url}/steward`);
    await signInAs(page, 1);
    await expect.poll(() => page.getByTestId("steward-row").count(), { timeout: 30_000 }).toBe(3);

    // Version 1, as a new dataset.
    const folder = page.getByTestId("publish-folder");
    await folder.waitFor({ timeout: 30_000 });
    const options = await folder.locator("option").allTextContents();
    // The demo datasets' folders are registered already: only the new ones are offered.
    expect(options.filter((text) => text.startsWith("riverside/"))).toHaveLength(2);
    expect(options.some((text) => text.includes("northbridge"))).toBe(false);
    await folder.selectOption("riverside/v1");
    await expect
      .poll(() => page.getByTestId("inspected").textContent(), { timeout: 30_000 })
      .toMatch(/^Verified: 240 persons/);
    await page.getByTestId("publish-title").fill("Riverside Renal Registry");
    await page.getByTestId("publish-description").fill("Adults followed for kidney disease.");
    // A malformed condition is refused before anything is signed.
    await page.getByTestId("publish-conditions").fill("kidney disease");
    await page.getByTestId("publish").click();
    expect(await page.getByTestId("publish-error").textContent()).toMatch(/^conditions\.0\.code/);
    expect(await page.getByTestId("publish-steps").count()).toBe(0);
    await page.getByTestId("publish-conditions").fill("ICD10:N18 Chronic kidney disease");
    await page.getByTestId("publish-price").fill("40");
    await page.getByTestId("publish").click();
    await page.getByTestId("publish-result").waitFor({ timeout: 60_000 });
    const steps = await page.getByTestId("publish-steps").locator("li").allTextContents();
    expect(steps).toHaveLength(3);
    expect(steps[0]).toMatch(/^List the dataset on chain Listed in block \d+\.$/);
    expect(steps[1]).toMatch(/^Register its files 240 persons in \d+ tables\.$/);
    expect(steps[2]).toMatch(/^Publish its metadata In the catalogue\.$/);

    // Version 2 of it.
    await page.reload();
    await page.getByTestId("publish-folder").selectOption("riverside/v2");
    await expect
      .poll(() => page.getByTestId("inspected").textContent(), { timeout: 30_000 })
      .toMatch(/^Verified: 260 persons/);
    const target = page.getByTestId("publish-target");
    const version2 = (await target.locator("option").allTextContents()).find((text) =>
      text.includes("Riverside Renal Registry"),
    );
    expect(version2).toBe("Version 2 of Riverside Renal Registry");
    await target.selectOption({ label: version2 as string });
    await page.getByTestId("publish").click();
    await page.getByTestId("publish-result").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("publish-steps").textContent()).toMatch(
      /Version 2 published in block \d+\..*260 persons/,
    );
    await expect.poll(() => page.getByTestId("no-folders").count(), { timeout: 20_000 }).toBe(1);

    // Its enrolments: two patients with fresh wallets; then a bad row refuses with its row.
    const row = page.getByTestId("my-datasets").locator("tr", { hasText: "Riverside" });
    const input = row.locator('input[type="file"]');
    const ids = personIds(join(root, "riverside", "v2"), 2);
    const wallet = () => privateKeyToAccount(generatePrivateKey()).address;
    const csv = ["person_id,patient_address", ...ids.map((id) => `${id},${wallet()}`)].join("\n");
    await input.setInputFiles({
      name: "enrolments.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(csv),
    });
    await expect
      .poll(() => row.getByTestId("import-result").textContent(), { timeout: 30_000 })
      .toBe("2 enrolled, 0 already enrolled; 2 in all.");
    await input.setInputFiles({
      name: "bad.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`${csv}\n999999999,${wallet()}`),
    });
    await expect
      .poll(() => row.getByTestId("import-error").textContent(), { timeout: 30_000 })
      .toMatch(/row 3.*rule unknown-person/);
    // That refusal is the only HTTP error the page met here, and it was meant.
    const refused = browserErrors.findIndex(
      (e) => e.startsWith("400 ") && e.includes("importEnrolments"),
    );
    expect(refused).toBeGreaterThanOrEqual(0);
    browserErrors.splice(refused, 1);
    await page.screenshot({ path: screenshotPath("steward-publish"), fullPage: true });

    // Researchers find it in the catalogue, at version 2.
    await page.goto(`${stack.url}/datasets`);
    await page.getByRole("searchbox", { name: "Search datasets" }).fill("riverside");
    await page.getByRole("searchbox", { name: "Search datasets" }).press("Enter");
    const card = page.getByTestId("dataset-card").filter({ hasText: "Riverside Renal Registry" });
    await card.waitFor({ timeout: 30_000 });
    expect(await card.textContent()).toMatch(/260/);
    expect(browserErrors).toEqual([]);
  }, 180_000);

  it("steward #1 imports Eunomia (OMOP CDM) and publishes it; a researcher counts GI bleeding after an NSAID by sex and age band", async () => {
    await page.goto(`${stack.url}/steward`);
    await signInAs(page, 1);
    // The dev stack placed the vendored Eunomia export in its import root.
    const source = page.getByTestId("dataset-import-source");
    await source.waitFor({ timeout: 30_000 });
    await source.selectOption("eunomia-gibleed");
    expect(await page.getByTestId("dataset-import-format").inputValue()).toBe("omop");
    await page.getByTestId("dataset-import-folder").fill("eunomia-web/v1");
    await page.getByTestId("dataset-import-title").fill("Eunomia GiBleed, imported in the browser");
    // Bad input first: this export's observation_period names persons its person table lacks.
    await page.getByTestId("dataset-import-start").click();
    await expect
      .poll(() => page.getByTestId("dataset-import-error").textContent(), { timeout: 60_000 })
      .toMatch(
        /^The import stopped, and no dataset folder was written: observation_period\.csv\.gz:\d+: refers to a patient who is not in the person table/,
      );
    await page.getByTestId("dataset-import-skip-orphans").check();
    await page.getByTestId("dataset-import-start").click();
    const imported = page.getByTestId("dataset-import-result");
    await imported.waitFor({ timeout: 90_000 });
    expect(await imported.textContent()).toMatch(
      /^Imported 2,694 persons into eunomia-web\/v1 \(omop-lite\/2, content hash 0x[0-9a-f]{16}/,
    );
    expect(await page.getByTestId("dataset-import-dropped").textContent()).toMatch(
      /observation_period rows about persons not in person \([\d,]+\): skipOrphans/,
    );
    await page.screenshot({ path: screenshotPath("steward-import"), fullPage: true });

    // Published through the same flow as any folder.
    const folder = page.getByTestId("publish-folder");
    await folder.waitFor({ timeout: 30_000 });
    await folder.selectOption("eunomia-web/v1");
    await expect
      .poll(() => page.getByTestId("inspected").textContent(), { timeout: 30_000 })
      .toMatch(/^Verified: 2,694 persons.*schema omop-lite\/2/);
    await page.getByTestId("publish-title").fill("Eunomia GiBleed, imported in the browser");
    await page
      .getByTestId("publish-description")
      .fill("OHDSI's Eunomia GiBleed sample, imported from OMOP CDM on the steward page.");
    await page
      .getByTestId("publish-conditions")
      .fill("SNOMED:74474003 Gastrointestinal hemorrhage");
    await page.getByTestId("publish-price").fill("30");
    await page.getByTestId("publish").click();
    await page.getByTestId("publish-result").waitFor({ timeout: 60_000 });
    const steps = await page.getByTestId("publish-steps").locator("li").allTextContents();
    expect(steps[1]).toMatch(/^Register its files 2,694 persons in \d+ tables\.$/);
    expect(steps[2]).toMatch(/^Publish its metadata In the catalogue\.$/);

    // A researcher buys the demo Eunomia (its patients enrolled and consented) and builds the
    // cohort: gastrointestinal hemorrhage (OMOP 192671) and its descendants, exposed to an
    // NSAID. Eunomia's vocabulary has no ATC class above its RxNorm ingredients, so the NSAID
    // set is its M01A ingredients, each with its products: celecoxib, diclofenac, ibuprofen,
    // naproxen.
    await signInAs(page, 4);
    const eunomia = await datasetIdOf(page, "NSAID");
    await buyAccessOnChain(stack, 4, eunomia);
    await page.goto(`${stack.url}/datasets/${eunomia}/query`);
    await page.getByRole("tab", { name: "Cohort builder" }).click({ timeout: 30_000 });
    const builder = page.getByTestId("cohort-builder");
    await builder.getByLabel("Condition codes").fill("192671");
    await builder.getByLabel("Drugs").fill("1118084 1124300 1177480 1115008");
    await builder.getByRole("checkbox", { name: "age band (10 y)" }).check();
    expect(await builder.getByRole("checkbox", { name: "sex" }).isChecked()).toBe(true);
    await builder.getByRole("button", { name: "Run cohort query" }).click();
    const result = page.getByTestId("result");
    await result.waitFor({ timeout: 60_000 });
    expect(await result.locator("thead th").allTextContents()).toEqual(
      expect.arrayContaining(["sex", "age_band"]),
    );
    const released = (await result.locator("tbody tr").allTextContents()).filter((text) =>
      /^[FM]/.test(text),
    );
    expect(released.length).toBeGreaterThan(0);
    for (const row of await result.locator("tbody tr").all()) {
      const cells = await row.locator("td").allTextContents();
      if (cells.length < 3) continue; // the withheld-groups note
      expect(["F", "M"]).toContain(cells[0]);
      // Noisy and rounded to the governed base (5): never an exact count.
      const persons = Number(/^[\d,]+/.exec(cells[2] ?? "")?.[0]?.replaceAll(",", ""));
      expect(persons % 5).toBe(0);
    }
    await page.screenshot({ path: screenshotPath("research-eunomia-cohort"), fullPage: true });
    expect(browserErrors).toEqual([]);
  }, 240_000);

  it("stewards accredit a new researcher in the page; a second address shares the budget; suspension refuses the next query", async () => {
    const started = Date.now();
    // Anvil #7 holds no credential (the dev stack accredits #4 and #5 only); #8 becomes its
    // second address.
    const [jonas, second] = ([7, 8] as const).map((index) =>
      privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)).address.toLowerCase(),
    ) as [string, string];
    await page.goto(`${stack.url}/steward`);
    await signInAs(page, 1);
    await page.getByTestId("proposal-kind").selectOption("accreditResearcher");
    await page.getByTestId("proposal-researcher").fill(jonas);
    await page.getByTestId("proposal-reference").fill("ONS-SR-2026-0107");
    await page.getByTestId("proposal-description").fill(`Accredit Jonas Berg (${jonas})`);
    await page.getByTestId("propose").click();
    await page.getByTestId("propose-result").waitFor({ timeout: 30_000 });
    await passProposalInPage(page, stack, "Accredit Jonas Berg", "on chain");

    // Jonas buys a pass in the page and runs a query: the budget meter moves.
    const coastal = await datasetIdOf(page, "Coastal");
    const remaining = page.getByTestId("budget-remaining");
    const buyAndOpenWorkspace = async (index: 7 | 8) => {
      await signInAs(page, index);
      await page.goto(`${stack.url}/datasets/${coastal}`);
      await expect
        .poll(() => page.getByTestId("credential-status").textContent(), { timeout: 30_000 })
        .toMatch(/^Researcher credential #\d+\. /);
      await page.getByTestId("buy-access").click();
      await page.getByTestId("purchase-mined").waitFor({ timeout: 60_000 });
      await page.goto(`${stack.url}/datasets/${coastal}/query`);
      await page.getByTestId("sql-editor").waitFor({ timeout: 30_000 });
      await remaining.waitFor({ timeout: 30_000 });
      return remaining.textContent();
    };
    const full = await buyAndOpenWorkspace(7);
    await runSql(page, "SELECT sex, count(*) AS n FROM person GROUP BY sex");
    await page.getByTestId("receipt").waitFor({ timeout: 30_000 });
    await expect.poll(() => remaining.textContent(), { timeout: 20_000 }).not.toBe(full);
    const afterJonas = await remaining.textContent();

    // He asks for his second wallet on his credential page; the stewards approve it.
    await page.goto(`${stack.url}/account/credential`);
    await page.getByTestId("request-address-input").fill(second);
    await page.getByTestId("request-address-submit").click();
    await page.getByTestId("request-address-sent").waitFor({ timeout: 30_000 });
    const secondRow = page.getByTestId(`credential-address-${second}`);
    await expect
      .poll(() => secondRow.textContent(), { timeout: 30_000 })
      .toMatch(/awaiting the stewards' approval$/);
    await signInAs(page, 1);
    await page.goto(`${stack.url}/steward`);
    await page.getByTestId(`credential-approve-${second}`).click();
    await page.getByTestId("credential-proposed").waitFor({ timeout: 30_000 });
    await passProposalInPage(page, stack, `Add ${second} to researcher credential`, "on chain");

    // The second address finds the budget Jonas already spent from, and spends from it.
    expect(await buyAndOpenWorkspace(8)).toBe(afterJonas);
    await runSql(page, "SELECT region, count(*) AS n FROM person GROUP BY region");
    await page.getByTestId("receipt").waitFor({ timeout: 30_000 });
    await expect.poll(() => remaining.textContent(), { timeout: 20_000 }).not.toBe(afterJonas);
    const shared = await remaining.textContent();
    await page.goto(`${stack.url}/account/credential`);
    await expect
      .poll(() => page.getByTestId(`credential-address-${second}`).textContent(), {
        timeout: 30_000,
      })
      .toMatch(/\(you\): acts for it$/);

    // The stewards suspend the credential: the next query is refused, naming the rule.
    await signInAs(page, 1);
    await page.goto(`${stack.url}/steward`);
    const row = page
      .getByTestId("credentials")
      .locator("tbody tr")
      .filter({ has: page.getByTitle(jonas, { exact: true }) });
    await row.getByRole("button", { name: "Suspend" }).click();
    await page.getByTestId("credential-proposed").waitFor({ timeout: 30_000 });
    await passProposalInPage(page, stack, "Suspend researcher credential", "on chain");
    await expect
      .poll(() => row.getByTestId("credential-status").textContent(), { timeout: 30_000 })
      .toBe("suspended");
    await signInAs(page, 8);
    await page.goto(`${stack.url}/datasets/${coastal}/query`);
    await page.getByTestId("sql-editor").waitFor({ timeout: 30_000 });
    await runSql(page, "SELECT count(*) AS n FROM person");
    await expect
      .poll(() => page.getByTestId("refusal-rule").textContent(), { timeout: 30_000 })
      .toBe("accreditation");
    expect(await page.getByTestId("refusal").textContent()).toMatch(
      /Your researcher credential #\d+ is suspended by the stewards, so no count or query can run \(rule accreditation\)/,
    );
    // Nothing was charged for it.
    expect(await remaining.textContent()).toBe(shared);
    await page.screenshot({ path: screenshotPath("credential-suspended"), fullPage: true });
    console.info(`accreditation scenario: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);
});

const synthDir = join(import.meta.dirname, "..", "..", "..", "..", "packages", "synth");

/** A synthetic dataset folder, written by the synth CLI as a steward would. */
function synth(outDir: string, persons: number, seed: number) {
  const run = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli.ts",
      "--persons",
      String(persons),
      "--seed",
      String(seed),
      "--out",
      outDir,
      "--title",
      "Riverside Renal Registry",
    ],
    { cwd: synthDir, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`synth failed: ${run.stderr}`);
}

/** The first `count` person_ids of a folder's person table (read with DuckDB, as synth has it). */
function personIds(dir: string, count: number): string[] {
  const script = `
    import { DuckDBInstance } from "@duckdb/node-api";
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    const r = await c.runAndReadAll("SELECT person_id::VARCHAR FROM read_parquet($p) ORDER BY person_id LIMIT ${count}", { p: process.argv[1] });
    console.log(JSON.stringify(r.getRows().map((row) => row[0])));`;
  const run = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", script, join(dir, "person.parquet")],
    {
      cwd: synthDir,
      encoding: "utf8",
    },
  );
  if (run.status !== 0) throw new Error(`reading person ids failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}
