import { createRestHandler, openApiDocument } from "@opencohort/api";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

let handler: ((request: Request) => Promise<Response | null>) | undefined;

/** The documented HTTP API for scripts (packages/api/src/rest.ts); tokens in Authorization. */
async function handle(request: Request): Promise<Response> {
  if (!handler) {
    const services = await getServices();
    handler = createRestHandler(services, {
      trustedProxyHops: webEnv().trustedProxyHops,
      document: () => openApiDocument(services.config.siweUri),
    });
  }
  return (
    (await handler(request)) ??
    Response.json(
      { error: { code: "NOT_FOUND", message: "No such API route; see /api/openapi.json." } },
      { status: 404 },
    )
  );
}

export { handle as GET, handle as POST };
