import Link from "next/link";
import { readOverview } from "~/server/overview";

export const dynamic = "force-dynamic";

const number = (value: number) => value.toLocaleString("en-US");

export default async function HomePage() {
  let overview: Awaited<ReturnType<typeof readOverview>>;
  try {
    overview = await readOverview();
  } catch (error) {
    return (
      <main>
        <h1>OpenCohort</h1>
        <p className="error" role="alert">
          The marketplace cannot reach its chain or database right now: {(error as Error).message}
        </p>
      </main>
    );
  }
  return (
    <main>
      <h1>OpenCohort</h1>
      <p className="muted">Consented, aggregate-only research on health data, governed on chain.</p>
      <dl className="grid">
        <div className="card">
          <dt>Chain · latest block</dt>
          <dd data-testid="chain">
            {overview.chainId} · #{overview.blockNumber.toString()}
          </dd>
        </div>
        <div className="card">
          <dt>Minimum cell size (governed)</dt>
          <dd data-testid="min-cell-size">k = {overview.standards.minCellSize}</dd>
        </div>
        <div className="card">
          <dt>Counts rounded to</dt>
          <dd data-testid="rounding-base">{overview.standards.roundingBase}</dd>
        </div>
      </dl>
      <h2>Datasets</h2>
      {overview.datasets.length === 0 ? (
        <p className="muted">No dataset is listed yet.</p>
      ) : (
        <ul className="datasets" data-testid="datasets">
          {overview.datasets.map((dataset) => (
            <li key={dataset.id} className="card">
              <h3>{dataset.title}</h3>
              <p className="muted">{dataset.description}</p>
              <p>
                {dataset.persons === null ? "size pending" : `${number(dataset.persons)} persons`} ·{" "}
                {number(dataset.consented)} consented · {dataset.price} {overview.token.symbol} per
                access pass
              </p>
              <p className="muted">{dataset.conditions.join(" · ")}</p>
            </li>
          ))}
        </ul>
      )}
      {overview.totalDatasets > overview.datasets.length && (
        <p>
          <Link href="/datasets">
            All {number(overview.totalDatasets)} datasets in the catalogue →
          </Link>
        </p>
      )}
    </main>
  );
}
