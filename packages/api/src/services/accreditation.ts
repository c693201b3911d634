/**
 * The accreditation rule ("safe people"): only a researcher whose ResearcherCredential is
 * valid on chain right now (issued through governance, not suspended, revoked or expired)
 * may run feasibility counts or queries. Read live, like Marketplace.hasAccess, so a
 * suspension refuses the very next request, before any indexer catches up.
 */
import { researcherCredentialAbi } from "@opencohort/chain";
import { type Address, getAbiItem } from "viem";
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

/**
 * Every address that ever acted for `researcher`'s credential (added ones, and removed ones,
 * which stay bound to it), lowercased, `researcher` included: the privacy budget is kept per
 * credential, so a second wallet or a rotated one spends from the same budget. From the
 * credential's AddressAdded events; an address without a credential is on its own.
 */
export async function credentialAddresses(
  chain: Pick<ApiContext["chain"], "client" | "manifest">,
  researcher: Address,
): Promise<string[]> {
  const own = researcher.toLowerCase();
  const credentialId = (
    await chain.client.readContract({
      address: chain.manifest.contracts.ResearcherCredential,
      abi: researcherCredentialAbi,
      functionName: "bindingOf",
      args: [researcher],
    })
  )[0];
  if (credentialId === 0n) return [own];
  const added = await chain.client.getLogs({
    address: chain.manifest.contracts.ResearcherCredential,
    event: getAbiItem({ abi: researcherCredentialAbi, name: "AddressAdded" }),
    args: { credentialId },
    fromBlock: BigInt(chain.manifest.startBlock),
  });
  const addresses = new Set([own]);
  for (const log of added) {
    if (log.args.account) addresses.add(log.args.account.toLowerCase());
  }
  return [...addresses];
}
