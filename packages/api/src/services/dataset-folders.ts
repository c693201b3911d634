/**
 * Dataset folders (manifest.json + Parquet files) live under one dataset root on the API
 * host; stewards name them relative to it. Nothing outside the root is ever opened or
 * reported on: the folder name is validated (plain segments), and the resolved real path,
 * symlinks followed, must still lie inside the root's real path.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { DatasetOpenError, openDataset } from "@opencohort/compute";
import { readManifest, verifyDatasetFolder } from "@opencohort/synth";
import type { DatasetManifest } from "@opencohort/validators";
import { refusal } from "./refusal";

/** How deep under the root a dataset folder may sit (e.g. `<steward>/<dataset>/<version>`). */
const MAX_FOLDER_DEPTH = 3;
/** A steward's listing stops here: the root is meant for dataset folders, not a file share. */
const MAX_LISTED_FOLDERS = 500;

function requireRoot(root: string | null): string {
  if (root === null) {
    throw refusal(
      "PRECONDITION_FAILED",
      "dataset-root",
      "This server has no dataset root (OPENCOHORT_DATASET_ROOT), so no dataset files can be registered here (rule dataset-root).",
    );
  }
  return root;
}

async function realRoot(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch {
    throw refusal(
      "PRECONDITION_FAILED",
      "dataset-root",
      "The server's dataset root does not exist; ask the operator to create it (rule dataset-root).",
    );
  }
}

const inside = (parent: string, child: string) => child.startsWith(parent + sep);

/**
 * The absolute real path of `folder` (already validated by `datasetFolderSchema`) inside the
 * dataset root; refuses when it does not exist or escapes the root through a symlink.
 */
export async function resolveDatasetFolder(root: string | null, folder: string): Promise<string> {
  const base = await realRoot(requireRoot(root));
  let resolved: string;
  try {
    // The root comes from configuration at run time: nothing here for the bundler to trace.
    resolved = await realpath(
      /* turbopackIgnore: true */ join(/* turbopackIgnore: true */ base, folder),
    );
  } catch {
    throw refusal(
      "BAD_REQUEST",
      "dataset-folder",
      `There is no folder "${folder}" in the dataset root (rule dataset-folder).`,
    );
  }
  if (!inside(base, resolved)) {
    throw refusal(
      "FORBIDDEN",
      "dataset-root",
      `The folder "${folder}" leads outside the dataset root (rule dataset-root).`,
    );
  }
  return resolved;
}

export interface VerifiedFolder {
  location: string;
  manifest: DatasetManifest;
}

/**
 * The folder's manifest, once its files are present, its content hash is recomputed from the
 * bytes and matches, compute can open it, and it has a person table. Refuses with the
 * problems found otherwise.
 */
export async function verifiedDatasetFolder(location: string): Promise<VerifiedFolder> {
  const problem = (detail: string) =>
    refusal(
      "BAD_REQUEST",
      "dataset-folder",
      `The folder is not a valid dataset (rule dataset-folder): ${detail}.`,
    );
  const verification = await verifyDatasetFolder(location);
  if (!verification.ok) throw problem(verification.problems.join("; "));
  const { manifest } = verification;
  if (!manifest.tables.some((table) => table.name === "person")) {
    throw problem("it has no person table");
  }
  try {
    // What compute will require: an integer person_id in every table (bytes already hashed).
    await openDataset(location, { verifyContentHash: false });
  } catch (error) {
    if (!(error instanceof DatasetOpenError)) throw error;
    throw problem(error.message);
  }
  return { location, manifest };
}

export interface DatasetFolderSummary {
  /** Relative to the dataset root, with "/" separators. */
  folder: string;
  /** The absolute path stored as a version's location once registered. */
  location: string;
  /** What the manifest claims; `steward.inspectFolder` recomputes it from the bytes. */
  contentHash: string | null;
  schemaVersion: string | null;
  persons: number | null;
  title: string | null;
  description: string | null;
  createdAt: string | null;
  /** Why manifest.json could not be read, if it could not. */
  problem: string | null;
}

/** Every folder under the root holding a manifest.json, at most MAX_FOLDER_DEPTH deep. */
export async function listDatasetFolders(root: string | null): Promise<DatasetFolderSummary[]> {
  const base = await realRoot(requireRoot(root));
  const found: DatasetFolderSummary[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (found.length >= MAX_LISTED_FOLDERS) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (entries.some((entry) => entry.isFile() && entry.name === "manifest.json")) {
      found.push(await summarize(base, dir));
      return;
    }
    if (depth >= MAX_FOLDER_DEPTH) return;
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      await visit(join(dir, entry.name), depth + 1);
    }
  };
  await visit(base, 0);
  return found.filter((summary) => summary.folder !== "");
}

async function summarize(base: string, dir: string): Promise<DatasetFolderSummary> {
  const folder = relative(base, dir).split(sep).join("/");
  const empty = {
    folder,
    location: dir,
    contentHash: null,
    schemaVersion: null,
    persons: null,
    title: null,
    description: null,
    createdAt: null,
  };
  try {
    if (!(await stat(join(dir, "manifest.json"))).isFile()) throw new Error("not a file");
    const manifest = await readManifest(dir);
    return {
      ...empty,
      contentHash: manifest.contentHash,
      schemaVersion: manifest.schemaVersion,
      persons: manifest.personCount,
      title: manifest.title,
      description: manifest.description,
      createdAt: manifest.createdAt,
      problem: null,
    };
  } catch {
    return { ...empty, problem: "manifest.json is not a valid dataset manifest" };
  }
}
