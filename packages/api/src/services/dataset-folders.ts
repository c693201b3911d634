/**
 * Dataset folders (manifest.json + Parquet files) live under one dataset root on the API
 * host; stewards name them relative to it. Nothing outside the root is ever opened or
 * reported on: the folder name is validated (plain segments), and the resolved real path,
 * symlinks followed, must still lie inside the root's real path.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { DatasetOpenError, openDataset } from "@opencohort/compute";
import { readManifest, verifyDatasetFolder } from "@opencohort/synth";
import type { DatasetManifest } from "@opencohort/validators";
import { refusal } from "./refusal";

/** How deep under the root a dataset folder may sit (e.g. `<steward>/<dataset>/<version>`). */
const MAX_FOLDER_DEPTH = 3;
/** A steward's listing stops here: the root is meant for dataset folders, not a file share. */
const MAX_LISTED_FOLDERS = 500;

/**
 * The two folders a steward names paths in: the dataset root (dataset folders, registered as
 * versions) and the import root (source exports, read by the importers).
 */
export type RootKind = "dataset" | "import";

const ROOTS = {
  dataset: {
    name: "dataset root",
    rule: "dataset-root",
    missing:
      "This server has no dataset root (OPENCOHORT_DATASET_ROOT), so no dataset files can be registered here (rule dataset-root).",
  },
  import: {
    name: "import root",
    rule: "import-root",
    missing:
      "This server has no import root (OPENCOHORT_IMPORT_ROOT), so no export can be imported here (rule import-root).",
  },
} as const;

function requireRoot(root: string | null, kind: RootKind = "dataset"): string {
  if (root === null) throw refusal("PRECONDITION_FAILED", ROOTS[kind].rule, ROOTS[kind].missing);
  return root;
}

async function realRoot(root: string, kind: RootKind = "dataset"): Promise<string> {
  try {
    return await realpath(root);
  } catch {
    throw refusal(
      "PRECONDITION_FAILED",
      ROOTS[kind].rule,
      `The server's ${ROOTS[kind].name} does not exist; ask the operator to create it (rule ${ROOTS[kind].rule}).`,
    );
  }
}

const inside = (parent: string, child: string) => child.startsWith(parent + sep);

/** The real path of a configured root, refused (with its rule) when unset or absent. */
export const existingRoot = (root: string | null, kind: RootKind) =>
  realRoot(requireRoot(root, kind), kind);

/**
 * The absolute real path of `folder` (already validated by `datasetFolderSchema`) inside the
 * dataset root (or the import root); refuses when it does not exist or escapes the root
 * through a symlink.
 */
export async function resolveDatasetFolder(
  root: string | null,
  folder: string,
  kind: RootKind = "dataset",
): Promise<string> {
  const base = await realRoot(requireRoot(root, kind), kind);
  const { name, rule } = ROOTS[kind];
  let resolved: string;
  try {
    // The root comes from configuration at run time: nothing here for the bundler to trace.
    resolved = await realpath(
      /* turbopackIgnore: true */ join(/* turbopackIgnore: true */ base, folder),
    );
  } catch {
    throw refusal(
      "BAD_REQUEST",
      kind === "dataset" ? "dataset-folder" : "import-folder",
      `There is no folder "${folder}" in the ${name} (rule ${kind === "dataset" ? "dataset-folder" : "import-folder"}).`,
    );
  }
  if (!inside(base, resolved)) {
    throw refusal(
      "FORBIDDEN",
      rule,
      `The folder "${folder}" leads outside the ${name} (rule ${rule}).`,
    );
  }
  return resolved;
}

/**
 * Where a new folder `folder` would be created inside the dataset root: its parent must
 * resolve inside the root (symlinks followed) and the folder itself must not exist yet.
 */
export async function newDatasetFolder(root: string | null, folder: string): Promise<string> {
  const base = await realRoot(requireRoot(root));
  const target = join(/* turbopackIgnore: true */ base, folder);
  let parent = dirname(target);
  // The nearest existing ancestor decides where the new folder really lands.
  for (;;) {
    try {
      const real = await realpath(parent);
      if (real !== base && !inside(base, real)) {
        throw refusal(
          "FORBIDDEN",
          "dataset-root",
          `The folder "${folder}" leads outside the dataset root (rule dataset-root).`,
        );
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      parent = dirname(parent);
    }
  }
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  ) {
    throw refusal(
      "CONFLICT",
      "dataset-folder",
      `The folder "${folder}" already exists in the dataset root; name a new one (rule dataset-folder).`,
    );
  }
  return target;
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
