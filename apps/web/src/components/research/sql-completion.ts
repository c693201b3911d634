import type { Completion } from "@codemirror/autocomplete";

/** What the SQL editor completes: the public data card's tables and columns. */
export interface SchemaTable {
  name: string;
  columns: Array<{ name: string; type: string }>;
}

/** The functions validate.ts accepts, with how they are called. */
export const ALLOWED_FUNCTIONS: ReadonlyArray<{ name: string; signature: string }> = [
  { name: "count", signature: "count(*) or count(DISTINCT person_id)" },
  { name: "sum", signature: "sum(column), clamped to declared bounds" },
  { name: "avg", signature: "avg(column), clamped to declared bounds" },
  { name: "least", signature: "least(greatest(column, low), high): a clamp" },
  { name: "greatest", signature: "greatest(column, low)" },
  { name: "floor", signature: "floor(x / n) * n: bins" },
  { name: "age_band", signature: "age_band(year_of_birth, width)" },
  { name: "year", signature: "year(date)" },
  { name: "quarter", signature: "quarter(date)" },
  { name: "month", signature: "month(date)" },
  { name: "date_trunc", signature: "date_trunc('year' | 'quarter' | 'month', date)" },
  { name: "left", signature: "left(text, n)" },
];

/** Completion options: every table, every column (with its tables), every allowed function. */
export function completionOptions(tables: readonly SchemaTable[]): Completion[] {
  const columns = new Map<string, { type: string; tables: string[] }>();
  for (const table of tables) {
    for (const column of table.columns) {
      const entry = columns.get(column.name) ?? { type: column.type, tables: [] };
      entry.tables.push(table.name);
      columns.set(column.name, entry);
    }
  }
  return [
    ...tables.map((t) => ({ label: t.name, type: "type", detail: "table", boost: 2 })),
    ...[...columns].map(([name, c]) => ({
      label: name,
      type: "property",
      detail: `${c.type} · ${c.tables.join(", ")}`,
      boost: 1,
    })),
    ...ALLOWED_FUNCTIONS.map((f) => ({
      label: f.name,
      type: "function",
      detail: f.signature,
      apply: `${f.name}(`,
    })),
  ];
}
