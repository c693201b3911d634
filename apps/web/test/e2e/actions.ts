/**
 * What the browser tests do again and again against a running dev stack: sign in with a dev
 * account, move the chain, buy a pass outside the page, run SQL in the workspace.
 */
import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import {
  cohortTokenAbi,
  datasetRegistryAbi,
  marketplaceAbi,
  researcherCredentialAbi,
  stewardGovernorAbi,
} from "@opencohort/chain/generated/abis";
import { readDeploymentManifest } from "@opencohort/chain/manifest";
import type { Page } from "playwright-core";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  stringToHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterEach, expect } from "vitest";
import { type RunningStack, screenshotPath } from "./stack";

export async function anvil(stack: RunningStack, method: string, params: unknown[]) {
  const response = await fetch(stack.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { error?: unknown };
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
}

/** Signs the page in (SIWE) as anvil account `index`, signing out whoever was signed in. */
export async function signInAs(page: Page, index: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8) {
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

/** The id of the first catalogue match for `search`, asked through the page's own API. */
export async function datasetIdOf(page: Page, search: string): Promise<Hex> {
  return (await page.evaluate(async (text) => {
    const input = encodeURIComponent(JSON.stringify({ json: { search: text } }));
    const list = await (await fetch(`/api/trpc/dataset.list?input=${input}`)).json();
    return list.result.data.json.items[0].id as string;
  }, search)) as Hex;
}

/** The dev stack's contracts and clients for the accounts a test acts as outside the page. */
function chainOf(stack: RunningStack) {
  const manifestPath = /Manifest\s+(\S+\.json)/.exec(stack.output())?.[1];
  if (!manifestPath) throw new Error("the dev stack printed no manifest path");
  const { contracts } = readDeploymentManifest(manifestPath);
  const chain = { ...foundry, rpcUrls: { default: { http: [stack.rpcUrl] } } };
  const publicClient = createPublicClient({ chain, transport: http(stack.rpcUrl) });
  const walletOf = (index: 1 | 2 | 3 | 4 | 5) =>
    createWalletClient({
      account: privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)),
      chain,
      transport: http(stack.rpcUrl),
    });
  return { contracts, publicClient, walletOf };
}

/**
 * Accredits `holder` as a researcher the way stewards do (ResearcherCredential.issue through
 * the StewardGovernor: steward #1 proposes, #1-#3 vote, queue, execute), moving the chain's
 * clock past the local delays.
 */
export async function accreditThroughGovernance(stack: RunningStack, holder: Address) {
  const { contracts, publicClient, walletOf } = chainOf(stack);
  const governor = { address: contracts.StewardGovernor, abi: stewardGovernorAbi } as const;
  const targets = [contracts.ResearcherCredential];
  const values = [0n];
  const calldatas = [
    encodeFunctionData({
      abi: researcherCredentialAbi,
      functionName: "issue",
      args: [holder, keccak256(stringToHex("e2e: safe-researcher training certificate")), 0n],
    }),
  ];
  const description = `Accredit ${holder}`;
  const descriptionHash = keccak256(stringToHex(description));
  const mined = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`accreditation: ${hash} reverted`);
  };
  await mined(
    await walletOf(1).writeContract({
      ...governor,
      functionName: "propose",
      args: [targets, values, calldatas, description],
    }),
  );
  const proposalId = await publicClient.readContract({
    ...governor,
    functionName: "hashProposal",
    args: [targets, values, calldatas, descriptionHash],
  });
  await later(stack, 2);
  for (const steward of [1, 2, 3] as const) {
    await mined(
      await walletOf(steward).writeContract({
        ...governor,
        functionName: "castVote",
        args: [proposalId, 1],
      }),
    );
  }
  // Past the voting period and any late-quorum extension (20 s + 5 s on the local chain).
  await later(stack, 30);
  const args = [targets, values, calldatas, descriptionHash] as const;
  await mined(await walletOf(1).writeContract({ ...governor, functionName: "queue", args }));
  await later(stack, 5);
  await mined(await walletOf(1).writeContract({ ...governor, functionName: "execute", args }));
}

/** Researcher `index` approves and buys a pass for `datasetId` with plain transactions. */
export async function buyAccessOnChain(stack: RunningStack, index: 4 | 5, datasetId: Hex) {
  const { contracts, publicClient, walletOf } = chainOf(stack);
  const researcher = walletOf(index);
  const [, price] = await publicClient.readContract({
    address: contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "purchaseTerms",
    args: [datasetId],
  });
  const approve = await researcher.writeContract({
    address: contracts.CohortToken,
    abi: cohortTokenAbi,
    functionName: "approve",
    args: [contracts.Marketplace, price],
  });
  await publicClient.waitForTransactionReceipt({ hash: approve });
  const purchase = await researcher.writeContract({
    address: contracts.Marketplace,
    abi: marketplaceAbi,
    functionName: "purchaseAccess",
    args: [datasetId, price, 0n],
  });
  await publicClient.waitForTransactionReceipt({ hash: purchase });
}

/** Moves the dev stack's chain clock (governance counts seconds) and mines a block. */
export async function later(stack: RunningStack, seconds: number) {
  await anvil(stack, "evm_increaseTime", [seconds]);
  await anvil(stack, "evm_mine", []);
}

/** Steward `steward` votes for the proposal whose description contains `describedAs`, outside the page. */
/** The id of the proposal whose description contains `describedAs`, as the chain has it. */
async function proposalIdOf(stack: RunningStack, describedAs: string): Promise<bigint | undefined> {
  const { contracts, publicClient } = chainOf(stack);
  const created = await publicClient.getContractEvents({
    address: contracts.StewardGovernor,
    abi: stewardGovernorAbi,
    eventName: "ProposalCreated",
    fromBlock: 0n,
  });
  return created.find((log) => log.args.description?.includes(describedAs))?.args.proposalId;
}

async function voteOnChain(stack: RunningStack, steward: 1 | 2 | 3, describedAs: string) {
  const { contracts, publicClient, walletOf } = chainOf(stack);
  const proposalId = await proposalIdOf(stack, describedAs);
  if (proposalId === undefined) throw new Error(`no proposal "${describedAs}"`);
  const hash = await walletOf(steward).writeContract({
    address: contracts.StewardGovernor,
    abi: stewardGovernorAbi,
    functionName: "castVote",
    args: [proposalId, 1],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`steward #${steward}'s vote reverted`);
}

/**
 * Passes the proposal the steward page lists with `describedAs` in its text: stewards #1 and
 * #2 (a majority of the three) vote for it, in the page (the signed-in #1, then signing in as
 * #2) or outside it (two transactions at once: the local voting period is 20 seconds of chain
 * time, which a loaded machine can spend signing in); the chain's clock moves past the voting
 * period and the timelock delay, and the page queues and executes it.
 */
export async function passProposalInPage(
  page: Page,
  stack: RunningStack,
  describedAs: string,
  votes: "in the page" | "on chain" = "in the page",
) {
  const proposal = page.getByTestId("proposal").filter({ hasText: describedAs });
  const state = proposal.getByTestId("proposal-state");
  const tally = proposal.getByTestId("tally");
  if (votes === "on chain") {
    // Straight from the chain, not from the page: the 20 seconds of the local voting period
    // must not be spent waiting for the page to mirror the proposal.
    await expect
      .poll(() => proposalIdOf(stack, describedAs), { timeout: 30_000 })
      .not.toBeUndefined();
    // The voting delay is one second of chain time, so any later block opens the vote.
    await later(stack, 2);
    await voteOnChain(stack, 1, describedAs);
    await voteOnChain(stack, 2, describedAs);
  } else {
    // Shown once the operator's indexer mirrored ProposalCreated.
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toMatch(/^(PENDING|ACTIVE)$/);
    await later(stack, 2);
    for (const steward of [1, 2] as const) {
      if (steward === 2) await signInAs(page, 2);
      await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe("ACTIVE");
      await proposal.getByRole("button", { name: "Vote for" }).click();
      await expect
        .poll(() => proposal.getByTestId("proposal-result").textContent(), { timeout: 30_000 })
        .toMatch(/You voted for in block \d+/);
      await expect
        .poll(() => tally.textContent(), { timeout: 30_000 })
        .toMatch(`For ${steward} · Against 0 · Abstain 0`);
    }
  }
  await expect
    .poll(() => tally.textContent(), { timeout: 30_000 })
    .toMatch("For 2 · Against 0 · Abstain 0");
  // Past the voting period (20 seconds, plus the late-quorum extension): it passed.
  await later(stack, 30);
  await expect.poll(() => state.textContent(), { timeout: 20_000 }).toBe("SUCCEEDED");
  await proposal.getByRole("button", { name: "Queue" }).click();
  await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe("QUEUED");
  // Past the timelock delay.
  await later(stack, 5);
  await proposal.getByRole("button", { name: "Execute" }).click();
  await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe("EXECUTED");
}

/** Types `sql` into the workspace's editor, runs it and waits until it finished. */
export async function runSql(page: Page, sql: string) {
  await page.getByTestId("sql-editor").fill(sql);
  await page.getByTestId("run-query").click();
  await page.getByTestId("run-query").getByText("Run query").waitFor({ timeout: 60_000 });
}

/**
 * After a failed test: a screenshot of what the page showed, and the dev stack's last log
 * lines (web, operator), which explain a 500 the page met.
 */
export function reportFailures(current: () => { page?: Page; stack?: RunningStack }) {
  afterEach(async (context) => {
    if (context.task.result?.state !== "fail") return;
    const { page, stack } = current();
    const name = context.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
    await page?.screenshot({ path: screenshotPath(`failed-${name}`), fullPage: true });
    const lines = stack?.output().split("\n") ?? [];
    console.error(`dev stack output, last lines:\n${lines.slice(-80).join("\n")}`);
  });
}
