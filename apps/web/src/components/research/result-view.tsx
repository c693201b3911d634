"use client";
import styles from "./research.module.css";
import {
  cell,
  chartBars,
  isUnreliable,
  plusMinus,
  type Result,
  resultCsv,
  uncertaintyOf,
  uncertaintyTitle,
} from "./result-format";

/** "k = 11", or the raised threshold of groups that come from the data, with its delta. */
function thresholdLabel(result: Result, minCellSize: number | undefined): string {
  const k = minCellSize ? `k = ${minCellSize}` : "k";
  const threshold = result.releaseThreshold;
  if (threshold === undefined || minCellSize === undefined || threshold <= minCellSize) return k;
  const delta = result.delta === undefined ? "" : `, δ = ${result.delta.toExponential(1)}`;
  return `${threshold} (raised above ${k}: these groups come from the data, not from declared values${delta})`;
}

export { resultCsv } from "./result-format";

function downloadCsv(result: Result, name: string) {
  const blob = new Blob([resultCsv(result)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A horizontal SVG bar chart of the first measure by the dimensions, each bar with its 95%
 * interval as an error bar (hatched when the number is unreliable).
 */
function BarChart({ result }: { result: Result }) {
  const { measure, bars } = chartBars(result);
  if (measure === -1 || bars.length === 0) return null;
  const max = Math.max(1, ...bars.map((bar) => Math.max(bar.value, bar.hi ?? 0)));
  const barHeight = 22;
  const labelWidth = 150;
  const width = 640;
  const chartWidth = width - labelWidth - 90;
  const height = bars.length * (barHeight + 6) + 8;
  const x = (value: number) => labelWidth + Math.max(0, (value / max) * chartWidth);
  const name = result.columns[measure]?.name;
  return (
    <figure className={styles.chart}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label={`Bar chart of ${name} with 95% intervals`}
        data-testid="result-chart"
      >
        {bars.map((bar, i) => {
          const y = 4 + i * (barHeight + 6);
          const w = Math.max(1, x(bar.value) - labelWidth);
          const mid = y + barHeight / 2;
          const end = Math.max(x(bar.value), bar.hi !== undefined ? x(bar.hi) : 0);
          return (
            <g key={`${bar.label}-${i}`}>
              <text x={labelWidth - 8} y={y + barHeight * 0.7} textAnchor="end" fontSize="12">
                {bar.label.length > 22 ? `${bar.label.slice(0, 21)}…` : bar.label}
              </text>
              <rect
                x={labelWidth}
                y={y}
                width={w}
                height={barHeight}
                rx="3"
                fill={bar.unreliable ? "#94a3b8" : "#0f766e"}
              />
              {bar.lo !== undefined && bar.hi !== undefined && (
                <g stroke="#1e293b" strokeWidth="1.5" data-testid="error-bar">
                  <title>
                    95% interval {cell(bar.lo)} to {cell(bar.hi)}
                  </title>
                  <line x1={x(bar.lo)} x2={x(bar.hi)} y1={mid} y2={mid} />
                  <line x1={x(bar.lo)} x2={x(bar.lo)} y1={mid - 6} y2={mid + 6} />
                  <line x1={x(bar.hi)} x2={x(bar.hi)} y1={mid - 6} y2={mid + 6} />
                </g>
              )}
              <text x={end + 6} y={y + barHeight * 0.7} fontSize="12">
                {cell(bar.value)}
                {bar.unreliable ? " ⚠" : ""}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="muted small">
        {name} (noisy, rounded; whiskers: 95% intervals)
        {result.rows.length > 40 ? ` · first 40 of ${result.rows.length} groups` : ""}
      </figcaption>
    </figure>
  );
}

/**
 * Names generated columns of results stored before outputs had names (col1, col2…): the
 * cohort builder's dimensions after its groupBy, unnamed measures after their kind.
 */
export function labelDimensions(result: Result, groupBy?: readonly string[]): Result {
  let next = 0;
  return {
    ...result,
    columns: result.columns.map((column) => {
      const generated = /^col\d+$/.test(column.name);
      if (column.kind !== "dimension") return generated ? { ...column, name: column.kind } : column;
      const label = groupBy?.[next++];
      return label && generated ? { ...column, name: label } : column;
    }),
  };
}

/** Whether a measure of a released row reads 0 (noise and rounding took a small value there). */
function releasedZero(result: Result): boolean {
  return result.rows.some((row) =>
    row.some((value, j) => result.columns[j]?.kind !== "dimension" && value === 0),
  );
}

/** The released rows as a table and a chart, and CSV export. Withheld groups are not counted. */
export function ResultView({
  result,
  minCellSize,
  fileName,
  chart = true,
}: {
  result: Result;
  minCellSize?: number;
  fileName?: string;
  chart?: boolean;
}) {
  return (
    <div className={styles.result} data-testid="result">
      <div className={styles.tableWrap}>
        <table className={styles.table}>
          <thead>
            <tr>
              {result.columns.map((column) => (
                <th key={column.name} className={column.kind === "dimension" ? "" : styles.num}>
                  {column.name}
                  {column.kind !== "dimension" && column.kind !== column.name && (
                    <small> {column.kind}</small>
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, i) => (
              <tr key={i}>
                {row.map((value, j) => {
                  if (result.columns[j]?.kind === "dimension")
                    return <td key={j}>{cell(value)}</td>;
                  const u = uncertaintyOf(result, i, j);
                  const unreliable = isUnreliable(value, u);
                  return (
                    <td
                      key={j}
                      className={`${styles.num} ${unreliable ? styles.unreliable : ""}`}
                      title={uncertaintyTitle(value, u) ?? undefined}
                      data-testid={unreliable ? "unreliable-cell" : undefined}
                    >
                      {cell(value)}
                      {u && typeof value === "number" && (
                        <span className={styles.pm} data-testid="plus-minus">
                          {" "}
                          {plusMinus(value, u)}
                        </span>
                      )}
                      {unreliable && (
                        <span
                          className={styles.warn}
                          role="img"
                          aria-label="unreliable"
                          data-testid="unreliable"
                        >
                          {" "}
                          ⚠
                        </span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
            <tr className={styles.suppressed} data-testid="suppressed-rows">
              <td colSpan={Math.max(1, result.columns.length)}>
                {result.rows.length === 0 ? "No group was released. " : ""}Groups whose noisy person
                count is under {thresholdLabel(result, minCellSize)} are withheld, and how many were
                withheld is not shown: that number would be exact.
              </td>
            </tr>
          </tbody>
        </table>
      </div>
      {releasedZero(result) && (
        <p className="muted small" data-testid="noisy-zero-note">
          A released 0 is a noisy, rounded value, not an empty group: every released group has at
          least {minCellSize ? `k = ${minCellSize}` : "k"} persons by its noisy count, but the noise
          that protects them can be as large as a small count. Read small values as “few”.
        </p>
      )}
      {result.uncertainty && (
        <p className="muted small" data-testid="uncertainty-note">
          ± is the half-width of a 95% interval for the number before noise, computed from the
          public noise scale and the rounding base only (it costs no budget). ⚠ marks a number whose
          interval is wider than the number itself: noise of its own size. Hover a number for its
          interval and noise standard deviation; the CSV has them as _sd, _lo, _hi.
        </p>
      )}
      {chart && <BarChart result={result} />}
      {fileName && (
        <button
          type="button"
          className="secondary"
          data-testid="export-csv"
          onClick={() => downloadCsv(result, fileName)}
        >
          Export CSV
        </button>
      )}
    </div>
  );
}
