"use client";
import { useEffect, useState } from "react";
import { type Address, getAddress } from "viem";
import { chosenWallet, walletAccount } from "./injected";

export interface WatchedWallet {
  /** The wallet's current account; null when it shares none (locked or disconnected). */
  account: Address | null;
  chainId: number;
}

/**
 * Follows the chosen injected wallet's account and chain (EIP-1193 `accountsChanged` and
 * `chainChanged`) while `active`; undefined until the wallet has answered, or when inactive.
 */
export function useWalletWatch(active: boolean): WatchedWallet | undefined {
  const [watched, setWatched] = useState<WatchedWallet>();
  useEffect(() => {
    const provider = active ? chosenWallet()?.provider : undefined;
    if (!provider) {
      setWatched(undefined);
      return;
    }
    let current = true;
    const onAccounts = (accounts: readonly Address[]) => {
      const [first] = accounts;
      setWatched((w) => w && { ...w, account: first ? getAddress(first) : null });
    };
    const onChain = (chainId: string) => setWatched((w) => w && { ...w, chainId: Number(chainId) });
    provider.on("accountsChanged", onAccounts);
    provider.on("chainChanged", onChain);
    // Asks without prompting: eth_accounts, not eth_requestAccounts.
    Promise.all([walletAccount(provider, false), provider.request({ method: "eth_chainId" })])
      .then(([account, chainId]) => {
        if (current) setWatched({ account, chainId: Number(chainId) });
      })
      .catch(() => {
        if (current) setWatched(undefined);
      });
    return () => {
      current = false;
      provider.removeListener("accountsChanged", onAccounts);
      provider.removeListener("chainChanged", onChain);
    };
  }, [active]);
  return watched;
}
