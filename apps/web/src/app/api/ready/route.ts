/**
 * Readiness: 200 when the database, the chain RPC and the indexer are fine, 503 naming the
 * failing checks otherwise (packages/api/src/services/readiness.ts), within the configured
 * timeout. A server that could not build its services at all fails the "services" check.
 */
import { checkReadiness } from "@opencohort/api/services/readiness";
import { webEnv } from "~/env";
import { getServices } from "~/server/services";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const headers = { "cache-control": "no-store" };

export async function GET(): Promise<Response> {
  let env: ReturnType<typeof webEnv>;
  let services: Awaited<ReturnType<typeof getServices>>;
  try {
    env = webEnv();
    services = await getServices();
  } catch {
    // The reason goes to the server log (getServices); never into this public answer.
    return Response.json(
      {
        status: "not ready",
        failing: ["services"],
        checks: { services: { status: "failing", reason: "the server's services did not start" } },
      },
      { status: 503, headers },
    );
  }
  const report = await checkReadiness(services, {
    ...env.readiness,
    confirmations: env.chain.confirmations,
  });
  return Response.json(
    {
      status: report.ready ? "ready" : "not ready",
      failing: report.failing,
      checks: report.checks,
    },
    { status: report.ready ? 200 : 503, headers },
  );
}
