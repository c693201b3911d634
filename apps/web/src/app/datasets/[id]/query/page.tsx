import type { Metadata } from "next";
import { QueryWorkspace } from "~/components/research/query-workspace";
import { routeDatasetId } from "../server";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Query workspace · OpenCohort" };

export default async function QueryPage({ params }: { params: Promise<{ id: string }> }) {
  const datasetId = routeDatasetId((await params).id);
  return (
    <main>
      <QueryWorkspace datasetId={datasetId} />
    </main>
  );
}
