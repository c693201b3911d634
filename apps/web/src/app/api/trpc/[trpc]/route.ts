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
      trustedProxyHops: webEnv().trustedProxyHops,
      onError({ path, error }) {
        // Expected refusals are the caller's business; anything else goes to the server log.
        const code = (error as { code?: string }).code;
        if (code === "INTERNAL_SERVER_ERROR") console.error(`[api] ${path ?? "?"}:`, error);
      },
    });
  }
  return handler(request);
}

export { handle as GET, handle as POST };
