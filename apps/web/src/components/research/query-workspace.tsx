"use client";
import type { CohortDefinitionInput } from "@opencohort/validators";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { CohortBuilder } from "./cohort-builder";
import { ConceptSearch } from "./concept-search";
import { Refusal } from "./dataset-view";
import { dateTime, epsilon, formatRho } from "./format";
import styles from "./research.module.css";
import { refusalPosition } from "./result-format";
import { labelDimensions, ResultView } from "./result-view";
import type { SqlEditorApi } from "./sql-editor";

/** CodeMirror is loaded by this page only, after it renders (its own chunk). */
const SqlEditor = lazy(() => import("./sql-editor"));

/** Parameters store epsilon either as a number or as 18-decimal fixed point. */
function fixedEpsilon(value: string): string {
  return /^\d{12,}$/.test(value) ? String(Number(value) / 1e18) : value;
}

function cohortGroupBy(cohort: unknown): string[] | undefined {
  const output = (cohort as { output?: { groupBy?: unknown } } | null)?.output;
  return Array.isArray(output?.groupBy) ? output.groupBy.map(String) : undefined;
}

const EXAMPLE_SQL = "SELECT sex, count(*) FROM person GROUP BY sex";

/** Queued for a compute worker, or running on one. */
const inFlight = (status: string | undefined) => status === "PENDING" || status === "RUNNING";

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  return <>{((now - since) / 1000).toFixed(1)} s</>;
}

/** The query workspace: SQL or cohort builder, result, receipt, budget and history. */
export function QueryWorkspace({ datasetId }: { datasetId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const session = useQuery(trpc.auth.session.queryOptions());
  const signedIn = !!session.data;
  const dataset = useQuery(trpc.dataset.byId.queryOptions({ datasetId }));
  const terms = useQuery({
    ...trpc.access.purchaseTerms.queryOptions({ datasetId }),
    enabled: signedIn,
  });
  const active = terms.data?.active ?? false;
  const budget = useQuery({
    ...trpc.query.budget.queryOptions({ datasetId }),
    enabled: signedIn && active,
  });
  const history = useQuery({
    ...trpc.query.history.queryOptions({ datasetId, limit: 20 }),
    enabled: signedIn && active,
  });
  const [mode, setMode] = useState<"sql" | "cohort">("sql");
  const [sql, setSql] = useState(EXAMPLE_SQL);
  const [selected, setSelected] = useState<string | null>(null);
  const [startedAt, setStartedAt] = useState(0);
  const editor = useRef<HTMLTextAreaElement>(null);
  const editorApi = useRef<SqlEditorApi | null>(null);

  const submit = useMutation({
    mutationFn: (input: { sql: string } | { cohort: CohortDefinitionInput }) => {
      setStartedAt(Date.now());
      return client.query.submit.mutate({ datasetId, ...input });
    },
    onSuccess: async (view) => {
      setSelected(view.id);
      queryClient.setQueryData(trpc.query.result.queryKey({ id: view.id }), view);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.query.history.queryKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.query.budget.queryKey() }),
      ]);
    },
  });
  const current = useQuery({
    ...trpc.query.result.queryOptions({ id: selected ?? "none" }),
    enabled: selected !== null,
    // Queries run on the compute workers: follow a queued or running one until it is final.
    refetchInterval: (query) => (inFlight(query.state.data?.status) ? 400 : false),
  });
  const currentStatus = current.data?.status;
  const previousStatus = useRef(currentStatus);
  useEffect(() => {
    // Once final, the history shows the outcome and the budget what it cost.
    if (inFlight(previousStatus.current) && currentStatus && !inFlight(currentStatus)) {
      void queryClient.invalidateQueries({ queryKey: trpc.query.history.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.query.budget.queryKey() });
    }
    previousStatus.current = currentStatus;
  }, [currentStatus, queryClient, trpc]);
  const waiting = submit.isPending || inFlight(currentStatus);

  const tables = useMemo(() => dataset.data?.dataCard?.tables ?? [], [dataset.data]);
  const refused = current.data;
  const refusalMessage =
    refused?.status === "REJECTED" && refused.kind === "SQL" && refused.sql === sql
      ? refused.error?.message
      : null;
  const errorAt = useMemo(() => refusalPosition(refusalMessage), [refusalMessage]);

  if (session.isPending || dataset.isPending) return <p className="muted">Loading…</p>;
  if (dataset.error) return <Refusal error={dataset.error} />;
  const d = dataset.data;
  const header = (
    <>
      <p className="small">
        <Link href={`/datasets/${datasetId}`}>← {d.title}</Link>
      </p>
      <h1>Query workspace</h1>
    </>
  );
  if (!signedIn) {
    return (
      <>
        {header}
        <p className="muted">Sign in as a researcher with an access pass to run queries.</p>
      </>
    );
  }
  if (terms.isPending)
    return (
      <>
        {header}
        <p className="muted">Checking your access pass…</p>
      </>
    );
  if (terms.error)
    return (
      <>
        {header}
        <Refusal error={terms.error} />
      </>
    );
  if (!active) {
    return (
      <>
        {header}
        <div className="error" data-testid="no-pass">
          <p>
            Refused by rule <code>access-pass</code>: you hold no active pass for this dataset.
          </p>
          <Link href={`/datasets/${datasetId}`}>Buy access on the dataset page</Link>
        </div>
      </>
    );
  }

  const insert = (text: string) => {
    if (editorApi.current) return editorApi.current.insert(text);
    const area = editor.current;
    if (!area) return setSql((value) => `${value}${text}`);
    const start = area.selectionStart;
    const end = area.selectionEnd;
    const next = `${sql.slice(0, start)}${text}${sql.slice(end)}`;
    setSql(next);
    requestAnimationFrame(() => {
      area.focus();
      area.setSelectionRange(start + text.length, start + text.length);
    });
  };

  const view = current.data;
  const minCellSize = view?.receipt?.parameters.minCellSize ?? d.privacy.minCellSize;

  return (
    <>
      {header}
      <p className="muted small">
        {d.title} · access until{" "}
        <span data-testid="access-until">
          {terms.data?.currentExpiry ? dateTime(terms.data.currentExpiry) : "—"}
        </span>{" "}
        · k = {d.privacy.minCellSize}, rounded to {d.privacy.roundingBase},{" "}
        {epsilon(d.privacy.epsilonPerQuery)} per query
      </p>

      <div className={styles.budget} data-testid="budget">
        {budget.data ? (
          <>
            <div className={styles.meter} aria-hidden>
              <div
                style={{
                  width: `${Math.max(0, Math.min(100, (budget.data.remaining / budget.data.total) * 100))}%`,
                }}
              />
            </div>
            <span>
              Privacy budget:{" "}
              <strong data-testid="budget-remaining">{epsilon(budget.data.remaining)}</strong> of{" "}
              {epsilon(budget.data.total)} left · {budget.data.queriesLeft} queries
              <span className="small muted" data-testid="budget-rho">
                {" "}
                · ρ {formatRho(budget.data.rho.total - budget.data.rho.spent)} of{" "}
                {formatRho(budget.data.rho.total)} left (
                {budget.data.mechanism === "gaussian"
                  ? `zCDP, Gaussian noise; (ε, δ) = (${budget.data.total}, ${(budget.data.conversionDelta + budget.data.deltaSpent).toExponential(1)}) when all spent`
                  : "Laplace noise; ε adds up"}
                )
              </span>
            </span>
          </>
        ) : budget.error ? (
          <Refusal error={budget.error} />
        ) : (
          <span className="muted">Loading the budget…</span>
        )}
      </div>

      <div className={styles.workspace}>
        <section>
          <div className={styles.tabs} role="tablist">
            <button
              type="button"
              role="tab"
              aria-selected={mode === "sql"}
              className={mode === "sql" ? "" : "secondary"}
              onClick={() => setMode("sql")}
            >
              SQL
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={mode === "cohort"}
              className={mode === "cohort" ? "" : "secondary"}
              onClick={() => setMode("cohort")}
            >
              Cohort builder
            </button>
          </div>
          {mode === "sql" ? (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                submit.mutate({ sql });
              }}
            >
              <Suspense
                fallback={
                  <textarea
                    ref={editor}
                    className={styles.editor}
                    value={sql}
                    onChange={(event) => setSql(event.target.value)}
                    aria-label="SQL"
                    data-testid="sql-editor"
                    spellCheck={false}
                    rows={7}
                  />
                }
              >
                <SqlEditor
                  value={sql}
                  onChange={setSql}
                  onRun={() => submit.mutate({ sql })}
                  tables={tables}
                  errorAt={errorAt}
                  onReady={(api) => {
                    editorApi.current = api;
                  }}
                />
              </Suspense>
              <div className={styles.row}>
                <button type="submit" disabled={waiting} data-testid="run-query">
                  {waiting ? "Running…" : "Run query"}
                </button>
                <span className="muted small">
                  One SELECT of aggregates (count, sum, avg) grouped by columns; joins on person_id.
                  Ctrl+Space completes names, Ctrl+Enter runs.
                </span>
              </div>
            </form>
          ) : (
            <CohortBuilder
              conditions={d.conditions}
              submitLabel="Run cohort query"
              busy={waiting}
              onSubmit={(cohort) => submit.mutate({ cohort })}
            />
          )}

          <div className={styles.output}>
            {waiting && (
              <p className={styles.running} data-testid="running">
                {currentStatus === "RUNNING"
                  ? "Running on a compute worker…"
                  : "Queued for a compute worker…"}{" "}
                <Elapsed
                  since={
                    !submit.isPending && current.data
                      ? new Date(current.data.createdAt).getTime()
                      : startedAt
                  }
                />
              </p>
            )}
            {submit.error && !submit.isPending && <Refusal error={submit.error} />}
            {current.error && !waiting && <Refusal error={current.error} />}
            {!waiting && view && (
              <QueryOutcome view={view} minCellSize={minCellSize} receipt={view.receipt} />
            )}
          </div>
        </section>

        <aside className={styles.side}>
          <h3>Schema</h3>
          <p className="muted small">Click a name to insert it.</p>
          {d.dataCard?.tables.map((table) => (
            <div key={table.name} className={styles.schemaTable}>
              <button type="button" className="link" onClick={() => insert(table.name)}>
                <strong>{table.name}</strong>
              </button>
              <ul>
                {table.columns.map((column) => (
                  <li key={column.name}>
                    <button type="button" className="link" onClick={() => insert(column.name)}>
                      {column.name}
                    </button>{" "}
                    <span className="muted small">{column.type}</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}

          <ConceptSearch datasetId={datasetId} onInsert={insert} />

          <h3>History</h3>
          {history.isPending && <p className="muted small">Loading…</p>}
          {history.error && <Refusal error={history.error} />}
          {history.data?.items.length === 0 && <p className="muted small">No queries yet.</p>}
          <ol className={styles.history} data-testid="history">
            {history.data?.items.map((item) => (
              <li key={item.id}>
                <button
                  type="button"
                  className={`link ${item.id === selected ? styles.current : ""}`}
                  onClick={() => {
                    setSelected(item.id);
                    if (item.sql && item.kind === "SQL") setSql(item.sql);
                  }}
                >
                  <span className={styles[`status${item.status}`] ?? ""}>{item.status}</span>{" "}
                  <span className="small">{dateTime(item.createdAt)}</span>
                  <code className={styles.historySql}>
                    {item.kind === "SQL" ? item.sql : "cohort builder"}
                  </code>
                </button>
              </li>
            ))}
          </ol>
        </aside>
      </div>
    </>
  );
}

type View = NonNullable<
  Awaited<ReturnType<ReturnType<typeof useTRPCClient>["query"]["result"]["query"]>>
>;

function QueryOutcome({
  view,
  minCellSize,
  receipt,
}: {
  view: View;
  minCellSize: number;
  receipt: View["receipt"];
}) {
  if (view.status === "PENDING" || view.status === "RUNNING") {
    return <p className={styles.running}>Running…</p>;
  }
  if (view.status !== "SUCCEEDED" || !view.result) {
    return (
      <div className="error" role="alert" data-testid="refusal">
        <p className={styles.rule}>
          {view.status === "REJECTED" ? "Rejected" : "Failed"}
          {view.error?.rule && (
            <>
              {" "}
              by rule <code data-testid="refusal-rule">{view.error.rule}</code>
            </>
          )}
        </p>
        <p>{view.error?.message}</p>
      </div>
    );
  }
  return (
    <>
      <ResultView
        result={labelDimensions(view.result, cohortGroupBy(view.cohort))}
        minCellSize={minCellSize}
        fileName={`opencohort-${view.id}.csv`}
      />
      {receipt && (
        <div className={`card ${styles.receipt}`} data-testid="receipt">
          <h3>Receipt</h3>
          <dl>
            <dt>Receipt hash</dt>
            <dd>
              <code data-testid="receipt-hash">{receipt.receiptHash}</code>
            </dd>
            <dt>Query hash</dt>
            <dd>
              <code>{receipt.queryHash}</code>
            </dd>
            <dt>Result hash</dt>
            <dd>
              <code>{receipt.resultHash}</code>
            </dd>
            {receipt.hiddenCommitment && (
              <>
                <dt>Hidden fields</dt>
                <dd>
                  <code>{receipt.hiddenCommitment}</code>
                  <span className="small muted">
                    {" "}
                    · a salted commitment to what you are not shown (the exact number of persons
                    included); the receipt hash is computed over it, and auditors can open it.
                  </span>
                </dd>
              </>
            )}
            <dt>Dataset version</dt>
            <dd>
              v{receipt.datasetVersion} · <code>{receipt.datasetVersionHash?.slice(0, 18)}…</code>
            </dd>
            <dt>Consent snapshot</dt>
            <dd data-testid="consent-snapshot">
              block {String(receipt.consentSnapshotBlock)}
              {receipt.consentedPersons !== null &&
                ` · ${receipt.consentedPersons.toLocaleString("en-US")} patients consented`}
            </dd>
            <dt>Parameters</dt>
            <dd data-testid="receipt-parameters">
              k = {receipt.parameters.minCellSize}, rounded to {receipt.parameters.roundingBase}, ε{" "}
              {fixedEpsilon(receipt.parameters.epsilonPerQuery)} per query, cap{" "}
              {receipt.parameters.contributionCap} rows/person
              {receipt.parameters.contributionLevel === "event" && (
                <span className="small muted" data-testid="event-level">
                  {" "}
                  · event-level groups: a person counts in at most{" "}
                  {receipt.parameters.maxGroupsPerPerson} of them, so each cell carries{" "}
                  {receipt.mechanism === "gaussian"
                    ? `√${receipt.parameters.maxGroupsPerPerson} ≈ ${Math.sqrt(receipt.parameters.maxGroupsPerPerson).toFixed(1)}`
                    : receipt.parameters.maxGroupsPerPerson}
                  × the noise. Filter to one code with WHERE for person-level precision.
                </span>
              )}
            </dd>
            <dt>ε spent</dt>
            <dd data-testid="receipt-cost">
              {receipt.epsilonSpent ?? 0}
              {receipt.rho !== null && ` · ρ ${formatRho(receipt.rho)}`}
              {receipt.mechanism && ` · ${receipt.mechanism} noise`}
              {receipt.epsilonSpent === 0 && receipt.rho === 0 && " (an identical repeat: free)"}
            </dd>
            <dt>Epoch</dt>
            <dd>{receipt.epoch ?? "—"}</dd>
            <dt>Executed</dt>
            <dd>{receipt.executedAt ? dateTime(receipt.executedAt) : "—"}</dd>
          </dl>
        </div>
      )}
    </>
  );
}
