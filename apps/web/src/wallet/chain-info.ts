import "server-only";
import { erc20Abi } from "viem";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";
import type { ChainInfo } from "./connect";

/** The chain facts the browser's wallet needs: chain id, RPC endpoint, token address and symbol. */
export async function chainInfo(): Promise<ChainInfo | { error: string }> {
  try {
    const { chain } = await getServices();
    const token = chain.manifest.contracts.CohortToken;
    const tokenSymbol = await chain.client
      .readContract({ address: token, abi: erc20Abi, functionName: "symbol" })
      .catch(() => "tokens");
    return { chainId: chain.chainId, rpcUrl: webEnv().chain.rpcUrl, token, tokenSymbol };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
