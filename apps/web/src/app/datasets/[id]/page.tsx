import type { Metadata } from "next";
import { DatasetView } from "~/components/research/dataset-view";
import { chainInfo } from "~/wallet/chain-info";
import { routeDatasetId } from "./server";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Dataset · OpenCohort" };

export default async function DatasetPage({ params }: { params: Promise<{ id: string }> }) {
  const datasetId = routeDatasetId((await params).id);
  const chain = await chainInfo();
  return (
    <main>
      {"error" in chain ? (
        <p className="error">{chain.error}</p>
      ) : (
        <DatasetView datasetId={datasetId} chain={chain} tokenSymbol={chain.tokenSymbol} />
      )}
    </main>
  );
}
