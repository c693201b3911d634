/**
 * Injected (EIP-1193) wallets: discovery (EIP-6963, falling back to `window.ethereum`), the
 * remembered choice, putting the wallet on the app's chain before it signs or sends, and
 * error codes turned into sentences.
 */
import { LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import { BaseError, type EIP1193Provider, getAddress, numberToHex } from "viem";
import { shortAddress } from "./address";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
  interface WindowEventMap {
    "eip6963:announceProvider": CustomEvent<{
      info: { uuid: string; name: string; icon: string; rdns: string };
      provider: EIP1193Provider;
    }>;
  }
}

/** What a wallet needs to know about the app's chain. */
export interface ChainTarget {
  chainId: number;
  /** The JSON-RPC endpoint the browser may use: the local chain's only, never a hosted one. */
  rpcUrl: string | null;
}

export interface InjectedWallet {
  /** EIP-6963 rdns, or "injected" for a bare `window.ethereum`. */
  id: string;
  name: string;
  icon?: string;
  provider: EIP1193Provider;
}

const LEGACY_ID = "injected";
const CHOSEN_KEY = "opencohort.wallet";

// EIP-6963: wallets announce themselves on request and whenever they load later.
const announced = new Map<string, InjectedWallet>();
const subscribers = new Set<() => void>();
let snapshot: InjectedWallet[] = [];
let discovering = false;

function refreshSnapshot() {
  const legacy = typeof window === "undefined" ? undefined : window.ethereum;
  const wallets = [...announced.values()];
  // A bare window.ethereum counts only when it is not one of the announced providers.
  if (legacy && !wallets.some((wallet) => wallet.provider === legacy)) {
    wallets.push({ id: LEGACY_ID, name: "Browser wallet", provider: legacy });
  }
  snapshot = wallets;
  for (const notify of subscribers) notify();
}

function discover() {
  if (discovering || typeof window === "undefined") return;
  discovering = true;
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = event.detail;
    announced.set(info.rdns, { id: info.rdns, name: info.name, icon: info.icon, provider });
    refreshSnapshot();
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  refreshSnapshot();
}

/** The wallets in this browser (for useSyncExternalStore). */
export function injectedWallets(): InjectedWallet[] {
  discover();
  return snapshot;
}

export function subscribeInjectedWallets(notify: () => void): () => void {
  discover();
  subscribers.add(notify);
  return () => subscribers.delete(notify);
}

const noWallets: InjectedWallet[] = [];
export const serverInjectedWallets = () => noWallets;

/** Remembers which wallet signed in, so later signatures go to the same one. */
export function rememberWallet(wallet: InjectedWallet) {
  window.localStorage.setItem(CHOSEN_KEY, wallet.id);
}

/** The wallet the user signed in with, else the only (or first) one; undefined when none. */
export function chosenWallet(): InjectedWallet | undefined {
  const wallets = injectedWallets();
  const id = window.localStorage.getItem(CHOSEN_KEY);
  return wallets.find((wallet) => wallet.id === id) ?? wallets[0];
}

/** The EIP-1193 error code, wherever the wallet or viem put it. */
export function walletErrorCode(error: unknown): number | undefined {
  const codeOf = (value: unknown): number | undefined => {
    if (!value || typeof value !== "object") return undefined;
    const record = value as { code?: unknown; data?: { originalError?: unknown } };
    if (typeof record.code === "number") return record.code;
    return codeOf(record.data?.originalError);
  };
  if (error instanceof BaseError) {
    const coded = error.walk((inner) => codeOf(inner) !== undefined);
    if (coded) return codeOf(coded);
  }
  return codeOf(error);
}

export const USER_REJECTED = 4001;
const UNRECOGNIZED_CHAIN = 4902;

/** Wallet failures the user caused or can fix, as one sentence each. */
export class WalletError extends Error {
  override name = "WalletError";
}

export const rejectedMessage = "You declined in your wallet: nothing was signed or sent.";

/** The wallet's first account, or null when it shares none (locked or disconnected). */
export async function walletAccount(provider: EIP1193Provider, ask: boolean) {
  const accounts = await provider.request({
    method: ask ? "eth_requestAccounts" : "eth_accounts",
  });
  const [first] = accounts;
  return first ? getAddress(first) : null;
}

/** Refuses unless the wallet's current account is the signed-in one. */
export async function assertWalletAccount(provider: EIP1193Provider, expected: string) {
  const account = await walletAccount(provider, true);
  if (account !== getAddress(expected)) {
    throw new WalletError(
      account
        ? `Your wallet's account ${shortAddress(account)} is not the one you signed in with (${shortAddress(expected)}). Switch accounts in the wallet, or sign in again.`
        : "Your wallet shared no account: unlock it, then try again.",
    );
  }
}

export const chainName = (chainId: number) =>
  chainId === LOCAL_CHAIN_ID ? "OpenCohort local" : `Chain ${chainId}`;

/**
 * Puts the wallet on the app's chain: asks it to switch, and to add the chain first when it
 * does not know it (only the local chain, whose RPC URL the app may share).
 */
export async function ensureWalletChain(provider: EIP1193Provider, target: ChainTarget) {
  const current = async () => Number(await provider.request({ method: "eth_chainId" }));
  if ((await current()) === target.chainId) return;
  const chainId = numberToHex(target.chainId);
  try {
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (error) {
      if (walletErrorCode(error) !== UNRECOGNIZED_CHAIN) throw error;
      if (!target.rpcUrl) {
        throw new WalletError(
          `Your wallet does not know chain ${target.chainId}: add it in the wallet, then try again.`,
        );
      }
      await provider.request({
        method: "wallet_addEthereumChain",
        params: [
          {
            chainId,
            chainName: chainName(target.chainId),
            nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
            rpcUrls: [target.rpcUrl],
          },
        ],
      });
      // Wallets usually switch to a chain they just added; some only add it.
      if ((await current()) !== target.chainId) {
        await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
      }
    }
  } catch (error) {
    if (walletErrorCode(error) === USER_REJECTED) {
      throw new WalletError(
        `You declined to switch your wallet to ${chainName(target.chainId)} (chain ${target.chainId}): nothing was signed or sent.`,
        { cause: error },
      );
    }
    throw error;
  }
  const now = await current();
  if (now !== target.chainId) {
    throw new WalletError(
      `Your wallet is on chain ${now}; switch it to ${chainName(target.chainId)} (chain ${target.chainId}) to continue.`,
    );
  }
}
