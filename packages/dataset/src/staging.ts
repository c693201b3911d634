import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { ImportError } from "./errors";
import { OMOP_SOURCE_TABLES, type OmopSourceTable, type SourceColumn } from "./omop-tables";

/**
 * The import's working database: an in-memory DuckDB (spilling to the import's temp folder)
 * where every source, whatever its format, becomes the same staging tables src_<omop table>
 * with the canonical lower-case columns of OMOP_SOURCE_TABLES.
 */
export interface Staging {
  connection: DuckDBConnection;
  /** How to name a source table in an error: its file, or the database table. */
  labels: Map<OmopSourceTable, string>;
  /** Source line of the first data row (CSV: 2, after the header); absent: no line numbers. */
  firstLine: Map<OmopSourceTable, number>;
  close(): void;
}

/** The staging database's memory; beyond it DuckDB spills to the import's temp folder. */
export const STAGING_MEMORY_LIMIT = "2GB";

export async function openStaging(tempDir: string, threads?: number): Promise<Staging> {
  const instance = await DuckDBInstance.create(":memory:", {
    temp_directory: tempDir,
    memory_limit: STAGING_MEMORY_LIMIT,
    threads: String(threads ?? 2),
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run("SET preserve_insertion_order = true");
  return {
    connection,
    labels: new Map(),
    firstLine: new Map(),
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Whether the staging database has a table of this name. */
export async function tableExists(staging: Staging, name: string) {
  const reader = await staging.connection.runAndReadAll(
    "SELECT count(*) FROM duckdb_tables() WHERE table_name = $name",
    { name },
  );
  return Number(reader.getRows()[0]?.[0]) > 0;
}

export const quoteLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;
const quoteIdentifier = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** The first bytes of a file (gunzipped when it ends in .gz), enough to hold its header line. */
async function readStart(path: string, label: string, bytes = 64 * 1024): Promise<string> {
  const file = createReadStream(path, path.endsWith(".gz") ? {} : { end: bytes - 1 });
  const stream = path.endsWith(".gz") ? file.pipe(createGunzip()) : file;
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes || chunk.includes(10)) break;
    }
  } catch (error) {
    throw new ImportError(`cannot be read (${(error as Error).message})`, { file: label });
  } finally {
    file.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes).toString("utf8");
}

/** Reads the header line of a delimited file (plain or gzip): its column names and delimiter. */
async function readHeader(
  path: string,
  label: string,
): Promise<{ names: string[]; delimiter: string }> {
  const text = (await readStart(path, label)).replace(/^\uFEFF/, "");
  const line = text.split(/\r?\n/, 1)[0] ?? "";
  // Athena vocabulary downloads are tab-separated although named .csv.
  const delimiter = line.includes("\t") ? "\t" : ",";
  const names = line.split(delimiter).map((name) => name.trim().replace(/^"(.*)"$/, "$1"));
  return { names, delimiter };
}

/** Matches the canonical columns to the file's (any case); a missing required one is an error. */
function projection(
  columns: readonly SourceColumn[],
  present: readonly string[],
  label: string,
): { select: string; types: Record<string, string> } {
  const byLower = new Map(present.map((name) => [name.toLowerCase(), name]));
  const types: Record<string, string> = {};
  const select = columns.map((column) => {
    const actual = byLower.get(column.name);
    if (actual === undefined) {
      if (column.optional) return `NULL::${column.type} AS ${column.name}`;
      throw new ImportError(`required column ${column.name} is missing`, {
        file: label,
        line: 1,
      });
    }
    types[actual] = column.type;
    return `${quoteIdentifier(actual)} AS ${column.name}`;
  });
  return { select: select.join(", "), types };
}

/**
 * Loads one delimited file into src_<table>. Rows that do not parse (too few or many fields,
 * a value of the wrong type) are collected by DuckDB with their line numbers; the first one
 * becomes the error, so a steward is told exactly where to look.
 */
export async function stageDelimitedFile(
  staging: Staging,
  table: OmopSourceTable,
  path: string,
  label: string,
  /** Where the first data row is counted from: 2 for a file's lines, 1 for a table's rows. */
  firstDataLine = 2,
): Promise<number> {
  const { names, delimiter } = await readHeader(path, label);
  const { select, types } = projection(OMOP_SOURCE_TABLES[table], names, label);
  const typeList = Object.entries(types)
    .map(([name, type]) => `${quoteLiteral(name)}: ${quoteLiteral(type)}`)
    .join(", ");
  const rejects = `rejects_${table}`;
  try {
    await staging.connection.run(
      `CREATE OR REPLACE TABLE src_${table} AS SELECT ${select}
       FROM read_csv(${quoteLiteral(path)}, header = true, delim = ${quoteLiteral(delimiter)},
         quote = '"', escape = '"', all_varchar = true, types = {${typeList}},
         store_rejects = true, rejects_table = '${rejects}', rejects_scan = 'scan_${table}')`,
    );
  } catch (error) {
    throw new ImportError(`cannot be read as CSV (${firstLine((error as Error).message)})`, {
      file: label,
    });
  }
  const reader = await staging.connection.runAndReadAll(
    `SELECT line, column_name, error_type FROM ${rejects} ORDER BY line LIMIT 1`,
  );
  const [rejected] = reader.getRowObjectsJS();
  if (rejected) {
    const what =
      rejected.error_type === "CAST"
        ? `column ${String(rejected.column_name).toLowerCase()} does not hold a valid ${types[String(rejected.column_name)]?.toLowerCase() ?? "value"}`
        : `the line does not have the header's ${names.length} fields`;
    const line = Number(rejected.line) - 2 + firstDataLine;
    const unit = firstDataLine === 1 ? "row" : "line";
    throw new ImportError(`malformed ${unit}: ${what}`, { file: label, line, unit });
  }
  staging.labels.set(table, label);
  staging.firstLine.set(table, firstDataLine);
  const count = await staging.connection.runAndReadAll(`SELECT count(*) FROM src_${table}`);
  return Number(count.getRows()[0]?.[0] ?? 0);
}

/** Loads one table of an attached database (DuckDB file) into src_<table>, casting as declared. */
export async function stageAttachedTable(
  staging: Staging,
  table: OmopSourceTable,
  qualifiedName: string,
  present: readonly string[],
  label: string,
): Promise<number> {
  const columns = OMOP_SOURCE_TABLES[table];
  const byLower = new Map(present.map((name) => [name.toLowerCase(), name]));
  const select = columns
    .map((column) => {
      const actual = byLower.get(column.name);
      if (actual === undefined) {
        if (column.optional) return `NULL::${column.type} AS ${column.name}`;
        throw new ImportError(`required column ${column.name} is missing`, { file: label });
      }
      return `CAST(${quoteIdentifier(actual)} AS ${column.type}) AS ${column.name}`;
    })
    .join(", ");
  try {
    await staging.connection.run(
      `CREATE OR REPLACE TABLE src_${table} AS SELECT ${select} FROM ${qualifiedName}`,
    );
  } catch (error) {
    throw new ImportError(`a value does not convert (${firstLine((error as Error).message)})`, {
      file: label,
    });
  }
  staging.labels.set(table, label);
  const count = await staging.connection.runAndReadAll(`SELECT count(*) FROM src_${table}`);
  return Number(count.getRows()[0]?.[0] ?? 0);
}

const firstLine = (message: string) => message.split("\n", 1)[0] ?? message;

/** Writes rows as RFC 4180 CSV (NULL as an empty unquoted field). */
export async function writeCsv(
  path: string,
  header: readonly string[],
  rows: readonly (readonly (string | null)[])[],
  append: boolean,
) {
  const field = (value: string | null) =>
    value === null
      ? ""
      : /[",\r\n]/.test(value) || value === ""
        ? `"${value.replaceAll('"', '""')}"`
        : value;
  const lines = rows.map((row) => row.map(field).join(","));
  const text = `${append ? "" : `${header.join(",")}\n`}${lines.join("\n")}${lines.length > 0 ? "\n" : ""}`;
  await writeFile(path, text, { flag: append ? "a" : "w" });
}
