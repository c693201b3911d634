import "server-only";
import { LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import { webEnv } from "~/env";
import { getServices, tokenSymbol } from "~/server/services";
import type { ChainInfo, ChainTarget } from "./connect";

/**
 * The chain id and, on the local chain only, its RPC URL: a hosted chain's URL may carry an
 * API key, so the browser reaches that chain through its own wallet instead.
 */
export function chainTarget(): ChainTarget {
  const { chain } = webEnv();
  return { chainId: chain.chainId, rpcUrl: chain.chainId === LOCAL_CHAIN_ID ? chain.rpcUrl : null };
}

/** The chain facts the browser's wallet needs, with the token's address and symbol. */
export async function chainInfo(): Promise<ChainInfo | { error: string }> {
  try {
    const { chain } = await getServices();
    return {
      ...chainTarget(),
      token: chain.manifest.contracts.CohortToken,
      tokenSymbol: await tokenSymbol(),
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
