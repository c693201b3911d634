/**
 * Imports a steward starts from the web: an OMOP CDM or FHIR Bulk export in the import root
 * becomes a dataset folder in the dataset root, through the same importers as the CLI
 * (`opencohort-dataset import omop|fhir`, package @opencohort/dataset). An import is long
 * work: it runs in the background while the steward polls its status (stage, then the
 * import report or the importer's error with file and line). The importer writes the folder
 * beside its target and renames it whole, so a failed import leaves no dataset folder.
 *
 * Jobs live in this server process's memory: a restart forgets them (a finished import's
 * folder stays in the dataset root, where the publish flow lists it).
 */
import { createHmac, randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ImportError, type ImportReport, importFhir, importOmop } from "@opencohort/dataset";
import type { StartImportInput } from "@opencohort/validators";
import type { ApiConfig } from "../context";
import { existingRoot, newDatasetFolder, resolveDatasetFolder } from "./dataset-folders";
import { refusal } from "./refusal";

export type ImportFormat = "omop" | "fhir";

export interface ImportJobView {
  jobId: string;
  format: ImportFormat;
  source: string;
  folder: string;
  state: "running" | "done" | "failed";
  /** What the importer is doing now ("reading the source", "writing tables", ...). */
  stage: string;
  done: number;
  total: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** Once done: what the dataset holds and what was left out of it, with why. */
  report: {
    persons: number;
    contentHash: string;
    schemaVersion: string;
    tables: { name: string; rows: number }[];
    dropped: { what: string; reason: string; count?: number }[];
  } | null;
  /** Once failed: the importer's message (file and line for bad input). */
  error: string | null;
}

interface ImportJob extends ImportJobView {
  steward: string;
}

/** At most this many jobs are remembered; the oldest finished ones are forgotten first. */
const MAX_REMEMBERED_JOBS = 100;
const jobsByServer = new WeakMap<ApiConfig, Map<string, ImportJob>>();

function jobsOf(config: ApiConfig): Map<string, ImportJob> {
  let jobs = jobsByServer.get(config);
  if (!jobs) {
    jobs = new Map();
    jobsByServer.set(config, jobs);
  }
  return jobs;
}

function requireImport(config: ApiConfig): { root: string; secret: string } {
  if (!config.datasetImport) {
    throw refusal(
      "PRECONDITION_FAILED",
      "import-root",
      "This server has no import root (OPENCOHORT_IMPORT_ROOT), so no export can be imported here (rule import-root).",
    );
  }
  return config.datasetImport;
}

/**
 * Each steward's pseudonyms get their own key, derived from the server's import secret: two
 * stewards importing on one server never share a pseudonym space, and a steward's later
 * versions keep the same pseudonyms.
 */
export function stewardImportSecret(serverSecret: string, steward: string): string {
  return createHmac("sha256", serverSecret)
    .update(`opencohort-steward-import\u0000${steward.toLowerCase()}`)
    .digest("hex");
}

const looksLike = (files: string[]): ImportFormat | null => {
  if (files.some((f) => /^person\.(csv|tsv)(\.gz)?$/i.test(f))) return "omop";
  if (files.some((f) => /^Patient[^/]*\.ndjson$/i.test(f))) return "fhir";
  return null;
};

/** The folders at the top of the import root, with the export format each one looks like. */
export async function listImportSources(config: ApiConfig) {
  const base = await existingRoot(requireImport(config).root, "import");
  const entries = await readdir(base, { withFileTypes: true });
  const sources: { folder: string; format: ImportFormat | null }[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const files = await readdir(join(base, entry.name)).catch(() => []);
    sources.push({ folder: entry.name, format: looksLike(files) });
  }
  return sources;
}

/** Server paths in a message, as the steward names them (relative to their roots). */
function relativeMessage(message: string, roots: string[]): string {
  return roots.reduce((text, root) => text.replaceAll(`${root}/`, ""), message);
}

const view = ({ steward: _steward, ...job }: ImportJob): ImportJobView => ({ ...job });

/**
 * Starts an import (refused at once when a path is wrong, the target exists or another
 * import is running on this server) and returns its job; the work goes on in the background.
 */
export async function startImport(
  config: ApiConfig,
  steward: string,
  input: Omit<StartImportInput, "skipOrphans"> & { skipOrphans: boolean },
): Promise<ImportJobView> {
  const { root, secret } = requireImport(config);
  const source = await resolveDatasetFolder(root, input.source, "import");
  const vocabulary =
    input.vocabulary === undefined
      ? undefined
      : await resolveDatasetFolder(root, input.vocabulary, "import");
  const outDir = await newDatasetFolder(config.datasetRoot, input.folder);
  const roots = [
    await existingRoot(root, "import"),
    await existingRoot(config.datasetRoot, "dataset"),
  ];
  // From the check to the job's registration nothing awaits: two starts cannot both pass.
  const jobs = jobsOf(config);
  if ([...jobs.values()].some((job) => job.state === "running")) {
    throw refusal(
      "CONFLICT",
      "import-busy",
      "Another import is running on this server (imports run one at a time); start this one when it has finished (rule import-busy).",
    );
  }
  const job: ImportJob = {
    jobId: randomUUID(),
    steward: steward.toLowerCase(),
    format: input.format,
    source: input.source,
    folder: input.folder,
    state: "running",
    stage: "starting",
    done: 0,
    total: 1,
    startedAt: new Date(),
    finishedAt: null,
    report: null,
    error: null,
  };
  jobs.set(job.jobId, job);
  forgetOldJobs(jobs);
  const options = {
    outDir,
    secret: stewardImportSecret(secret, steward),
    title: input.title,
    skipOrphans: input.skipOrphans,
    onProgress: ({ stage, done, total }: { stage: string; done: number; total: number }) => {
      Object.assign(job, { stage, done, total });
    },
  };
  const work: Promise<ImportReport> =
    input.format === "omop"
      ? importOmop(source, options)
      : importFhir(source, { ...options, ...(vocabulary ? { vocabulary } : {}) });
  work.then(
    (report) => {
      Object.assign(job, {
        state: "done",
        stage: "done",
        finishedAt: new Date(),
        report: {
          persons: report.manifest.personCount,
          contentHash: report.manifest.contentHash,
          schemaVersion: report.manifest.schemaVersion,
          tables: report.tables,
          dropped: report.dropped,
        },
      });
    },
    (error: unknown) => {
      const message =
        error instanceof ImportError
          ? error.message
          : `the import failed: ${String((error as Error)?.message ?? error).split("\n", 1)[0]}`;
      Object.assign(job, {
        state: "failed",
        finishedAt: new Date(),
        error: relativeMessage(message, roots),
      });
    },
  );
  return view(job);
}

function forgetOldJobs(jobs: Map<string, ImportJob>) {
  for (const [id, job] of jobs) {
    if (jobs.size <= MAX_REMEMBERED_JOBS) return;
    if (job.state !== "running") jobs.delete(id);
  }
}

/** A job the caller started; another steward's job is as unknown as one that never was. */
export function importStatus(config: ApiConfig, steward: string, jobId: string): ImportJobView {
  const job = jobsOf(config).get(jobId);
  if (!job || job.steward !== steward.toLowerCase()) {
    throw refusal(
      "BAD_REQUEST",
      "import-job",
      "There is no import with this id of yours on this server (rule import-job).",
    );
  }
  return view(job);
}
