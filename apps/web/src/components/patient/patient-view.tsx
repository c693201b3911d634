"use client";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useTRPC } from "~/trpc/react";
import type { ChainInfo } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { Enrolments } from "./enrolments";
import styles from "./patient.module.css";
import { Rewards } from "./rewards";

const dateTime = (value: Date | string | null) =>
  value === null
    ? "—"
    : new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** The patient's home: enrolments with consent, who used my data, rewards. */
export function PatientView({ chain }: { chain: ChainInfo }) {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  if (session.isPending) return <p className="muted">Loading your session…</p>;
  if (session.error) return <p className="error">{session.error.message}</p>;
  if (!session.data) {
    return (
      <p className={styles.notice} data-testid="patient-sign-in">
        Sign in with the wallet your hospital or registry enrolled (demo: #6 Maria, #7 Jonas or #8
        Priya) to see your datasets, your consent and your rewards.
      </p>
    );
  }
  if (!session.data.roles.patient) {
    return (
      <p className={styles.notice}>
        {shortAddress(session.data.address)} is not enrolled in any dataset. A steward enrols
        patients; once you are enrolled, your consent and rewards appear here.
      </p>
    );
  }
  return (
    <>
      <WhatIsPublic />
      <Enrolments chain={chain} address={session.data.address} />
      <WhoUsedMyData />
      <Rewards chain={chain} address={session.data.address} />
    </>
  );
}

/** Plainly, what anyone can read on the chain about me and what stays with the steward. */
function WhatIsPublic() {
  return (
    <details className={`${styles.notice} ${styles.public}`} data-testid="what-is-public">
      <summary>What is public, and what is not</summary>
      <ul>
        <li>
          <strong>Public on chain:</strong> that an anonymous consent identity opted in or out of a
          dataset, and when; that a payout address received rewards from OpenCohort in an epoch, and
          how much.
        </li>
        <li>
          <strong>Not on chain:</strong> your wallet next to any dataset, which identity is yours,
          which datasets a payout came from, your records. Each dataset gets its own identity, so
          your identities cannot be linked to each other or to your wallet without your wallet or
          the steward&apos;s database.
        </li>
        <li>
          <strong>With the steward:</strong> your enrolment (your record&apos;s pseudonym, your
          wallet, your identity for their dataset) and your payout address, never published.
        </li>
      </ul>
    </details>
  );
}

function WhoUsedMyData() {
  const trpc = useTRPC();
  const used = useInfiniteQuery(
    trpc.consent.whoUsedMyData.infiniteQueryOptions(
      {},
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const rows = used.data?.pages.flatMap((page) => page.items);
  return (
    <section className={styles.section} aria-labelledby="used-heading">
      <h2 id="used-heading">Who used my data</h2>
      <p className="muted small">
        Studies whose aggregate queries included your records, newest first. They saw only counts
        and statistics over many people, never your record. Only you see this list, and it has no
        bearing on your rewards.
      </p>
      {used.isPending && <p className="muted">Loading…</p>}
      {used.error && <p className="error">{used.error.message}</p>}
      {rows?.length === 0 && (
        <p className="muted" data-testid="used-empty">
          No query has included your records yet.
        </p>
      )}
      {rows && rows.length > 0 && (
        <table className={styles.table} data-testid="used-table">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Researcher</th>
              <th>Kind</th>
              <th>Date</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.queryId}>
                <td>{row.datasetTitle ?? "Untitled dataset"}</td>
                <td title={row.researcher}>{shortAddress(row.researcher)}</td>
                <td>{row.kind.toLowerCase()}</td>
                <td>{dateTime(row.finishedAt ?? row.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {used.hasNextPage && (
        <button
          type="button"
          className="secondary"
          onClick={() => void used.fetchNextPage()}
          disabled={used.isFetchingNextPage}
        >
          {used.isFetchingNextPage ? "Loading older studies…" : "Show older studies"}
        </button>
      )}
    </section>
  );
}
