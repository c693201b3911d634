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
import { type Address, createWalletClient, custom } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  type ChainTarget,
  ensureWalletChain,
  type InjectedWallet,
  rejectedMessage,
  rememberWallet,
  USER_REJECTED,
  WalletError,
  walletAccount,
  walletErrorCode,
} from "./injected";

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

/**
 * Signs with the injected wallet the user picked: its current account, once the wallet is on
 * the app's chain (so the transactions that follow need no switch).
 */
export async function injectedSigner(wallet: InjectedWallet, target: ChainTarget): Promise<Signer> {
  const { provider } = wallet;
  const address = await walletAccount(provider, true);
  if (!address) throw new WalletError("The wallet shared no account: unlock it, then try again.");
  await ensureWalletChain(provider, target);
  rememberWallet(wallet);
  const client = createWalletClient({ transport: custom(provider) });
  return {
    address,
    async signMessage(message) {
      try {
        return await client.signMessage({ account: address, message });
      } catch (error) {
        if (walletErrorCode(error) === USER_REJECTED) throw new WalletError(rejectedMessage);
        throw error;
      }
    },
  };
}

export { shortAddress } from "./address";
