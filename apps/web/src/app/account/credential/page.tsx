import type { Metadata } from "next";
import { CredentialView } from "~/components/account/credential-view";
import { chainInfo } from "~/wallet/chain-info";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Researcher credential · OpenCohort" };

export default async function CredentialPage() {
  const chain = await chainInfo();
  return (
    <main>
      <h1>Researcher credential</h1>
      <p className="muted">
        Stewards accredit researchers through governance. Your credential lets you buy access and
        run counts and queries; every address on it shares one privacy budget per dataset.
      </p>
      {"error" in chain ? <p className="error">{chain.error}</p> : <CredentialView chain={chain} />}
    </main>
  );
}
