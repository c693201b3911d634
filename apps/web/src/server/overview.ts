import "server-only";
import {
  chainEnv,
  createChainPublicClient,
  type DeploymentManifest,
  readDeploymentManifest,
} from "@opencohort/chain";
import { erc20Abi, formatUnits } from "viem";

export interface Overview {
  chainId: number;
  blockNumber: bigint;
  token: { name: string; symbol: string; totalSupply: string };
  manifest: DeploymentManifest;
}

/** What the home page shows, read live from the deployed contracts. */
export async function readOverview(): Promise<Overview> {
  const env = chainEnv();
  const manifest = readDeploymentManifest(env.deploymentPath);
  const client = createChainPublicClient(env);
  const token = { address: manifest.contracts.CohortToken, abi: erc20Abi } as const;
  const [blockNumber, name, symbol, decimals, totalSupply] = await Promise.all([
    client.getBlockNumber(),
    client.readContract({ ...token, functionName: "name" }),
    client.readContract({ ...token, functionName: "symbol" }),
    client.readContract({ ...token, functionName: "decimals" }),
    client.readContract({ ...token, functionName: "totalSupply" }),
  ]);
  return {
    chainId: manifest.chainId,
    blockNumber,
    token: { name, symbol, totalSupply: formatUnits(totalSupply, decimals) },
    manifest,
  };
}
