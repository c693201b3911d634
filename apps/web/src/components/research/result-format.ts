import type { CellUncertainty, ResearcherResult } from "@opencohort/validators";
// A value import from the package root would bundle zod into every page that shows results.
import { isUnreliable } from "@opencohort/validators/uncertainty";

/**
 * Presentation of released results (no React, no CSS, so it is unit-tested): cells, the
 * uncertainty beside each noisy number, CSV and chart bars. Everything shown comes from the
 * result itself; nothing here sees more than the researcher does.
 */

export type Result = Pick<ResearcherResult, "columns" | "rows" | "uncertainty"> &
  Partial<Pick<ResearcherResult, "releaseThreshold" | "delta">>;
export type Cell = string | number | null;

export const cell = (value: Cell) =>
  value === null ? "—" : typeof value === "number" ? String(Number(value.toFixed(4))) : value;

/** Rounded for reading: whole numbers from 100 on, two decimals below. */
const short = (value: number, round: (x: number) => number = Math.round) =>
  String(Math.abs(value) >= 100 ? round(value) : Number(value.toFixed(2)));
/** An interval's ends, rounded outwards. */
const ends = (u: CellUncertainty) => `${short(u.lo, Math.floor)} to ${short(u.hi, Math.ceil)}`;

export function uncertaintyOf(result: Result, row: number, column: number): CellUncertainty | null {
  return result.uncertainty?.[row]?.[column] ?? null;
}

/** The larger distance from the value to an end of its 95% interval (counts stop at 0). */
export function halfWidth(value: number, u: CellUncertainty): number {
  return Math.max(u.hi - value, value - u.lo);
}

/** "± 14" beside a released number. */
export function plusMinus(value: Cell, u: CellUncertainty | null): string | null {
  if (!u || typeof value !== "number") return null;
  return `± ${short(halfWidth(value, u))}`;
}

/** The tooltip of a released number: its interval and noise sd, and why it may be unreliable. */
export function uncertaintyTitle(value: Cell, u: CellUncertainty | null): string | null {
  if (!u || typeof value !== "number") return null;
  const base = `95% interval ${ends(u)}; noise sd ${short(u.sd)}.`;
  return isUnreliable(value, u)
    ? `Unreliable: the 95% interval (${ends(u)}) is wider than the value itself, so the noise is as large as what it protects. ${base}`
    : base;
}

export { isUnreliable };

/**
 * CSV of the released aggregate rows (never more than the table shows). Each noisy column is
 * followed by `<name>_sd`, `<name>_lo`, `<name>_hi` when the result carries its uncertainty.
 */
export function resultCsv(result: Result): string {
  const quote = (value: Cell) => {
    const text = value === null ? "" : String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const withUncertainty = result.uncertainty !== undefined;
  const header: string[] = [];
  for (const column of result.columns) {
    header.push(column.name);
    if (withUncertainty && column.kind !== "dimension")
      header.push(`${column.name}_sd`, `${column.name}_lo`, `${column.name}_hi`);
  }
  const lines = [header.map(quote).join(",")];
  for (const [i, row] of result.rows.entries()) {
    const cells: Cell[] = [];
    for (const [j, value] of row.entries()) {
      cells.push(value);
      if (withUncertainty && result.columns[j]?.kind !== "dimension") {
        const u = uncertaintyOf(result, i, j);
        cells.push(u?.sd ?? null, u?.lo ?? null, u?.hi ?? null);
      }
    }
    lines.push(cells.map(quote).join(","));
  }
  return `${lines.join("\n")}\n`;
}

export interface Bar {
  label: string;
  value: number;
  lo?: number;
  hi?: number;
  unreliable: boolean;
}

/** The first measure by the dimensions, with its 95% interval as the error bar. */
export function chartBars(result: Result, limit = 40): { measure: number; bars: Bar[] } {
  const measure = result.columns.findIndex((column) => column.kind !== "dimension");
  if (measure === -1) return { measure, bars: [] };
  const dimensions = result.columns
    .map((column, index) => ({ column, index }))
    .filter(({ column }) => column.kind === "dimension");
  const bars = result.rows.slice(0, limit).map((row, i): Bar => {
    const raw = row[measure] ?? null;
    const value = typeof raw === "number" ? raw : 0;
    const u = typeof raw === "number" ? uncertaintyOf(result, i, measure) : null;
    return {
      label:
        dimensions.length === 0
          ? "all"
          : dimensions.map(({ index }) => cell(row[index] ?? null)).join(" · "),
      value,
      ...(u ? { lo: u.lo, hi: u.hi } : {}),
      unreliable: isUnreliable(raw, u),
    };
  });
  return { measure, bars };
}

/** "(at line L, column C)" at the end of a refusal: where the engine says the rule applies. */
export function refusalPosition(
  message: string | null | undefined,
): { line: number; column: number } | null {
  const match = /\(at line (\d+), column (\d+)\)$/.exec(message ?? "");
  return match ? { line: Number(match[1]), column: Number(match[2]) } : null;
}
