import { stewardGovernorAbi } from "@opencohort/chain/generated/abis";
import type { BuildProposalInput } from "@opencohort/validators";
import type { Hex } from "viem";
import type { useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet } from "~/wallet/connect";

/**
 * Builds a proposal through the API (which refuses a change that could only revert at
 * execution) and sends Governor.propose from the steward's wallet. The proposal appears in
 * the list once indexed.
 */
export async function proposeChange(
  client: ReturnType<typeof useTRPCClient>,
  chain: ChainInfo,
  address: string,
  input: BuildProposalInput,
): Promise<{ block: bigint; id: string }> {
  const built = await client.governance.buildProposal.mutate(input);
  const wallet = await connectWallet(chain, address);
  const { receipt } = await wallet.send({
    address: built.governor,
    abi: stewardGovernorAbi,
    functionName: "propose",
    args: [built.targets, built.values, built.calldatas as Hex[], built.description],
  });
  return { block: receipt.blockNumber, id: built.proposalId };
}
