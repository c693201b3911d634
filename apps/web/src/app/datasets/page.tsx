import { parseCatalogueParams } from "@opencohort/validators";
import type { Metadata } from "next";
import { Catalogue } from "./catalogue";
import styles from "./catalogue.module.css";
import { type CatalogueData, loadCatalogue } from "./catalogue-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Catalogue · OpenCohort" };

export default async function CataloguePage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { view, problems } = parseCatalogueParams(await searchParams);
  let data: CatalogueData | undefined;
  let failure: string | undefined;
  try {
    data = await loadCatalogue(view);
  } catch (error) {
    console.error("[catalogue]", error);
    failure = error instanceof Error ? error.message : String(error);
  }
  return (
    <main className={styles.main}>
      <h1>Dataset catalogue</h1>
      <p className="muted">
        Anonymized cohorts listed by their stewards. Only aggregates ever leave the system; an
        access pass lets you run queries for a limited time.
      </p>
      {data ? (
        <Catalogue view={view} problems={problems} {...data} />
      ) : (
        <p className="error" role="alert">
          The catalogue could not be loaded: {failure}. Try again in a moment.
        </p>
      )}
    </main>
  );
}
