/**
 * Governance helpers: the live proposal state from StewardGovernor, the call a proposal
 * makes (a StandardsRegistry setter, or StewardBadge mint/burn for membership), and what a
 * proposal's calls change.
 */
import {
  researcherCredentialAbi,
  schemaVersionHash,
  standardsRegistryAbi,
  stewardBadgeAbi,
  stewardGovernorAbi,
} from "@opencohort/chain";
import type { ProposalChange } from "@opencohort/validators";
import {
  type Address,
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionData,
  formatUnits,
  getAddress,
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

/** The contracts a proposal may call (both owned by the timelock). */
export interface GovernedContracts {
  StandardsRegistry: Address;
  StewardBadge: Address;
  ResearcherCredential: Address;
}

/** The call (through the timelock) that makes `change`. */
export function proposalCall(
  change: ProposalChange,
  contracts: GovernedContracts,
): { target: Address; calldata: Hex } {
  const standards = (calldata: Hex) => ({ target: contracts.StandardsRegistry, calldata });
  const credential = (calldata: Hex) => ({ target: contracts.ResearcherCredential, calldata });
  switch (change.kind) {
    case "minCellSize":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setMinCellSize",
          args: [change.value],
        }),
      );
    case "roundingBase":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setRoundingBase",
          args: [change.value],
        }),
      );
    case "contributionCap":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setContributionCap",
          args: [change.value],
        }),
      );
    case "epsilon":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setEpsilon",
          args: [parseUnits(change.perQuery, 18), parseUnits(change.budget, 18)],
        }),
      );
    case "feeSplit":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setFeeSplit",
          args: [change.patientsBps, change.stewardBps, change.treasuryBps],
        }),
      );
    case "schemaVersion":
      return standards(
        encodeFunctionData({
          abi: standardsRegistryAbi,
          functionName: "setSchemaAccepted",
          args: [schemaVersionHash(change.label), change.accepted],
        }),
      );
    case "admitSteward":
    case "removeSteward":
      return {
        target: contracts.StewardBadge,
        calldata: encodeFunctionData({
          abi: stewardBadgeAbi,
          functionName: change.kind === "admitSteward" ? "mint" : "burn",
          args: [getAddress(change.steward)],
        }),
      };
    case "accreditResearcher":
      return credential(
        encodeFunctionData({
          abi: researcherCredentialAbi,
          functionName: "issue",
          args: [getAddress(change.researcher), keccak256(stringToHex(change.reference)), 0n],
        }),
      );
    case "approveCredentialAddress":
      return credential(
        encodeFunctionData({
          abi: researcherCredentialAbi,
          functionName: "approveAddress",
          args: [BigInt(change.credentialId), getAddress(change.account)],
        }),
      );
    case "suspendCredential":
      return credential(
        encodeFunctionData({
          abi: researcherCredentialAbi,
          functionName: "setSuspended",
          args: [BigInt(change.credentialId), change.suspended],
        }),
      );
    case "revokeCredential":
      return credential(
        encodeFunctionData({
          abi: researcherCredentialAbi,
          functionName: "revoke",
          args: [BigInt(change.credentialId)],
        }),
      );
  }
}

export type DecodedCall =
  | { kind: "minCellSize"; value: number }
  | { kind: "roundingBase"; value: number }
  | { kind: "contributionCap"; value: number }
  | { kind: "epsilon"; perQuery: string; budget: string }
  | { kind: "feeSplit"; patientsBps: number; stewardBps: number; treasuryBps: number }
  | { kind: "treasury"; treasury: string }
  | { kind: "schemaVersion"; schemaVersion: string; accepted: boolean }
  | { kind: "admitSteward"; steward: string }
  | { kind: "removeSteward"; steward: string }
  | { kind: "accreditResearcher"; researcher: string; referenceHash: string }
  | { kind: "approveCredentialAddress"; credentialId: string; account: string }
  | { kind: "suspendCredential"; credentialId: string; suspended: boolean }
  | { kind: "revokeCredential"; credentialId: string }
  | { kind: "other"; target: string };

/** What one call of a proposal does: a StandardsRegistry setter or a StewardBadge mint/burn. */
export function describeCall(
  contracts: GovernedContracts,
  target: string,
  calldata: string,
): DecodedCall {
  if (target.toLowerCase() === contracts.ResearcherCredential.toLowerCase()) {
    try {
      const call = decodeFunctionData({ abi: researcherCredentialAbi, data: calldata as Hex });
      switch (call.functionName) {
        case "issue":
          return {
            kind: "accreditResearcher",
            researcher: call.args[0].toLowerCase(),
            referenceHash: call.args[1],
          };
        case "approveAddress":
          return {
            kind: "approveCredentialAddress",
            credentialId: call.args[0].toString(),
            account: call.args[1].toLowerCase(),
          };
        case "setSuspended":
          return {
            kind: "suspendCredential",
            credentialId: call.args[0].toString(),
            suspended: call.args[1],
          };
        case "revoke":
          return { kind: "revokeCredential", credentialId: call.args[0].toString() };
      }
    } catch {
      // not an accreditation
    }
    return { kind: "other", target };
  }
  if (target.toLowerCase() === contracts.StewardBadge.toLowerCase()) {
    try {
      const call = decodeFunctionData({ abi: stewardBadgeAbi, data: calldata as Hex });
      if (call.functionName === "mint" || call.functionName === "burn") {
        return {
          kind: call.functionName === "mint" ? "admitSteward" : "removeSteward",
          steward: (call.args[0] as string).toLowerCase(),
        };
      }
    } catch {
      // not a membership call
    }
    return { kind: "other", target };
  }
  if (target.toLowerCase() !== contracts.StandardsRegistry.toLowerCase()) {
    return { kind: "other", target };
  }
  try {
    const call = decodeFunctionData({ abi: standardsRegistryAbi, data: calldata as Hex });
    switch (call.functionName) {
      case "setMinCellSize":
        return { kind: "minCellSize", value: Number(call.args[0]) };
      case "setRoundingBase":
        return { kind: "roundingBase", value: Number(call.args[0]) };
      case "setContributionCap":
        return { kind: "contributionCap", value: Number(call.args[0]) };
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
