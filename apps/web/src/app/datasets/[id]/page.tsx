import type { Metadata } from "next";
import { DatasetView } from "~/components/research/dataset-view";
import { chainInfo, routeDatasetId, tokenSymbol } from "./server";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Dataset · OpenCohort" };

export default async function DatasetPage({ params }: { params: Promise<{ id: string }> }) {
  const datasetId = routeDatasetId((await params).id);
  return (
    <main>
      <DatasetView datasetId={datasetId} chain={chainInfo()} tokenSymbol={await tokenSymbol()} />
    </main>
  );
}
