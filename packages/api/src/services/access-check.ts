/**
 * The access-pass rule of the query router: a researcher may query a dataset only while
 * holding an active pass. Marketplace.hasAccess on chain is the single source of truth; the
 * mirrored AccessPass must agree (it is what the web app showed the researcher), so a pass
 * that expired, or that the indexer has not seen, refuses too.
 */
import { marketplaceAbi } from "@opencohort/chain";
import type { Address, Hex } from "viem";
import type { ApiContext } from "../context";
import { requireAccreditation } from "./accreditation";
import { refusal } from "./refusal";

export const ACCESS_PASS_RULE = "access-pass";

export async function requireActivePass(
  ctx: Pick<ApiContext, "db" | "chain">,
  researcher: Address,
  datasetId: string,
  now = new Date(),
): Promise<{ expiresAt: Date }> {
  // A pass is worth nothing without a valid credential: say that first, it is the reason.
  await requireAccreditation(ctx, researcher);
  const [pass, onChain] = await Promise.all([
    ctx.db.accessPass.findUnique({
      where: {
        researcherAddress_datasetId: { researcherAddress: researcher.toLowerCase(), datasetId },
      },
      select: { expiresAt: true },
    }),
    ctx.chain.client.readContract({
      address: ctx.chain.manifest.contracts.Marketplace,
      abi: marketplaceAbi,
      functionName: "hasAccess",
      args: [researcher, datasetId as Hex],
    }),
  ]);
  if (!onChain || !pass || pass.expiresAt <= now) {
    throw refusal(
      "FORBIDDEN",
      ACCESS_PASS_RULE,
      "You need an active access pass for this dataset (rule access-pass): buy one, or renew an expired one.",
    );
  }
  return { expiresAt: pass.expiresAt };
}
