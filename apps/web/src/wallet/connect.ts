"use client";
/**
 * The signed-in address's wallet for typed-data signatures and transactions: on the local
 * chain the dev account whose key the browser holds (anvil's well-known keys), otherwise the
 * injected EIP-1193 wallet. Used by the patient and steward pages.
 */
import {
  type DevAccountIndex,
  devAccountKey,
  LOCAL_CHAIN_ID,
} from "@opencohort/chain/dev-accounts";
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
  http,
  type PublicClient,
  type TransactionReceipt,
  type TypedDataDefinition,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

/** What the page's server component tells the client about the chain. */
export interface ChainInfo {
  chainId: number;
  /** The JSON-RPC endpoint the dev accounts send through (the local chain only). */
  rpcUrl: string;
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
  send<
    const abi extends Abi,
    functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
    const args extends ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>,
  >(call: {
    address: Address;
    abi: abi;
    functionName: functionName;
    args: args;
  }): Promise<TxResult>;
}

function chainOf(info: ChainInfo) {
  return defineChain({
    id: info.chainId,
    name: info.chainId === LOCAL_CHAIN_ID ? "OpenCohort local" : `Chain ${info.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [info.rpcUrl] } },
  });
}

function devIndexOf(chainId: number, address: Address): DevAccountIndex | null {
  if (chainId !== LOCAL_CHAIN_ID) return null;
  for (let i = 0; i < 10; i++) {
    const index = i as DevAccountIndex;
    if (privateKeyToAccount(devAccountKey(chainId, index)).address === address) return index;
  }
  return null;
}

/** The wallet that can act for `sessionAddress`; refuses when none can. */
export async function connectWallet(info: ChainInfo, sessionAddress: string): Promise<Wallet> {
  const address = getAddress(sessionAddress);
  const chain = chainOf(info);
  const devIndex = devIndexOf(info.chainId, address);
  let wallet: WalletClient;
  let publicClient: PublicClient;
  let kind: Wallet["kind"];
  if (devIndex !== null) {
    const account = privateKeyToAccount(devAccountKey(info.chainId, devIndex));
    wallet = createWalletClient({ account, chain, transport: http(info.rpcUrl) });
    publicClient = createPublicClient({ chain, transport: http(info.rpcUrl) });
    kind = "dev account";
  } else {
    const provider = typeof window === "undefined" ? undefined : window.ethereum;
    if (!provider) throw new Error("No browser wallet found to sign with for this address.");
    wallet = createWalletClient({ account: address, chain, transport: custom(provider) });
    const shared = (await wallet.requestAddresses()).map((a) => getAddress(a));
    if (!shared.includes(address)) {
      throw new Error(`The browser wallet does not hold the signed-in address ${address}.`);
    }
    publicClient = createPublicClient({ chain, transport: custom(provider) });
    kind = "browser wallet";
  }
  const account = wallet.account ?? address;
  return {
    address,
    kind,
    publicClient,
    signTypedData: (definition) =>
      wallet.signTypedData({ ...(definition as object), account } as never),
    async send(call) {
      // Simulating first turns a revert into the contract's own error name.
      const { request } = await publicClient.simulateContract({ ...call, account } as never);
      const hash = await wallet.writeContract(request as never);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`Transaction ${hash} reverted.`);
      return { hash, receipt };
    },
  };
}

/** A short, human message for a wallet or contract error (the revert's error name if any). */
export function walletErrorMessage(error: unknown): string {
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
