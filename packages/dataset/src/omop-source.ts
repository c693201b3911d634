import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import pg from "pg";
import { ImportError } from "./errors";
import { OMOP_SOURCE_TABLES, type OmopSourceTable } from "./omop-tables";
import {
  quoteLiteral,
  type Staging,
  stageAttachedTable,
  stageDelimitedFile,
  writeCsv,
} from "./staging";

export type StageProgress = (table: OmopSourceTable, rows: number) => void;

type TableFilter = (name: string) => name is OmopSourceTable;

/**
 * The tables to stage. concept_relationship only when asked (FHIR's "Maps to"): an OMOP CDM's
 * events already carry standard concepts, and a full Athena concept_relationship is gigabytes.
 */
const tableFilter =
  (relationships: boolean): TableFilter =>
  (name): name is OmopSourceTable =>
    name in OMOP_SOURCE_TABLES && (relationships || name !== "concept_relationship");

/**
 * Stages an OMOP CDM source: a folder of CSV files (person.csv or PERSON.csv, ...), a DuckDB
 * file, or a PostgreSQL URL (with `schema` naming the CDM schema, default public). Only the
 * tables the importer reads are staged; which ones are present decides what is imported.
 */
export async function stageOmopSource(
  staging: Staging,
  source: string,
  options: { schema?: string; tempDir: string; onTable?: StageProgress; relationships?: boolean },
): Promise<Set<OmopSourceTable>> {
  const isOmopTable = tableFilter(options.relationships === true);
  if (/^postgres(ql)?:\/\//.test(source)) {
    return stagePostgres(staging, source, options.schema ?? "public", { ...options, isOmopTable });
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source);
  } catch {
    throw new ImportError("no such file or folder", { file: source });
  }
  if (info.isDirectory()) return stageCsvFolder(staging, source, isOmopTable, options.onTable);
  return stageDuckDbFile(staging, source, options.schema ?? "main", isOmopTable, options.onTable);
}

async function stageCsvFolder(
  staging: Staging,
  dir: string,
  isOmopTable: TableFilter,
  onTable?: StageProgress,
) {
  const present = new Set<OmopSourceTable>();
  const files = (await readdir(dir)).sort();
  for (const file of files) {
    const match = /^(.*)\.(csv|tsv)(\.gz)?$/i.exec(file);
    const table = match?.[1]?.toLowerCase();
    if (!table || !isOmopTable(table)) continue;
    if (present.has(table)) throw new ImportError(`${table} is given twice`, { file });
    const rows = await stageDelimitedFile(staging, table, join(dir, file), file);
    present.add(table);
    onTable?.(table, rows);
  }
  return present;
}

async function stageDuckDbFile(
  staging: Staging,
  path: string,
  schema: string,
  isOmopTable: TableFilter,
  onTable?: StageProgress,
) {
  const label = basename(path);
  try {
    await staging.connection.run(`ATTACH ${quoteLiteral(path)} AS omop_source (READ_ONLY)`);
  } catch {
    throw new ImportError("is neither a CSV folder nor a DuckDB database", { file: label });
  }
  const reader = await staging.connection.runAndReadAll(
    `SELECT lower(table_name) AS t, table_name, list(column_name) AS columns
     FROM duckdb_columns() WHERE database_name = 'omop_source' AND schema_name = $schema
     GROUP BY table_name ORDER BY t`,
    { schema },
  );
  const present = new Set<OmopSourceTable>();
  for (const row of reader.getRowObjectsJS()) {
    const table = String(row.t);
    if (!isOmopTable(table)) continue;
    const qualified = `omop_source."${schema.replaceAll('"', '""')}"."${String(row.table_name).replaceAll('"', '""')}"`;
    const rows = await stageAttachedTable(
      staging,
      table,
      qualified,
      (row.columns as string[]) ?? [],
      `${label} table ${schema}.${row.table_name}`,
    );
    present.add(table);
    onTable?.(table, rows);
  }
  await staging.connection.run("DETACH omop_source");
  return present;
}

const PG_BATCH_ROWS = 50_000;

/**
 * PostgreSQL through the pg client (DuckDB's postgres extension cannot be installed offline):
 * each table is read with a server-side cursor in batches, as text, into a CSV in the import's
 * temp folder, which is then staged like any CSV so parsing and errors are the same. Errors
 * name the table and row ("row 3" is the table's third row in the cursor's order).
 */
async function stagePostgres(
  staging: Staging,
  url: string,
  schema: string,
  options: { tempDir: string; onTable?: StageProgress; isOmopTable: TableFilter },
) {
  const { isOmopTable } = options;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    throw new ImportError(`cannot connect to PostgreSQL (${(error as Error).message})`);
  }
  const present = new Set<OmopSourceTable>();
  try {
    const { rows: columns } = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      [schema],
    );
    const byTable = new Map<string, string[]>();
    for (const { table_name, column_name } of columns) {
      const list = byTable.get(table_name) ?? [];
      list.push(column_name);
      byTable.set(table_name, list);
    }
    for (const [tableName, tableColumns] of byTable) {
      const table = tableName.toLowerCase();
      if (!isOmopTable(table)) continue;
      const label = `postgres ${schema}.${tableName}`;
      const wanted = new Map(tableColumns.map((name) => [name.toLowerCase(), name]));
      const read = OMOP_SOURCE_TABLES[table].filter((column) => wanted.has(column.name));
      const csv = join(options.tempDir, `pg-${table}.csv`);
      const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
      const select = read
        .map((column) => `${ident(wanted.get(column.name) as string)}::text`)
        .join(", ");
      await client.query("BEGIN");
      await client.query(
        `DECLARE omop_cursor NO SCROLL CURSOR FOR SELECT ${select} FROM ${ident(schema)}.${ident(tableName)}`,
      );
      let append = false;
      for (;;) {
        const batch = await client.query({
          text: `FETCH ${PG_BATCH_ROWS} FROM omop_cursor`,
          rowMode: "array",
        });
        await writeCsv(
          csv,
          read.map((column) => column.name),
          batch.rows as (string | null)[][],
          append,
        );
        append = true;
        if (batch.rows.length < PG_BATCH_ROWS) break;
      }
      await client.query("CLOSE omop_cursor");
      await client.query("COMMIT");
      const rows = await stageDelimitedFile(staging, table, csv, label, 1);
      present.add(table);
      options.onTable?.(table, rows);
    }
  } finally {
    await client.end();
  }
  return present;
}
