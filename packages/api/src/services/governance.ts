/**
 * Governance helpers: the live proposal state from StewardGovernor, the calldata of a
 * standards change against StandardsRegistry, and what a proposal's calls change.
 */
import { standardsRegistryAbi, stewardGovernorAbi } from "@opencohort/chain";
import type { StandardsChange } from "@opencohort/validators";
import {
  type Address,
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionData,
  formatUnits,
  type Hex,
  keccak256,
  type PublicClient,
  parseUnits,
  stringToHex,
} from "viem";

/** OpenZeppelin Governor's ProposalState, in its order (the Prisma enum has the same). */
export const proposalStates = [
  "PENDING",
  "ACTIVE",
  "CANCELED",
  "DEFEATED",
  "SUCCEEDED",
  "QUEUED",
  "EXPIRED",
  "EXECUTED",
] as const;
export type ProposalStateName = (typeof proposalStates)[number];

/**
 * The state on chain right now: ACTIVE, DEFEATED and SUCCEEDED depend on the block, which
 * no mirrored event announces. Null when the governor does not know the id (a proposal whose
 * creation was reorged away and not yet rolled back by the indexer).
 */
export async function liveProposalState(
  client: PublicClient,
  governor: Address,
  proposalId: string,
): Promise<ProposalStateName | null> {
  try {
    const state = await client.readContract({
      address: governor,
      abi: stewardGovernorAbi,
      functionName: "state",
      args: [BigInt(proposalId)],
    });
    return proposalStates[Number(state)] ?? null;
  } catch {
    return null;
  }
}

/** Governor.hashProposal: uint256(keccak256(abi.encode(targets, values, calldatas, descriptionHash))). */
export function proposalIdOf(
  targets: readonly Address[],
  values: readonly bigint[],
  calldatas: readonly Hex[],
  descriptionHash: Hex,
): string {
  return BigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }],
        [targets, values, calldatas, descriptionHash],
      ),
    ),
  ).toString();
}

export const descriptionHashOf = (description: string): Hex => keccak256(stringToHex(description));

/** keccak256 of a schema label, as StandardsRegistry keys accepted schema versions. */
export const schemaVersionHash = (label: string): Hex => keccak256(stringToHex(label));

/** The StandardsRegistry call that makes `change`. */
export function standardsCalldata(change: StandardsChange): Hex {
  switch (change.kind) {
    case "minCellSize":
      return encodeFunctionData({
        abi: standardsRegistryAbi,
        functionName: "setMinCellSize",
        args: [change.value],
      });
    case "roundingBase":
      return encodeFunctionData({
        abi: standardsRegistryAbi,
        functionName: "setRoundingBase",
        args: [change.value],
      });
    case "epsilon":
      return encodeFunctionData({
        abi: standardsRegistryAbi,
        functionName: "setEpsilon",
        args: [parseUnits(change.perQuery, 18), parseUnits(change.budget, 18)],
      });
    case "feeSplit":
      return encodeFunctionData({
        abi: standardsRegistryAbi,
        functionName: "setFeeSplit",
        args: [change.patientsBps, change.stewardBps, change.treasuryBps],
      });
    case "schemaVersion":
      return encodeFunctionData({
        abi: standardsRegistryAbi,
        functionName: "setSchemaAccepted",
        args: [schemaVersionHash(change.label), change.accepted],
      });
  }
}

export type DecodedCall =
  | { kind: "minCellSize"; value: number }
  | { kind: "roundingBase"; value: number }
  | { kind: "epsilon"; perQuery: string; budget: string }
  | { kind: "feeSplit"; patientsBps: number; stewardBps: number; treasuryBps: number }
  | { kind: "treasury"; treasury: string }
  | { kind: "schemaVersion"; schemaVersion: string; accepted: boolean }
  | { kind: "other"; target: string };

/** What one call of a proposal does, when it is a StandardsRegistry setter. */
export function describeCall(
  standardsRegistry: Address,
  target: string,
  calldata: string,
): DecodedCall {
  if (target.toLowerCase() !== standardsRegistry.toLowerCase()) return { kind: "other", target };
  try {
    const call = decodeFunctionData({ abi: standardsRegistryAbi, data: calldata as Hex });
    switch (call.functionName) {
      case "setMinCellSize":
        return { kind: "minCellSize", value: Number(call.args[0]) };
      case "setRoundingBase":
        return { kind: "roundingBase", value: Number(call.args[0]) };
      case "setEpsilon":
        return {
          kind: "epsilon",
          perQuery: formatUnits(call.args[0], 18),
          budget: formatUnits(call.args[1], 18),
        };
      case "setFeeSplit":
        return {
          kind: "feeSplit",
          patientsBps: Number(call.args[0]),
          stewardBps: Number(call.args[1]),
          treasuryBps: Number(call.args[2]),
        };
      case "setTreasury":
        return { kind: "treasury", treasury: call.args[0].toLowerCase() };
      case "setSchemaAccepted":
        return { kind: "schemaVersion", schemaVersion: call.args[0], accepted: call.args[1] };
      default:
        return { kind: "other", target };
    }
  } catch {
    return { kind: "other", target };
  }
}
