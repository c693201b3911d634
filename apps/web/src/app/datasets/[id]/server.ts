import "server-only";
import { datasetIdSchema } from "@opencohort/validators";
import { notFound } from "next/navigation";

/** The dataset id of the route, or a 404 for anything that cannot be one. */
export function routeDatasetId(id: string): string {
  const parsed = datasetIdSchema.safeParse(decodeURIComponent(id));
  if (!parsed.success) notFound();
  return parsed.data;
}
