import "server-only";
import {
  chainEnv,
  createChainPublicClient,
  readDeploymentManifest,
  standardsRegistryAbi,
} from "@opencohort/chain";
import { loadDbEnv, openDb } from "@opencohort/db";
import { erc20Abi, formatUnits } from "viem";

export interface DatasetSummary {
  id: string;
  title: string;
  description: string;
  price: string;
  persons: number | null;
  consented: number;
  conditions: string[];
}

export interface Overview {
  chainId: number;
  blockNumber: bigint;
  token: { name: string; symbol: string };
  standards: { minCellSize: number; roundingBase: number };
  datasets: DatasetSummary[];
}

let dbPromise: ReturnType<typeof openDb> | undefined;
const database = () => {
  dbPromise ??= openDb(loadDbEnv().databaseUrl);
  return dbPromise;
};

/** What the home page shows: live contract state plus the catalogue mirrored in the database. */
export async function readOverview(): Promise<Overview> {
  const env = chainEnv();
  const manifest = readDeploymentManifest(env.deploymentPath);
  const client = createChainPublicClient(env);
  const token = { address: manifest.contracts.CohortToken, abi: erc20Abi } as const;
  const standards = {
    address: manifest.contracts.StandardsRegistry,
    abi: standardsRegistryAbi,
  } as const;
  const db = await database();
  const [blockNumber, name, symbol, decimals, minCellSize, roundingBase, datasets, consents] =
    await Promise.all([
      client.getBlockNumber(),
      client.readContract({ ...token, functionName: "name" }),
      client.readContract({ ...token, functionName: "symbol" }),
      client.readContract({ ...token, functionName: "decimals" }),
      client.readContract({ ...standards, functionName: "minCellSize" }),
      client.readContract({ ...standards, functionName: "roundingBase" }),
      db.dataset.findMany({
        where: { listed: true },
        orderBy: { listedBlock: "asc" },
        select: {
          id: true,
          title: true,
          description: true,
          price: true,
          conditions: { select: { label: true } },
          versions: { orderBy: { version: "desc" }, take: 1, select: { personCount: true } },
        },
      }),
      db.consentState.groupBy({
        by: ["datasetId"],
        where: { granted: true },
        _count: { _all: true },
      }),
    ]);
  const consentedBy = new Map(consents.map((row) => [row.datasetId, row._count._all]));
  return {
    chainId: manifest.chainId,
    blockNumber,
    token: { name, symbol },
    standards: { minCellSize, roundingBase },
    datasets: datasets.map((dataset) => ({
      id: dataset.id,
      title: dataset.title || `Dataset ${dataset.id.slice(0, 10)}…`,
      description: dataset.description,
      price: formatUnits(BigInt(dataset.price), decimals),
      persons: dataset.versions[0]?.personCount ?? null,
      consented: consentedBy.get(dataset.id) ?? 0,
      conditions: dataset.conditions.map((condition) => condition.label),
    })),
  };
}
