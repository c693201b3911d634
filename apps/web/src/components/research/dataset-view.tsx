"use client";
import type { CohortDefinitionInput } from "@opencohort/validators";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import type { Hex } from "viem";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet } from "~/wallet/connect";
import { purchaseWithPermit } from "~/wallet/permit";
import { PrecisionTable } from "../privacy/precision-table";
import { CohortBuilder } from "./cohort-builder";
import { dateTime, duration, epsilon, number, refusalOf } from "./format";
import styles from "./research.module.css";
import { labelDimensions, ResultView } from "./result-view";

export function Refusal({ error }: { error: unknown }) {
  const { rule, message } = refusalOf(error);
  return (
    <div className="error" role="alert" data-testid="refusal">
      {rule && (
        <p className={styles.rule}>
          Refused by rule <code data-testid="refusal-rule">{rule}</code>
        </p>
      )}
      <p>{message}</p>
    </div>
  );
}

function Bounds({ bounds }: { bounds: unknown }) {
  if (!bounds || typeof bounds !== "object") return <span className="muted">—</span>;
  const b = bounds as Record<string, unknown>;
  if ("min" in b || "max" in b) return <>{`${String(b.min ?? "…")} – ${String(b.max ?? "…")}`}</>;
  return <>{JSON.stringify(bounds)}</>;
}

/** The dataset page: data card, privacy parameters, feasibility counts, purchase. */
export function DatasetView({
  datasetId,
  chain,
  tokenSymbol,
}: {
  datasetId: string;
  chain: ChainInfo;
  tokenSymbol: string;
}) {
  const trpc = useTRPC();
  const dataset = useQuery(trpc.dataset.byId.queryOptions({ datasetId }));
  const session = useQuery(trpc.auth.session.queryOptions());

  if (dataset.isPending) return <p className="muted">Loading the dataset…</p>;
  if (dataset.error) return <Refusal error={dataset.error} />;
  const d = dataset.data;
  const { privacy } = d;

  return (
    <>
      <p className="small">
        <Link href="/datasets">← Catalogue</Link>
      </p>
      <div className={styles.titleRow}>
        <div>
          <h1>{d.title}</h1>
          {d.description && <p className="muted">{d.description}</p>}
          <ul className="tags">
            {d.conditions.map((condition) => (
              <li key={condition.code} title={condition.label || condition.code}>
                {condition.code}
                {/* Named from the dataset's shipped vocabulary; unnamed until files are registered. */}
                {condition.label && ` · ${condition.label}`}
              </li>
            ))}
          </ul>
        </div>
        <PurchaseBox
          datasetId={datasetId}
          chain={chain}
          signedIn={!!session.data}
          address={session.data?.address ?? null}
          price={d.priceFormatted}
          accessDurationSeconds={d.accessDurationSeconds}
          listed={d.listed}
          tokenSymbol={tokenSymbol}
        />
      </div>

      <section className={styles.stats}>
        <div className="card">
          <dt>Persons</dt>
          <dd>{d.persons === null ? "pending" : number(d.persons)}</dd>
        </div>
        <div className="card">
          <dt>Consented now</dt>
          <dd data-testid="consented">{number(d.consented)}</dd>
        </div>
        <div className="card">
          <dt>Schema</dt>
          <dd>{d.schemaVersion ?? "—"}</dd>
        </div>
        <div className="card">
          <dt>Version</dt>
          <dd>v{d.dataCard?.version ?? d.latestVersion}</dd>
        </div>
      </section>

      <h2>Privacy parameters in force</h2>
      <p className="muted small">
        Governed by the stewards on chain (StandardsRegistry, block {String(privacy.asOfBlock)});
        every query on this dataset runs with them.
      </p>
      <div className={styles.privacy} data-testid="privacy">
        <div>
          <strong data-testid="privacy-k">k = {privacy.minCellSize}</strong>
          <span className="muted small">groups with fewer persons are suppressed</span>
        </div>
        <div>
          <strong>rounded to {privacy.roundingBase}</strong>
          <span className="muted small">counts are rounded to this base</span>
        </div>
        <div>
          <strong>{privacy.contributionCap} rows per person</strong>
          <span className="muted small">at most counted for one person in one group</span>
        </div>
        <div>
          <strong>{epsilon(privacy.epsilonPerQuery)} per query</strong>
          <span className="muted small">privacy loss charged for each query</span>
        </div>
        <div>
          <strong>{epsilon(privacy.epsilonBudget)} budget</strong>
          <span className="muted small">per researcher and dataset</span>
        </div>
      </div>
      <h3>How precise a count will be</h3>
      <PrecisionTable standards={privacy} />

      <h2>Data card</h2>
      {d.dataCard ? (
        <div data-testid="data-card">
          <p className="muted small">
            Version {d.dataCard.version} · {number(d.dataCard.persons)} persons · content hash{" "}
            <code title={d.dataCard.contentHash}>{d.dataCard.contentHash.slice(0, 12)}…</code>
          </p>
          <div className={styles.tables}>
            {d.dataCard.tables.map((table) => (
              <div key={table.name} className="card">
                <h3 className={styles.tableName}>
                  <code>{table.name}</code>
                  <span className="muted small">{number(table.rowCount)} rows</span>
                </h3>
                <table className={styles.schema}>
                  <thead>
                    <tr>
                      <th>column</th>
                      <th>type</th>
                      <th>bounds</th>
                    </tr>
                  </thead>
                  <tbody>
                    {table.columns.map((column) => (
                      <tr key={column.name} title={column.description}>
                        <td>
                          <code>{column.name}</code>
                        </td>
                        <td className="muted">{column.type}</td>
                        <td className="muted">
                          <Bounds bounds={"bounds" in column ? column.bounds : undefined} />
                          {"codeBounds" in column && column.codeBounds && (
                            <details className="small">
                              <summary>per code ({column.codeBounds.length})</summary>
                              <ul>
                                {column.codeBounds.map((range) => (
                                  <li key={range.code}>
                                    <code>{range.code}</code> {range.min} – {range.max}{" "}
                                    {range.unit ?? ""}
                                  </li>
                                ))}
                              </ul>
                            </details>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
          </div>
        </div>
      ) : (
        <p className="muted">The steward has not registered this version's files yet.</p>
      )}

      <h2>Feasibility: roughly how many?</h2>
      <Feasibility
        datasetId={datasetId}
        signedIn={!!session.data}
        conditions={d.conditions}
        params={privacy.feasibility}
      />
    </>
  );
}

function Feasibility({
  datasetId,
  signedIn,
  conditions,
  params,
}: {
  datasetId: string;
  signedIn: boolean;
  conditions: { code: string; label: string }[];
  params: {
    minCellSize: number;
    roundingBase: number;
    epsilonPerQuery: number;
    epsilonBudget: number;
  };
}) {
  const client = useTRPCClient();
  const [remaining, setRemaining] = useState<number | null>(null);
  const [groupBy, setGroupBy] = useState<string[]>([]);
  const run = useMutation({
    mutationFn: (cohort: CohortDefinitionInput) => {
      setGroupBy(cohort.output?.groupBy ?? []);
      return client.dataset.feasibility.mutate({ datasetId, cohort });
    },
    onSuccess: (result) => setRemaining(result.budgetRemaining),
    onError: (error) => {
      if (refusalOf(error).rule === "feasibility-budget") setRemaining(0);
    },
  });
  return (
    <div className={styles.feasibility}>
      <div>
        <p className="muted small">
          Free, before you buy: coarse counts of the consented persons (k = {params.minCellSize},
          rounded to {params.roundingBase}, {epsilon(params.epsilonPerQuery)} each). This dataset's
          feasibility budget, shared by all researchers:{" "}
          <strong data-testid="feasibility-budget">
            {epsilon(remaining ?? params.epsilonBudget)}
          </strong>{" "}
          of {epsilon(params.epsilonBudget)} left
          {remaining === null ? " (at most; others may have spent some)" : ""}. Repeating a count
          already answered is free.
        </p>
        {signedIn ? (
          <CohortBuilder
            conditions={conditions}
            submitLabel="Count (free)"
            busy={run.isPending}
            onSubmit={(cohort) => run.mutate(cohort)}
          />
        ) : (
          <p className="muted">Sign in to get free feasibility counts.</p>
        )}
      </div>
      <div data-testid="feasibility-result">
        {run.isPending && <p className="muted">Counting…</p>}
        {run.error && <Refusal error={run.error} />}
        {run.data && !run.isPending && (
          <ResultView
            result={labelDimensions(run.data, groupBy)}
            minCellSize={run.data.parameters.minCellSize}
          />
        )}
      </div>
    </div>
  );
}

type PurchaseState =
  | { step: "idle" }
  | { step: "signing" }
  | { step: "pending"; hash: Hex }
  | { step: "mined"; hash: Hex };

function PurchaseBox({
  datasetId,
  chain,
  signedIn,
  address,
  price,
  accessDurationSeconds,
  listed,
  tokenSymbol,
}: {
  datasetId: string;
  chain: ChainInfo;
  signedIn: boolean;
  address: string | null;
  price: string;
  accessDurationSeconds: number;
  listed: boolean;
  tokenSymbol: string;
}) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const terms = useQuery({
    ...trpc.access.purchaseTerms.queryOptions({ datasetId }),
    enabled: signedIn,
  });
  const credential = useQuery({
    ...trpc.access.myCredential.queryOptions(),
    enabled: signedIn,
  });
  const [state, setState] = useState<PurchaseState>({ step: "idle" });

  const buy = useMutation({
    mutationFn: async () => {
      if (!address) throw new Error("Sign in first.");
      setState({ step: "signing" });
      const fresh = await client.access.purchaseTerms.query({ datasetId });
      if (!fresh.listed)
        throw new Error("This dataset is delisted: the Marketplace refuses to sell.");
      if (!fresh.accredited) {
        throw new Error(
          "Only accredited researchers can buy access: your address holds no valid researcher credential.",
        );
      }
      if (!fresh.canAfford) {
        throw new Error(
          `Your balance (${fresh.balanceFormatted} ${fresh.token.symbol}) does not cover the price.`,
        );
      }
      const wallet = await connectWallet(chain, address);
      return purchaseWithPermit(wallet, fresh, (hash) => setState({ step: "pending", hash }));
    },
    onSuccess: async ({ hash }) => {
      setState({ step: "mined", hash });
      await queryClient.invalidateQueries();
    },
    onError: () => setState({ step: "idle" }),
  });

  // The live terms carry the caller's pass too (read from the chain).
  const expiry = terms.data?.currentExpiry ?? null;
  const active = terms.data?.active ?? false;

  return (
    <aside className={`card ${styles.purchase}`} data-testid="purchase">
      <div className="price">
        {price} {terms.data?.token.symbol ?? tokenSymbol}
        <small> / {duration(accessDurationSeconds)} pass</small>
      </div>
      {active && expiry && (
        <p className={styles.access} data-testid="access-until">
          Access until {dateTime(expiry)}
        </p>
      )}
      {!active && expiry && (
        <p className="muted small" data-testid="access-expired">
          Your pass expired on {dateTime(expiry)}.
        </p>
      )}
      {!signedIn ? (
        <p className="muted small">Sign in as a researcher to buy access.</p>
      ) : (
        <>
          {terms.data && (
            <p className="muted small">
              Balance {terms.data.balanceFormatted} {terms.data.token.symbol}
            </p>
          )}
          {credential.isPending && <p className="muted small">Checking your credential…</p>}
          {credential.error && <p className="error small">{credential.error.message}</p>}
          {credential.data && (
            <p
              className={credential.data.accredited ? "muted small" : "error small"}
              data-testid="credential-status"
            >
              {credential.data.credential
                ? `Researcher credential #${credential.data.credential.id}${
                    credential.data.credential.suspended
                      ? " (suspended)"
                      : credential.data.credential.revoked
                        ? " (revoked)"
                        : credential.data.credential.expiresAt
                          ? ` until ${dateTime(credential.data.credential.expiresAt)}`
                          : ""
                  }. `
                : "No researcher credential. "}
              Allows: {credential.data.allows}{" "}
              <Link href="/account/credential">Your credential</Link>
            </p>
          )}
          <button
            type="button"
            data-testid="buy-access"
            disabled={buy.isPending || !listed || terms.isPending}
            onClick={() => buy.mutate()}
          >
            {buy.isPending
              ? "Buying…"
              : active
                ? `Extend by ${duration(accessDurationSeconds)}`
                : "Buy access"}
          </button>
          <p className="muted small">
            One signature (permit) and one transaction; no separate approval.
          </p>
        </>
      )}
      {state.step === "signing" && <p className="small">Signing the permit…</p>}
      {state.step === "pending" && (
        <p className="small" data-testid="purchase-pending">
          Pending: <code>{state.hash.slice(0, 12)}…</code>
        </p>
      )}
      {state.step === "mined" && (
        <p className="small" data-testid="purchase-mined">
          Mined: <code title={state.hash}>{state.hash.slice(0, 12)}…</code>
        </p>
      )}
      {buy.error && <Refusal error={buy.error} />}
      {active && (
        <Link
          href={`/datasets/${datasetId}/query`}
          className={styles.cta}
          data-testid="open-workspace"
        >
          Open the query workspace →
        </Link>
      )}
    </aside>
  );
}
