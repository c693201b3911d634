/**
 * The researcher's wallet for transactions and typed data: on the local chain the dev account
 * the session is signed in with (its key is public, anvil's), otherwise the injected wallet.
 */
import { devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import { marketplaceAbi } from "@opencohort/chain/generated/abis";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  getAddress,
  type Hex,
  http,
  parseSignature,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { devAccounts } from "~/wallet/signers";

export interface ChainInfo {
  chainId: number;
  /** JSON-RPC URL the browser may use (local chain only). */
  rpcUrl: string | null;
}

function transportFor(chain: ChainInfo): { transport: Transport; key?: Hex } {
  if (typeof window !== "undefined" && window.ethereum && chain.chainId !== LOCAL_CHAIN_ID) {
    return { transport: custom(window.ethereum) };
  }
  if (chain.rpcUrl) return { transport: http(chain.rpcUrl) };
  if (typeof window !== "undefined" && window.ethereum)
    return { transport: custom(window.ethereum) };
  throw new Error("No wallet found: install a browser wallet to buy access.");
}

/** A wallet able to sign as `address`: the matching dev account, else the injected wallet. */
export async function researcherWallet(chain: ChainInfo, address: string) {
  const viemChain = defineChain({
    id: chain.chainId,
    name: chain.chainId === LOCAL_CHAIN_ID ? "Local chain" : `Chain ${chain.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: chain.rpcUrl ? [chain.rpcUrl] : [] } },
  });
  const dev = devAccounts(chain.chainId).find(
    (account) => account.address.toLowerCase() === address.toLowerCase(),
  );
  if (dev && chain.rpcUrl) {
    const account = privateKeyToAccount(devAccountKey(chain.chainId, dev.index));
    const transport = http(chain.rpcUrl);
    return {
      wallet: createWalletClient({ account, chain: viemChain, transport }),
      publicClient: createPublicClient({ chain: viemChain, transport }),
    };
  }
  const { transport } = transportFor(chain);
  const wallet = createWalletClient({ account: getAddress(address), chain: viemChain, transport });
  const [shared] = await wallet.requestAddresses();
  if (!shared || shared.toLowerCase() !== address.toLowerCase()) {
    throw new Error("Your browser wallet's account is not the one you signed in with.");
  }
  return { wallet, publicClient: createPublicClient({ chain: viemChain, transport }) };
}

export interface PermitTerms {
  datasetId: string;
  price: string;
  marketplace: Address;
  permit: {
    domain: { name: string; version: string; chainId: number; verifyingContract: Address };
    message: { owner: Address; spender: Address; value: string; nonce: string };
  };
}

/** Signs the ERC-2612 permit and sends Marketplace.purchaseAccessWithPermit; returns the tx hash. */
export async function purchaseWithPermit(
  chain: ChainInfo,
  address: string,
  terms: PermitTerms,
  onSigned: (hash: Hex) => void,
) {
  const { wallet, publicClient } = await researcherWallet(chain, address);
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 60 * 60);
  const value = BigInt(terms.permit.message.value);
  const signature = await wallet.signTypedData({
    account: wallet.account,
    domain: terms.permit.domain,
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    message: {
      owner: terms.permit.message.owner,
      spender: terms.permit.message.spender,
      value,
      nonce: BigInt(terms.permit.message.nonce),
      deadline,
    },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  const hash = await wallet.writeContract({
    account: wallet.account,
    chain: wallet.chain,
    address: terms.marketplace,
    abi: marketplaceAbi,
    functionName: "purchaseAccessWithPermit",
    args: [terms.datasetId as Hex, value, deadline, Number(v ?? BigInt(27 + yParity)), r, s],
  });
  onSigned(hash);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`The purchase transaction ${hash} reverted.`);
  return { hash, block: receipt.blockNumber };
}
