import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import { cohortTokenAbi } from "@opencohort/chain/generated/abis";
import { readDeploymentManifest } from "@opencohort/chain/manifest";
import type { Browser, Page } from "playwright-core";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  numberToHex,
  parseEther,
  type TypedDataDefinition,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accreditThroughGovernance } from "./actions";
import { launchChromium, type RunningStack, screenshotPath, startDevStack } from "./stack";

// A real user's path, without a dev account: an EIP-1193 wallet injected into real Chromium,
// whose keys live in Node (a fresh viem account, funded here), starts on another chain and
// must be switched (and taught the local chain) by the app; it signs in with SIWE, declines
// once, then buys a pass with one permit signature and one transaction.
const WRONG_CHAIN = 1;
const USER_REJECTED = { code: 4001, message: "User rejected the request." };

let stack: RunningStack;
let browser: Browser | undefined;
let page: Page;
const browserErrors: string[] = [];
const user = privateKeyToAccount(generatePrivateKey());
let token: Address;

/** The wallet's state, which the test steers: its chain, account and the next refusals. */
const wallet = {
  chainId: WRONG_CHAIN,
  knownChains: new Set([WRONG_CHAIN]),
  account: user.address as Address,
  rejectNext: new Set<string>(),
  /** Every wallet method the page called, in order (plain RPC reads are forwarded unlogged). */
  calls: [] as { method: string; params: unknown[] }[],
};

type Reply = { result: unknown } | { error: { code: number; message: string } };

async function anvilRpc(method: string, params: unknown[]): Promise<Reply> {
  const response = await fetch(stack.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as Reply;
  return "error" in body ? { error: body.error } : { result: body.result };
}

const emit = (event: string, payload: unknown) =>
  page.evaluate(([name, value]) => window.__e2eWalletEmit?.(name as string, value), [
    event,
    payload,
  ] as const);

/** The wallet's side of EIP-1193, in Node: signs with `user`, refuses what a real wallet would. */
async function walletRequest(method: string, params: unknown[]): Promise<Reply> {
  const walletMethods =
    /^(eth_(requestAccounts|accounts|chainId|sign.*|sendTransaction)|personal_sign|wallet_.*)$/;
  if (walletMethods.test(method)) wallet.calls.push({ method, params });
  if (wallet.rejectNext.delete(method)) return { error: USER_REJECTED };
  switch (method) {
    case "eth_chainId":
      return { result: numberToHex(wallet.chainId) };
    case "eth_accounts":
    case "eth_requestAccounts":
      return { result: [wallet.account] };
    case "wallet_switchEthereumChain": {
      const chainId = Number((params[0] as { chainId: Hex }).chainId);
      if (!wallet.knownChains.has(chainId)) {
        return { error: { code: 4902, message: `Unrecognized chain ID ${chainId}.` } };
      }
      wallet.chainId = chainId;
      void emit("chainChanged", numberToHex(chainId));
      return { result: null };
    }
    case "wallet_addEthereumChain": {
      // Like MetaMask: adding a chain also switches to it.
      const chainId = Number((params[0] as { chainId: Hex }).chainId);
      wallet.knownChains.add(chainId);
      wallet.chainId = chainId;
      void emit("chainChanged", numberToHex(chainId));
      return { result: null };
    }
    case "personal_sign":
      return { result: await user.signMessage({ message: { raw: params[0] as Hex } }) };
    case "eth_signTypedData_v4": {
      const typedData = JSON.parse(params[1] as string) as TypedDataDefinition & {
        domain: { chainId?: number | string };
      };
      // A real wallet refuses typed data for a chain it is not on.
      if (Number(typedData.domain.chainId) !== wallet.chainId) {
        return { error: { code: -32603, message: "Typed data is for another chain." } };
      }
      const { EIP712Domain: _, ...types } = typedData.types as Record<string, unknown>;
      return { result: await user.signTypedData({ ...typedData, types } as never) };
    }
    case "eth_sendTransaction": {
      if (wallet.chainId !== LOCAL_CHAIN_ID) {
        return { error: { code: -32603, message: "The wallet is on another chain." } };
      }
      const tx = params[0] as { to: Address; data?: Hex; value?: Hex };
      const client = createWalletClient({
        account: user,
        chain: { ...foundry, rpcUrls: { default: { http: [stack.rpcUrl] } } },
        transport: http(stack.rpcUrl),
      });
      const hash = await client.sendTransaction({
        to: tx.to,
        data: tx.data,
        value: tx.value ? BigInt(tx.value) : undefined,
      });
      return { result: hash };
    }
    default:
      return anvilRpc(method, params);
  }
}

// Runs in the page before its scripts: a minimal EIP-1193 provider that forwards to Node.
const INJECTED_PROVIDER = `
(() => {
  const listeners = new Map();
  const provider = {
    async request({ method, params }) {
      const reply = await window.__e2eWalletRequest(method, params ?? []);
      if ("error" in reply) {
        const error = new Error(reply.error.message);
        error.code = reply.error.code;
        throw error;
      }
      return reply.result;
    },
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(listener);
      return provider;
    },
    removeListener(event, listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  window.__e2eWalletEmit = (event, payload) => {
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  window.ethereum = provider;
})();
`;

declare global {
  interface Window {
    __e2eWalletEmit?: (event: string, payload: unknown) => void;
  }
}

const publicClient = () => createPublicClient({ chain: foundry, transport: http(stack.rpcUrl) });

async function tokenState() {
  const client = publicClient();
  const [balance, nonce] = await Promise.all([
    client.readContract({
      address: token,
      abi: cohortTokenAbi,
      functionName: "balanceOf",
      args: [user.address],
    }),
    client.readContract({
      address: token,
      abi: cohortTokenAbi,
      functionName: "nonces",
      args: [user.address],
    }),
  ]);
  return { balance, nonce };
}

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startDevStack(300);
  const manifestPath = /Manifest\s+(\S+\.json)/.exec(stack.output())?.[1];
  if (!manifestPath) throw new Error(`The dev stack printed no manifest:\n${stack.output()}`);
  token = readDeploymentManifest(manifestPath).contracts.CohortToken;

  // Only accredited researchers may buy: the stewards accredit the fresh address first.
  await accreditThroughGovernance(stack, user.address);

  // Fund the fresh account like an exchange would: gas from the deployer, tokens from a holder.
  const chain = { ...foundry, rpcUrls: { default: { http: [stack.rpcUrl] } } };
  const client = publicClient();
  const from = (index: 0 | 5) =>
    createWalletClient({
      account: privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)),
      chain,
      transport: http(stack.rpcUrl),
    });
  await client.waitForTransactionReceipt({
    hash: await from(0).sendTransaction({ to: user.address, value: parseEther("10") }),
  });
  await client.waitForTransactionReceipt({
    hash: await from(5).writeContract({
      address: token,
      abi: cohortTokenAbi,
      functionName: "transfer",
      args: [user.address, parseEther("1000")],
    }),
  });

  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => browserErrors.push(error.message));
  await page.exposeFunction("__e2eWalletRequest", walletRequest);
  await page.addInitScript(INJECTED_PROVIDER);
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const signedInAddress = () => page.getByTestId("signed-in-address").getAttribute("title");

describe("an injected EIP-1193 wallet (not a dev account)", () => {
  it("signs in with SIWE after the app switches (and adds) the chain; a declined signature signs nothing in", async () => {
    await page.goto(`${stack.url}/`);
    await page.getByRole("button", { name: "Sign in" }).click();
    wallet.rejectNext.add("personal_sign");
    await page.getByRole("button", { name: "Browser wallet" }).click();
    const alert = page.getByRole("dialog", { name: "Sign in" }).getByRole("alert");
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toBe(
      "You declined in your wallet: nothing was signed or sent.",
    );
    expect(await page.getByTestId("signed-in-address").count()).toBe(0);

    // The wallet did not know the local chain: switch refused with 4902, add, now on it.
    const methods = wallet.calls.map((call) => call.method);
    expect(methods.slice(0, 5)).toEqual([
      "eth_requestAccounts",
      "eth_chainId",
      "wallet_switchEthereumChain",
      "wallet_addEthereumChain",
      "eth_chainId",
    ]);
    const added = wallet.calls.find((call) => call.method === "wallet_addEthereumChain");
    expect(added?.params[0]).toMatchObject({
      chainId: numberToHex(LOCAL_CHAIN_ID),
      rpcUrls: [stack.rpcUrl],
    });
    expect(wallet.chainId).toBe(LOCAL_CHAIN_ID);

    await page.getByRole("button", { name: "Browser wallet" }).click();
    await expect.poll(signedInAddress, { timeout: 20_000 }).toBe(user.address);
    expect(wallet.calls.filter((call) => call.method === "personal_sign")).toHaveLength(2);
  });

  it("declining the permit shows why and costs nothing; then one permit buys the pass", async () => {
    const datasetId = (await page.evaluate(async () => {
      const input = encodeURIComponent(JSON.stringify({ json: { search: "Coastal" } }));
      const list = await (await fetch(`/api/trpc/dataset.list?input=${input}`)).json();
      return list.result.data.json.items[0].id as string;
    })) as Hex;
    // Back on the wrong chain: the purchase must switch again before it signs.
    wallet.chainId = WRONG_CHAIN;
    await page.goto(`${stack.url}/datasets/${datasetId}`);
    await page.getByTestId("wallet-wrong-chain").waitFor({ timeout: 30_000 });
    const buy = page.getByTestId("buy-access");
    await expect.poll(() => buy.isEnabled(), { timeout: 30_000 }).toBe(true);
    const before = await tokenState();

    wallet.rejectNext.add("eth_signTypedData_v4");
    const switchesBefore = wallet.calls.filter(
      (call) => call.method === "wallet_switchEthereumChain",
    ).length;
    await buy.click();
    const refusal = page.getByTestId("refusal");
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toBe(
      "You declined in your wallet: nothing was signed or sent.",
    );
    expect(wallet.calls.filter((call) => call.method === "wallet_switchEthereumChain").length).toBe(
      switchesBefore + 1,
    );
    expect(wallet.chainId).toBe(LOCAL_CHAIN_ID);
    await page.getByTestId("wallet-wrong-chain").waitFor({ state: "detached" });
    expect(await tokenState()).toEqual(before);
    expect(await page.getByTestId("access-until").count()).toBe(0);
    expect(wallet.calls.map((call) => call.method)).not.toContain("eth_sendTransaction");
    expect(await buy.isEnabled()).toBe(true);

    const purchaseStart = wallet.calls.length;
    await buy.click();
    await page.getByTestId("purchase-mined").waitFor({ timeout: 60_000 });
    await page.getByTestId("access-until").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("access-until").textContent()).toMatch(/^Access until .+ UTC$/);
    expect(await page.getByTestId("refusal").count()).toBe(0);
    const after = await tokenState();
    expect(after.nonce).toBe(before.nonce + 1n);
    expect(after.balance).toBeLessThan(before.balance);
    // One signature, then one transaction, each after checking the account and the chain.
    const purchaseCalls = wallet.calls.slice(purchaseStart).map((call) => call.method);
    expect(purchaseCalls.filter((m) => m === "eth_signTypedData_v4")).toHaveLength(1);
    expect(purchaseCalls.filter((m) => m === "eth_sendTransaction")).toHaveLength(1);
    expect(purchaseCalls.indexOf("eth_signTypedData_v4")).toBeLessThan(
      purchaseCalls.indexOf("eth_sendTransaction"),
    );
    await page.screenshot({ path: screenshotPath("injected-wallet"), fullPage: true });
  });

  it("notices when the wallet moves to another account or chain, and when it comes back", async () => {
    const other = privateKeyToAccount(generatePrivateKey()).address;
    wallet.account = other;
    await emit("accountsChanged", [other]);
    const mismatch = page.getByTestId("wallet-account-mismatch");
    await mismatch.waitFor({ timeout: 10_000 });
    expect(await mismatch.textContent()).toContain("cannot sign for this session");
    expect(await mismatch.getByRole("button", { name: /^Sign in as 0x/ }).count()).toBe(1);

    // A purchase now refuses before asking the wallet for anything.
    const signaturesBefore = wallet.calls.filter((c) => c.method.startsWith("eth_sign")).length;
    await page.getByTestId("buy-access").click();
    await expect
      .poll(() => page.getByTestId("refusal").textContent(), { timeout: 20_000 })
      .toMatch(
        /^Your wallet's account 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} is not the one you signed in with/,
      );
    expect(wallet.calls.filter((c) => c.method.startsWith("eth_sign")).length).toBe(
      signaturesBefore,
    );

    await page.screenshot({ path: screenshotPath("injected-wallet-account-changed") });

    wallet.account = user.address;
    await emit("accountsChanged", [user.address]);
    await mismatch.waitFor({ state: "detached", timeout: 10_000 });
    expect(await signedInAddress()).toBe(user.address);

    // The user moves the wallet to another chain; "Switch now" brings it back.
    wallet.chainId = WRONG_CHAIN;
    await emit("chainChanged", numberToHex(WRONG_CHAIN));
    const wrongChain = page.getByTestId("wallet-wrong-chain");
    await wrongChain.waitFor({ timeout: 10_000 });
    await wrongChain.getByRole("button", { name: "Switch now" }).click();
    await wrongChain.waitFor({ state: "detached", timeout: 10_000 });
    expect(wallet.chainId).toBe(LOCAL_CHAIN_ID);
    expect(browserErrors).toEqual([]);
  });
});
