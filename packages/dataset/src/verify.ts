import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { verifyDatasetFolder } from "@opencohort/synth";
import { type DatasetManifest, hashedFiles } from "@opencohort/validators";
import { quoteLiteral } from "./staging";

export type VerifyResult =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; problems: string[] };

/**
 * Checks a dataset folder as a reader would: the manifest is valid for its schema version,
 * every file is there, the content hash matches the bytes, and each Parquet file has the
 * declared columns (names and types, in order) and row count.
 */
export async function verifyDataset(dir: string): Promise<VerifyResult> {
  const checked = await verifyDatasetFolder(dir);
  if (!checked.ok) return { ok: false, problems: checked.problems };
  const { manifest } = checked;
  const problems: string[] = [];
  const instance = await DuckDBInstance.create(":memory:", {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  try {
    const declared = [...manifest.tables, ...(manifest.vocabulary ?? [])];
    for (const { file } of hashedFiles(manifest)) {
      const table = declared.find((t) => t.file === file);
      if (!table) continue;
      const path = quoteLiteral(join(dir, file));
      const described = await connection.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${path}))`,
      );
      const actual = described
        .getRows()
        .map(([name, type]) => `${String(name)} ${String(type)}`)
        .join(", ");
      const expected = table.columns.map((c) => `${c.name} ${c.type}`).join(", ");
      if (actual !== expected) {
        problems.push(`${file} has columns (${actual}), the manifest declares (${expected})`);
      }
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${path})`);
      const rows = Number(counted.getRows()[0]?.[0]);
      if (rows !== table.rowCount) {
        problems.push(`${file} has ${rows} rows, the manifest says ${table.rowCount}`);
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return problems.length === 0 ? { ok: true, manifest } : { ok: false, problems };
}
