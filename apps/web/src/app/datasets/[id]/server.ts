import "server-only";
import { LOCAL_CHAIN_ID } from "@opencohort/chain/dev-accounts";
import { datasetIdSchema } from "@opencohort/validators";
import { notFound } from "next/navigation";
import { erc20Abi } from "viem";
import type { ChainInfo } from "~/components/research/wallet";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";

/** The dataset id of the route, or a 404 for anything that cannot be one. */
export function routeDatasetId(id: string): string {
  const parsed = datasetIdSchema.safeParse(decodeURIComponent(id));
  if (!parsed.success) notFound();
  return parsed.data;
}

/** What the browser needs to transact: the chain id and, on the local chain, its RPC URL. */
export function chainInfo(): ChainInfo {
  const { chain } = webEnv();
  return { chainId: chain.chainId, rpcUrl: chain.chainId === LOCAL_CHAIN_ID ? chain.rpcUrl : null };
}

export async function tokenSymbol(): Promise<string> {
  try {
    const { chain } = await getServices();
    return await chain.client.readContract({
      address: chain.manifest.contracts.CohortToken,
      abi: erc20Abi,
      functionName: "symbol",
    });
  } catch {
    return "tokens";
  }
}
