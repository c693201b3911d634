/**
 * The accreditation rule ("safe people"): only a researcher whose ResearcherCredential is
 * valid on chain right now (issued through governance, not suspended, revoked or expired)
 * may run feasibility counts or queries. Read live, like Marketplace.hasAccess, so a
 * suspension refuses the very next request, before any indexer catches up.
 */
import { researcherCredentialAbi } from "@opencohort/chain";
import type { Address } from "viem";
import type { ApiContext } from "../context";
import { refusal } from "./refusal";

export const ACCREDITATION_RULE = "accreditation";

export async function requireAccreditation(
  ctx: Pick<ApiContext, "chain">,
  researcher: Address,
): Promise<void> {
  const accredited = await ctx.chain.client.readContract({
    address: ctx.chain.manifest.contracts.ResearcherCredential,
    abi: researcherCredentialAbi,
    functionName: "isAccredited",
    args: [researcher],
  });
  if (!accredited) {
    throw refusal(
      "FORBIDDEN",
      ACCREDITATION_RULE,
      "Your researcher credential is not valid now (none was issued to this address, or it was suspended, revoked or expired), so no count or query can run (rule accreditation). Ask the stewards who accredit researchers.",
    );
  }
}
