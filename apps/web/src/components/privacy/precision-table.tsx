import { countPrecision, queryAccounting } from "@opencohort/validators/accounting";

/**
 * In plain words, how precise a released count of a given size will be under a set of privacy
 * standards (the ones in force on a dataset page; the proposed ones for a steward): from the
 * public parameters alone, by the same accounting the engine uses.
 */
export function PrecisionTable({
  standards,
  testId = "precision",
}: {
  standards: { epsilonPerQuery: number; epsilonBudget: number; roundingBase: number };
  testId?: string;
}) {
  if (
    !(standards.epsilonPerQuery > 0) ||
    !(standards.epsilonBudget >= standards.epsilonPerQuery) ||
    !(standards.roundingBase >= 1)
  ) {
    return null;
  }
  const rows = countPrecision(standards);
  const accounting = queryAccounting(standards);
  const queries = Math.floor((standards.epsilonBudget + 1e-9) / standards.epsilonPerQuery);
  const percent = (x: number) => `${x < 0.001 ? "<0.1" : (100 * x).toPrecision(2)}%`;
  const plusMinus = (x: number) => `±${Math.round(x)}`;
  const sizes = [...new Set(rows.map((r) => r.persons))];
  const at = (level: "person" | "event", persons: number) =>
    rows.find((r) => r.level === level && r.persons === persons);
  return (
    <div data-testid={testId}>
      <p className="small">
        Each researcher gets {queries} queries on a dataset. A count of persons is typically off by
        the share below (half the answers are closer), and the true count lies within the ± range
        95% of the time ({accounting.mechanism} noise
        {accounting.mechanism === "gaussian"
          ? `, zCDP: ρ ${accounting.rho.toPrecision(3)} per query`
          : ""}
        ).
      </p>
      <table className="small">
        <thead>
          <tr>
            <th>a count of</th>
            {sizes.map((n) => (
              <th key={n}>{n.toLocaleString("en-US")} persons</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(["person", "event"] as const).map((level) => (
            <tr key={level}>
              <td>
                {level === "person" ? "by sex, age, region" : "by code or date (event-level)"}
              </td>
              {sizes.map((n) => {
                const r = at(level, n);
                return (
                  <td key={n}>
                    {r ? `${percent(r.typicalRelativeError)} (${plusMinus(r.halfWidth95)})` : "—"}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
