"use client";
import type { ResearcherResult } from "@opencohort/validators";
import styles from "./research.module.css";

type Result = Pick<ResearcherResult, "columns" | "rows"> &
  Partial<Pick<ResearcherResult, "releaseThreshold" | "delta">>;

/** "k = 11", or the raised threshold of groups that come from the data, with its delta. */
function thresholdLabel(result: Result, minCellSize: number | undefined): string {
  const k = minCellSize ? `k = ${minCellSize}` : "k";
  const threshold = result.releaseThreshold;
  if (threshold === undefined || minCellSize === undefined || threshold <= minCellSize) return k;
  const delta = result.delta === undefined ? "" : `, δ = ${result.delta.toExponential(1)}`;
  return `${threshold} (raised above ${k}: these groups come from the data, not from declared values${delta})`;
}

const cell = (value: string | number | null) =>
  value === null ? "—" : typeof value === "number" ? String(Number(value.toFixed(4))) : value;

/** CSV of the released aggregate rows (never more than the table shows). */
export function resultCsv(result: Result): string {
  const quote = (value: string | number | null) => {
    const text = value === null ? "" : String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [result.columns.map((column) => quote(column.name)).join(",")];
  for (const row of result.rows) lines.push(row.map(quote).join(","));
  return `${lines.join("\n")}\n`;
}

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

/** A horizontal SVG bar chart of the first measure by the dimensions. */
function BarChart({ result }: { result: Result }) {
  const measure = result.columns.findIndex((column) => column.kind !== "dimension");
  if (measure === -1 || result.rows.length === 0) return null;
  const dimensions = result.columns
    .map((column, index) => ({ column, index }))
    .filter(({ column }) => column.kind === "dimension");
  const bars = result.rows.slice(0, 40).map((row) => ({
    label:
      dimensions.length === 0
        ? "all"
        : dimensions.map(({ index }) => cell(row[index] ?? null)).join(" · "),
    value: typeof row[measure] === "number" ? (row[measure] as number) : 0,
  }));
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const barHeight = 22;
  const labelWidth = 150;
  const width = 640;
  const chartWidth = width - labelWidth - 70;
  const height = bars.length * (barHeight + 6) + 8;
  return (
    <figure className={styles.chart}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label={`Bar chart of ${result.columns[measure]?.name}`}
        data-testid="result-chart"
      >
        {bars.map((bar, i) => {
          const y = 4 + i * (barHeight + 6);
          const w = Math.max(1, (bar.value / max) * chartWidth);
          return (
            <g key={`${bar.label}-${i}`}>
              <text x={labelWidth - 8} y={y + barHeight * 0.7} textAnchor="end" fontSize="12">
                {bar.label.length > 22 ? `${bar.label.slice(0, 21)}…` : bar.label}
              </text>
              <rect x={labelWidth} y={y} width={w} height={barHeight} rx="3" fill="#0f766e" />
              <text x={labelWidth + w + 6} y={y + barHeight * 0.7} fontSize="12">
                {cell(bar.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="muted small">
        {result.columns[measure]?.name} (noisy, rounded)
        {result.rows.length > 40 ? ` · first 40 of ${result.rows.length} groups` : ""}
      </figcaption>
    </figure>
  );
}

/**
 * Names generated columns (col1, col2…): the cohort builder's dimensions after its groupBy,
 * unnamed measures after their kind (count, sum…).
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
                {row.map((value, j) => (
                  <td key={j} className={result.columns[j]?.kind === "dimension" ? "" : styles.num}>
                    {cell(value)}
                  </td>
                ))}
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
