import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type DatasetManifest,
  datasetManifestSchema,
  hashedFiles,
  schemaProblems,
} from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";

export const MANIFEST_FILE = "manifest.json";

/** Reads and validates dir/manifest.json; throws with the schema's message when invalid. */
export async function readManifest(dir: string): Promise<DatasetManifest> {
  const text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST_FILE} in ${dir} is not valid JSON`);
  }
  const parsed = datasetManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "(root)";
    throw new Error(`${MANIFEST_FILE} in ${dir} is invalid at ${where}: ${issue?.message}`);
  }
  return parsed.data;
}

export async function writeManifest(dir: string, manifest: DatasetManifest) {
  const valid = datasetManifestSchema.parse(manifest);
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(valid, null, 2)}\n`);
}

export type DatasetVerification =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; manifest?: DatasetManifest; problems: string[] };

/**
 * Checks a dataset folder before anyone trusts it: the manifest parses, every listed file
 * exists, no table is listed twice, and the recomputed content hash equals the manifest's.
 * Row counts are not re-read here (that needs DuckDB); the hash already pins the bytes.
 */
export async function verifyDatasetFolder(dir: string): Promise<DatasetVerification> {
  let manifest: DatasetManifest;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
  const problems: string[] = schemaProblems(manifest);
  const seen = new Set<string>();
  for (const table of hashedFiles(manifest)) {
    if (seen.has(table.name)) problems.push(`table ${table.name} is listed twice`);
    seen.add(table.name);
    try {
      const info = await stat(join(dir, table.file));
      if (!info.isFile()) problems.push(`${table.file} is not a file`);
    } catch {
      problems.push(`${table.file} is missing`);
    }
  }
  if (problems.length === 0) {
    const actual = await computeContentHash(dir, hashedFiles(manifest));
    if (actual !== manifest.contentHash) {
      problems.push(
        `content hash mismatch: manifest says ${manifest.contentHash}, files hash to ${actual}`,
      );
    }
  }
  return problems.length === 0 ? { ok: true, manifest } : { ok: false, manifest, problems };
}
