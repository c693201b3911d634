import { type Abi, type Address, decodeEventLog, type Log } from "viem";
import {
  consentRegistryAbi,
  datasetRegistryAbi,
  marketplaceAbi,
  queryLedgerAbi,
  researcherCredentialAbi,
  rewardDistributorAbi,
  standardsRegistryAbi,
  stewardBadgeAbi,
  stewardGovernorAbi,
} from "../generated/abis";
import type { ContractAddresses } from "../manifest";

/** JSON-safe decoded event arguments: uints as decimal strings, addresses lower-case. */
export type EventArgs = Record<string, string | boolean | string[] | number>;

export interface DecodedEvent {
  blockNumber: bigint;
  blockHash: string;
  blockTimestamp: bigint | undefined;
  txHash: string;
  logIndex: number;
  address: string;
  eventName: string;
  args: EventArgs;
}

/** The contracts whose events the app mirrors, with the ABI to decode each. */
export function indexedContracts(contracts: ContractAddresses): { address: Address; abi: Abi }[] {
  return [
    { address: contracts.DatasetRegistry, abi: datasetRegistryAbi },
    { address: contracts.Marketplace, abi: marketplaceAbi },
    { address: contracts.ConsentRegistry, abi: consentRegistryAbi },
    { address: contracts.StandardsRegistry, abi: standardsRegistryAbi },
    { address: contracts.StewardBadge, abi: stewardBadgeAbi },
    { address: contracts.StewardGovernor, abi: stewardGovernorAbi },
    { address: contracts.RewardDistributor, abi: rewardDistributorAbi },
    { address: contracts.QueryLedger, abi: queryLedgerAbi },
    { address: contracts.ResearcherCredential, abi: researcherCredentialAbi },
  ];
}

function jsonSafe(value: unknown): EventArgs[string] {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value.startsWith("0x") ? value.toLowerCase() : value;
  if (typeof value === "boolean" || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((item) => String(jsonSafe(item)));
  return String(value);
}

type RpcLog = Log & { blockTimestamp?: bigint | `0x${string}` | null };

/** Decodes a log with its contract's ABI; undefined for events the app does not mirror. */
export function decodeLog(
  log: RpcLog,
  abiByAddress: Map<string, Abi>,
  mirrored: ReadonlySet<string>,
): DecodedEvent | undefined {
  const abi = abiByAddress.get(log.address.toLowerCase());
  if (!abi || log.blockNumber === null || log.blockHash === null || log.logIndex === null) return;
  if (log.transactionHash === null) return;
  let decoded: { eventName: string | undefined; args: unknown };
  try {
    decoded = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true });
  } catch {
    return;
  }
  if (!decoded.eventName || !mirrored.has(decoded.eventName)) return;
  const args: EventArgs = {};
  for (const [name, value] of Object.entries(decoded.args as Record<string, unknown>)) {
    args[name] = jsonSafe(value);
  }
  return {
    blockNumber: log.blockNumber,
    blockHash: log.blockHash.toLowerCase(),
    blockTimestamp: log.blockTimestamp == null ? undefined : BigInt(log.blockTimestamp),
    txHash: log.transactionHash.toLowerCase(),
    logIndex: log.logIndex,
    address: log.address.toLowerCase(),
    eventName: decoded.eventName,
    args,
  };
}
