import type { Metadata } from "next";
import { erc20Abi } from "viem";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";
import { Catalogue } from "./catalogue";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Catalogue · OpenCohort" };

async function tokenSymbol(): Promise<string> {
  try {
    const { chain } = await getServices();
    return await chain.client.readContract({
      address: chain.manifest.contracts.CohortToken,
      abi: erc20Abi,
      functionName: "symbol",
    });
  } catch {
    return "tokens";
  }
}

export default async function CataloguePage() {
  return (
    <main>
      <h1>Dataset catalogue</h1>
      <p className="muted">
        Anonymized cohorts listed by their stewards. Only aggregates ever leave the system; an
        access pass lets you run queries for a limited time.
      </p>
      <Catalogue tokenSymbol={await tokenSymbol()} chainId={webEnv().chain.chainId} />
    </main>
  );
}
