import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { LOCAL_CHAIN_ID } from "./dev-accounts";
import type { ChainEnv } from "./env";

export function chainFor(env: Pick<ChainEnv, "chainId" | "rpcUrl">): Chain {
  if (env.chainId === LOCAL_CHAIN_ID) {
    return { ...foundry, rpcUrls: { default: { http: [env.rpcUrl] } } };
  }
  return defineChain({
    id: env.chainId,
    name: `Chain ${env.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [env.rpcUrl] } },
  });
}

/** anvil mines on demand: poll it often, so waiting for a receipt costs milliseconds, not seconds. */
const pollingIntervalFor = (chainId: number) => (chainId === LOCAL_CHAIN_ID ? 50 : 4_000);

export function createChainPublicClient(env: Pick<ChainEnv, "chainId" | "rpcUrl">): PublicClient {
  return createPublicClient({
    chain: chainFor(env),
    pollingInterval: pollingIntervalFor(env.chainId),
    transport: http(env.rpcUrl, { batch: true, retryCount: 2 }),
  }) as PublicClient;
}

export type SigningClient = WalletClient<Transport, Chain, Account>;

export function createSigningClient(
  env: Pick<ChainEnv, "chainId" | "rpcUrl">,
  privateKey: Hex,
): SigningClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: chainFor(env),
    pollingInterval: pollingIntervalFor(env.chainId),
    transport: http(env.rpcUrl),
  });
}
