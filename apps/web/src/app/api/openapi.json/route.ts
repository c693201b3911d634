import { openApiDocument } from "@opencohort/api";
import { getServices } from "~/server/services";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The OpenAPI 3.1 document of /api/v1 (generated from the API's zod schemas). */
export async function GET(): Promise<Response> {
  const services = await getServices();
  return Response.json(openApiDocument(services.config.siweUri), {
    headers: { "cache-control": "no-store" },
  });
}
