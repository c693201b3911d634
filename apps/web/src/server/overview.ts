import "server-only";
/**
 * What the home page shows: live governed standards from the chain, and the first listed
 * datasets through the API's own catalogue procedure (the code /datasets runs).
 */
import { createCaller, createContextInner } from "@opencohort/api";
import { standardsRegistryAbi } from "@opencohort/chain";
import { getServices, tokenSymbol } from "./services";

/** Datasets shown on the home page; the catalogue has the rest. */
const HOME_DATASETS = 6;

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
  token: { symbol: string };
  standards: { minCellSize: number; roundingBase: number };
  datasets: DatasetSummary[];
  /** Listed datasets in all. */
  totalDatasets: number;
}

export async function readOverview(): Promise<Overview> {
  const services = await getServices();
  const { client, manifest } = services.chain;
  const standards = {
    address: manifest.contracts.StandardsRegistry,
    abi: standardsRegistryAbi,
  } as const;
  const { dataset } = createCaller(createContextInner({ services }));
  const [blockNumber, symbol, minCellSize, roundingBase, list] = await Promise.all([
    client.getBlockNumber(),
    tokenSymbol(),
    client.readContract({ ...standards, functionName: "minCellSize" }),
    client.readContract({ ...standards, functionName: "roundingBase" }),
    dataset.list({ sort: "oldest", limit: HOME_DATASETS }),
  ]);
  return {
    chainId: manifest.chainId,
    blockNumber,
    token: { symbol },
    standards: { minCellSize, roundingBase },
    datasets: list.items.map((item) => ({
      id: item.id,
      title: item.title,
      description: item.description,
      price: item.priceFormatted,
      persons: item.persons,
      consented: item.consented,
      conditions: item.conditions.map((condition) => condition.label || condition.code),
    })),
    totalDatasets: list.total,
  };
}
