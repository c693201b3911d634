"use client";
/**
 * The signed-in address's wallet for typed-data signatures and transactions: on the local
 * chain the dev account whose key the browser holds (anvil's well-known keys), otherwise the
 * injected EIP-1193 wallet. The one way the patient, steward and dataset pages get a wallet.
 */
import { createChainPublicClient, createSigningClient } from "@opencohort/chain/clients";
import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import {
  type Abi,
  type Address,
  BaseError,
  type ContractFunctionArgs,
  type ContractFunctionName,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  getAddress,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type TypedDataDefinition,
  type WalletClient,
} from "viem";
import {
  assertWalletAccount,
  type ChainTarget,
  chainName,
  chosenWallet,
  ensureWalletChain,
  rejectedMessage,
  USER_REJECTED,
  WalletError,
  walletErrorCode,
} from "./injected";
import { devAccounts } from "./signers";

export type { ChainTarget } from "./injected";

/** What the page's server component tells the client about the chain and its token. */
export interface ChainInfo extends ChainTarget {
  token: Address;
  tokenSymbol: string;
}

export interface TxResult {
  hash: Hex;
  receipt: TransactionReceipt;
}

export interface Wallet {
  address: Address;
  kind: "dev account" | "browser wallet";
  publicClient: PublicClient;
  signTypedData(definition: TypedDataDefinition): Promise<Hex>;
  /** Sends a transaction; `onSent` hears its hash before it is mined. */
  send<
    const abi extends Abi,
    functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
    const args extends ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>,
  >(
    call: {
      address: Address;
      abi: abi;
      functionName: functionName;
      args: args;
    },
    onSent?: (hash: Hex) => void,
  ): Promise<TxResult>;
}

function chainOf(target: ChainTarget) {
  return defineChain({
    id: target.chainId,
    name: chainName(target.chainId),
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: target.rpcUrl ? [target.rpcUrl] : [] } },
  });
}

/**
 * The wallet that can act for `sessionAddress`: on the local chain the dev account whose key
 * the browser holds (anvil's well-known keys), otherwise the injected EIP-1193 wallet the user
 * signed in with. Refuses when none can. The injected wallet is put on the app's chain and
 * checked to still hold the session's account before every signature and transaction.
 */
export async function connectWallet(target: ChainTarget, sessionAddress: string): Promise<Wallet> {
  const address = getAddress(sessionAddress);
  const chain = chainOf(target);
  const dev = devAccounts(target.chainId).find((account) => account.address === address);
  let wallet: WalletClient;
  let publicClient: PublicClient;
  let kind: Wallet["kind"];
  let ready: () => Promise<void>;
  if (dev && target.rpcUrl) {
    // The chain package's clients: batched reads, and receipts polled every 50 ms locally.
    const local = { chainId: target.chainId, rpcUrl: target.rpcUrl };
    wallet = createSigningClient(local, devAccountKey(target.chainId, dev.index));
    publicClient = createChainPublicClient(local);
    kind = "dev account";
    ready = async () => {};
  } else {
    const provider = typeof window === "undefined" ? undefined : chosenWallet()?.provider;
    if (!provider) {
      throw new WalletError(
        target.chainId === LOCAL_CHAIN_ID
          ? "No browser wallet found to sign for this address: sign in with a dev account, or install a wallet."
          : "No browser wallet found to sign for this address: install one, then try again.",
      );
    }
    ready = async () => {
      await assertWalletAccount(provider, address);
      await ensureWalletChain(provider, target);
    };
    await ready();
    wallet = createWalletClient({ account: address, chain, transport: custom(provider) });
    // Reads go to the app's own RPC where it shares one, so they never depend on the wallet's chain.
    publicClient = target.rpcUrl
      ? createChainPublicClient({ chainId: target.chainId, rpcUrl: target.rpcUrl })
      : createPublicClient({ chain, transport: custom(provider) });
    kind = "browser wallet";
  }
  const account = wallet.account ?? address;
  const humane = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof WalletError) throw error;
      throw new WalletError(walletErrorMessage(error), { cause: error });
    }
  };
  return {
    address,
    kind,
    publicClient,
    signTypedData: (definition) =>
      humane(async () => {
        await ready();
        return wallet.signTypedData({ ...(definition as object), account } as never);
      }),
    send: (call, onSent) =>
      humane(async () => {
        await ready();
        // Simulating first turns a revert into the contract's own error name.
        const { request } = await publicClient.simulateContract({ ...call, account } as never);
        const hash = await wallet.writeContract(request as never);
        onSent?.(hash);
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new WalletError(`Transaction ${hash} reverted.`);
        return { hash, receipt };
      }),
  };
}

/** A short, human message for a wallet or contract error (the revert's error name if any). */
export function walletErrorMessage(error: unknown): string {
  if (walletErrorCode(error) === USER_REJECTED) return rejectedMessage;
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName ?? revert.reason;
      if (name) return `The contract refused: ${name}.`;
    }
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
