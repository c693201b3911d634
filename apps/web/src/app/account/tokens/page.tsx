import type { Metadata } from "next";
import Link from "next/link";
import { TokensView } from "~/components/account/tokens-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "API tokens · OpenCohort" };

export default function TokensPage() {
  return (
    <main>
      <h1>API tokens</h1>
      <p className="muted">
        Personal tokens let your scripts and notebooks act as you, narrowed to the scopes you
        choose. See the <Link href="/docs/api">HTTP API</Link> and the Python client.
      </p>
      <TokensView />
    </main>
  );
}
