import { readOverview } from "~/server/overview";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  let overview: Awaited<ReturnType<typeof readOverview>>;
  try {
    overview = await readOverview();
  } catch (error) {
    return (
      <main>
        <h1>OpenCohort</h1>
        <p className="error" role="alert">
          The marketplace cannot reach its chain right now: {(error as Error).message}
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
          <dt>Chain</dt>
          <dd data-testid="chain-id">{overview.chainId}</dd>
        </div>
        <div className="card">
          <dt>Latest block</dt>
          <dd data-testid="block-number">{overview.blockNumber.toString()}</dd>
        </div>
        <div className="card">
          <dt>{overview.token.name} supply</dt>
          <dd data-testid="token-supply">
            {Number(overview.token.totalSupply).toLocaleString("en-US")} {overview.token.symbol}
          </dd>
        </div>
      </dl>
    </main>
  );
}
