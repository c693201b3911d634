"use client";
/**
 * Importing, for a steward: an OMOP CDM or FHIR Bulk export that sits in the server's import
 * root becomes a dataset folder in the dataset root, through the same importers as the
 * `opencohort-dataset` CLI. The import runs on the server; this polls its status, then shows
 * the import report (what the dataset holds and what was left out) or the importer's error
 * with file and line. The new folder is then published with "Publish a dataset".
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import styles from "./steward.module.css";

type Format = "omop" | "fhir";

const today = () => new Date().toISOString().slice(0, 10);

export function ImportDataset() {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  if (session.data?.roles.steward !== true) return null;
  return <ImportForm />;
}

function ImportForm() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const sources = useQuery(trpc.steward.importSources.queryOptions());
  const [source, setSource] = useState("");
  const [format, setFormat] = useState<Format>("omop");
  const [folder, setFolder] = useState("");
  const [title, setTitle] = useState("");
  const [skipOrphans, setSkipOrphans] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);

  const choose = (name: string) => {
    setSource(name);
    setJobId(null);
    const detected = sources.data?.find((s) => s.folder === name)?.format;
    if (detected) setFormat(detected);
    setFolder(name ? `${name}-${today()}` : "");
    setTitle(name);
  };

  const start = useMutation({
    mutationFn: () =>
      client.steward.startImport.mutate({ format, source, folder, title, skipOrphans }),
    onSuccess: (job) => setJobId(job.jobId),
  });
  const status = useQuery({
    ...trpc.steward.importStatus.queryOptions({ jobId: jobId ?? "" }),
    enabled: jobId !== null,
    refetchInterval: (query) => (query.state.data?.state === "running" ? 500 : false),
  });
  const job = status.data?.jobId === jobId ? status.data : undefined;
  const running = start.isPending || job?.state === "running" || (jobId !== null && !job);

  // A finished import is a new folder for the publish flow.
  useEffect(() => {
    if (job?.state === "done") {
      void queryClient.invalidateQueries({ queryKey: trpc.steward.datasetFolders.queryKey() });
    }
  }, [job?.state, queryClient, trpc]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setJobId(null);
    start.mutate();
  };

  return (
    <section className={styles.section} aria-labelledby="import-heading">
      <h2 id="import-heading">Import an export</h2>
      <p className="muted small">
        Place an OMOP CDM export (CSV files, plain or .csv.gz) or a FHIR R4 Bulk export (NDJSON) in
        a folder of the server&apos;s import root. The importer keeps the standard concepts and
        their hierarchy, replaces person ids with pseudonyms keyed by your steward key, and drops
        names, addresses, exact birth dates, identifiers and free text.
      </p>
      {sources.isPending && <p className="muted">Looking in the import root…</p>}
      {sources.error && (
        <p className="error" role="alert">
          {sources.error.message}
        </p>
      )}
      {sources.data?.length === 0 && (
        <p className="muted">The import root is empty: place an export’s folder in it.</p>
      )}
      {sources.data && sources.data.length > 0 && (
        <form className={styles.form} onSubmit={submit} data-testid="dataset-import-form">
          <label className={styles.wide}>
            Export
            <select
              data-testid="dataset-import-source"
              value={source}
              disabled={running}
              onChange={(event) => choose(event.target.value)}
            >
              <option value="">Choose a folder…</option>
              {sources.data.map((entry) => (
                <option key={entry.folder} value={entry.folder}>
                  {entry.folder}
                  {entry.format === "omop"
                    ? " · OMOP CDM"
                    : entry.format === "fhir"
                      ? " · FHIR Bulk"
                      : ""}
                </option>
              ))}
            </select>
          </label>
          <label>
            Format
            <select
              data-testid="dataset-import-format"
              value={format}
              disabled={running}
              onChange={(event) => setFormat(event.target.value as Format)}
            >
              <option value="omop">OMOP CDM 5.3/5.4</option>
              <option value="fhir">FHIR R4 Bulk</option>
            </select>
          </label>
          {source && (
            <>
              <label className={styles.wide}>
                New dataset folder (in the dataset root)
                <input
                  data-testid="dataset-import-folder"
                  value={folder}
                  disabled={running}
                  onChange={(event) => setFolder(event.target.value)}
                />
              </label>
              <label>
                Title
                <input
                  data-testid="dataset-import-title"
                  value={title}
                  disabled={running}
                  onChange={(event) => setTitle(event.target.value)}
                />
              </label>
              <label className={styles.full} style={{ flexDirection: "row", alignItems: "center" }}>
                <input
                  type="checkbox"
                  data-testid="dataset-import-skip-orphans"
                  checked={skipOrphans}
                  disabled={running}
                  onChange={(event) => setSkipOrphans(event.target.checked)}
                />{" "}
                Drop rows about persons missing from the person table (reported) instead of stopping
              </label>
              <button type="submit" data-testid="dataset-import-start" disabled={running}>
                {running ? "Importing…" : "Import"}
              </button>
            </>
          )}
        </form>
      )}
      {start.error && (
        <p className="error small" role="alert" data-testid="dataset-import-error">
          {start.error.message}
        </p>
      )}
      {job?.state === "running" && (
        <p className="small" role="status" data-testid="dataset-import-progress">
          <progress value={job.done} max={Math.max(job.total, 1)} /> {job.stage}…
        </p>
      )}
      {job?.state === "failed" && (
        <p className="error small" role="alert" data-testid="dataset-import-error">
          The import stopped, and no dataset folder was written: {job.error}
        </p>
      )}
      {job?.state === "done" && job.report && (
        <div className="small" data-testid="dataset-import-report">
          <p role="status" data-testid="dataset-import-result">
            Imported {job.report.persons.toLocaleString("en-US")} persons into {job.folder} (
            {job.report.schemaVersion}, content hash{" "}
            <code title={job.report.contentHash}>{job.report.contentHash.slice(0, 18)}…</code>).
            Publish it with “Publish a dataset or a new version”: choose the folder {job.folder}.
          </p>
          <table className={styles.table}>
            <tbody>
              {job.report.tables.map((table) => (
                <tr key={table.name}>
                  <td>{table.name}</td>
                  <td>{table.rows.toLocaleString("en-US")} rows</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>Left out of the dataset:</p>
          <ul data-testid="dataset-import-dropped">
            {job.report.dropped.map((entry) => (
              <li key={entry.what}>
                {entry.what}
                {entry.count !== undefined ? ` (${entry.count.toLocaleString("en-US")})` : ""}:{" "}
                {entry.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
