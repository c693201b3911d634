import { createApiRequestHandler } from "@opencohort/api";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

let handler: ((request: Request) => Promise<Response>) | undefined;

async function handle(request: Request): Promise<Response> {
  if (!handler) {
    handler = createApiRequestHandler(await getServices(), {
      endpoint: "/api/trpc",
      // Refusals and unexpected errors are logged by the handler (api services/log.ts).
      trustedProxyHops: webEnv().trustedProxyHops,
    });
  }
  return handler(request);
}

export { handle as GET, handle as POST };
