/**
 * The two ways to sign a SIWE message: anvil's well-known dev accounts (local chain only,
 * key kept in the browser) and an injected EIP-1193 wallet.
 */
import {
  type DevAccountIndex,
  devAccountKey,
  devAccountRoles,
  LOCAL_CHAIN_ID,
} from "@opencohort/chain/dev-accounts";
import { type Address, createWalletClient, custom, type EIP1193Provider, getAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface Signer {
  address: Address;
  signMessage(message: string): Promise<`0x${string}`>;
}

export interface DevAccount {
  index: DevAccountIndex;
  address: Address;
  role: string;
}

/** anvil's accounts and their demo roles; empty on any chain but the local one. */
export function devAccounts(chainId: number): DevAccount[] {
  if (chainId !== LOCAL_CHAIN_ID) return [];
  return devAccountRoles.map((role, i) => {
    const index = i as DevAccountIndex;
    return { index, role, address: privateKeyToAccount(devAccountKey(chainId, index)).address };
  });
}

export function devSigner(chainId: number, index: DevAccountIndex): Signer {
  // devAccountKey refuses any chain but 31337: a dev key is never used elsewhere.
  const account = privateKeyToAccount(devAccountKey(chainId, index));
  return { address: account.address, signMessage: (message) => account.signMessage({ message }) };
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export const hasInjectedWallet = () => typeof window !== "undefined" && !!window.ethereum;

export async function injectedSigner(): Promise<Signer> {
  const provider = window.ethereum;
  if (!provider) throw new Error("No browser wallet found. Install one, or use a dev account.");
  const wallet = createWalletClient({ transport: custom(provider) });
  const [first] = await wallet.requestAddresses();
  if (!first) throw new Error("The wallet shared no account.");
  const address = getAddress(first);
  return { address, signMessage: (message) => wallet.signMessage({ account: address, message }) };
}

export const shortAddress = (address: string) => {
  const checksummed = getAddress(address);
  return `${checksummed.slice(0, 6)}…${checksummed.slice(-4)}`;
};
