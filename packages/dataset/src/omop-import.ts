import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildOptions, buildDataset, type ImportReport, refuseExistingOutput } from "./build";
import { stageOmopSource } from "./omop-source";
import { DROPPED_OMOP_FIELDS } from "./omop-tables";
import { openStaging } from "./staging";

export interface OmopImportOptions extends BuildOptions {
  /** Schema of the CDM tables in a DuckDB file (default main) or PostgreSQL (default public). */
  schema?: string;
  threads?: number;
}

/**
 * Imports an OMOP CDM v5.3/v5.4 export (CSV folder, DuckDB file or PostgreSQL URL) into an
 * omop-lite/2 dataset folder at options.outDir.
 */
export async function importOmop(
  source: string,
  options: OmopImportOptions,
): Promise<ImportReport> {
  await refuseExistingOutput(options.outDir);
  const tempDir = await mkdtemp(join(tmpdir(), "opencohort-import-"));
  const staging = await openStaging(tempDir, options.threads);
  try {
    options.onProgress?.({ stage: "reading the source", done: 0, total: 1 });
    const present = await stageOmopSource(staging, source, {
      tempDir,
      ...(options.schema !== undefined ? { schema: options.schema } : {}),
      onTable: (table, rows) =>
        options.onProgress?.({
          stage: `read ${table} (${rows.toLocaleString("en-US")} rows)`,
          done: 0,
          total: 1,
        }),
    });
    const dropped = DROPPED_OMOP_FIELDS.map(({ field, reason }) => ({ what: field, reason }));
    return await buildDataset(staging, present, options, dropped);
  } finally {
    staging.close();
    await rm(tempDir, { recursive: true, force: true });
  }
}
