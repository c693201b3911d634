import type { Metadata } from "next";
import { StewardView } from "~/components/steward/steward-view";
import { chainInfo } from "~/wallet/chain-info";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Stewards · OpenCohort" };

export default async function StewardPage() {
  const chain = await chainInfo();
  return (
    <main>
      <h1>Stewards</h1>
      <p className="muted">
        The standards every query runs under, the proposals that change them, and your datasets.
      </p>
      {"error" in chain ? <p className="error">{chain.error}</p> : <StewardView chain={chain} />}
    </main>
  );
}
