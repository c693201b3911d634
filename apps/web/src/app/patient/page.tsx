import type { Metadata } from "next";
import { PatientView } from "~/components/patient/patient-view";
import { chainInfo } from "~/wallet/chain-info";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "My data · OpenCohort" };

export default async function PatientPage() {
  const chain = await chainInfo();
  return (
    <main>
      <h1>My data</h1>
      <p className="muted">
        The datasets your records are part of, your consent for each, who used them and what you
        earned.
      </p>
      {"error" in chain ? <p className="error">{chain.error}</p> : <PatientView chain={chain} />}
    </main>
  );
}
