import type { Metadata } from "next";
import { ResearcherCredentials } from "~/components/steward/credentials";
import { ImportDataset } from "~/components/steward/import-dataset";
import { StewardView } from "~/components/steward/steward-view";
import { getServices } from "~/server/services";
import { chainInfo } from "~/wallet/chain-info";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Stewards · OpenCohort" };

export default async function StewardPage() {
  const chain = await chainInfo();
  const registry =
    "error" in chain ? null : (await getServices()).chain.manifest.contracts.DatasetRegistry;
  return (
    <main>
      <h1>Stewards</h1>
      <p className="muted">
        The standards every query runs under, the proposals that change them, the stewards, and
        publishing your datasets.
      </p>
      {"error" in chain || !registry ? (
        <p className="error">{"error" in chain ? chain.error : "No deployment."}</p>
      ) : (
        <>
          <StewardView chain={chain} registry={registry} />
          <ResearcherCredentials chain={chain} />
        </>
      )}
      <ImportDataset />
    </main>
  );
}
