"use client";
import type { DatasetSort } from "@opencohort/validators";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { useTRPC } from "~/trpc/react";
import { devAccounts, shortAddress } from "~/wallet/signers";

const PAGE_SIZE = 12;
const sorts: { value: DatasetSort; label: string }[] = [
  { value: "newest", label: "Newest" },
  { value: "oldest", label: "Oldest" },
  { value: "persons-desc", label: "Most persons" },
  { value: "price-asc", label: "Price: low to high" },
  { value: "price-desc", label: "Price: high to low" },
  { value: "title", label: "Title" },
];

const number = (value: number) => value.toLocaleString("en-US");

function duration(seconds: number): string {
  const days = seconds / 86_400;
  if (days >= 1 && Number.isInteger(days)) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = Math.round(seconds / 3_600);
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}

/** Text typed by the user, settled for a moment before it becomes a query. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function Catalogue({ tokenSymbol, chainId }: { tokenSymbol: string; chainId: number }) {
  const trpc = useTRPC();
  // On the local chain the demo stewards have names (the dev accounts' demo roles).
  const stewardNames = useMemo(
    () =>
      new Map(
        devAccounts(chainId).map((account) => [
          account.address.toLowerCase(),
          /^steward \((.+)\)$/.exec(account.role)?.[1],
        ]),
      ),
    [chainId],
  );
  const [text, setText] = useState("");
  const search = useSettled(text.trim(), 250);
  const [condition, setCondition] = useState("");
  const [sort, setSort] = useState<DatasetSort>("newest");
  const [page, setPage] = useState(1);

  // The condition filter offers the codes of the listed datasets.
  const all = useQuery(trpc.dataset.list.queryOptions({ limit: 100, sort: "title" }));
  const conditions = [
    ...new Map(
      (all.data?.items ?? []).flatMap((item) => item.conditions).map((c) => [c.code, c] as const),
    ).values(),
  ].sort((a, b) => a.label.localeCompare(b.label));

  const list = useQuery({
    ...trpc.dataset.list.queryOptions({
      ...(search ? { search } : {}),
      ...(condition ? { conditions: [condition] } : {}),
      sort,
      page,
      limit: PAGE_SIZE,
    }),
    placeholderData: keepPreviousData,
  });
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / PAGE_SIZE)) : 1;

  return (
    <section aria-label="Dataset catalogue">
      <search className="filters">
        <input
          type="search"
          name="search"
          placeholder="Search title, description, condition…"
          aria-label="Search datasets"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setPage(1);
          }}
        />
        <select
          aria-label="Condition"
          name="condition"
          value={condition}
          onChange={(event) => {
            setCondition(event.target.value);
            setPage(1);
          }}
        >
          <option value="">All conditions</option>
          {conditions.map((c) => (
            <option key={c.code} value={c.code}>
              {c.label} ({c.code})
            </option>
          ))}
        </select>
        <select
          aria-label="Sort"
          name="sort"
          value={sort}
          onChange={(event) => {
            setSort(event.target.value as DatasetSort);
            setPage(1);
          }}
        >
          {sorts.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </search>

      {list.isPending ? (
        <p className="muted" aria-busy="true">
          Loading the catalogue…
        </p>
      ) : list.isError ? (
        <p className="error" role="alert">
          The catalogue could not be loaded: {list.error.message}
        </p>
      ) : (
        <>
          <p className="muted" data-testid="result-count" aria-live="polite">
            {list.data.total === 1 ? "1 dataset" : `${number(list.data.total)} datasets`}
            {list.isFetching ? " · updating…" : ""}
          </p>
          {list.data.items.length === 0 ? (
            <p className="muted">No dataset matches these filters.</p>
          ) : (
            <ul className="datasets" data-testid="catalogue">
              {list.data.items.map((dataset) => (
                <li key={dataset.id} className="card dataset-card" data-testid="dataset-card">
                  <div className="card-head">
                    <h3>
                      <Link href={`/datasets/${dataset.id}`}>{dataset.title}</Link>
                    </h3>
                    <span className="price">
                      {dataset.priceFormatted} {tokenSymbol}
                      <small> / {duration(dataset.accessDurationSeconds)} pass</small>
                    </span>
                  </div>
                  {dataset.description && <p className="muted">{dataset.description}</p>}
                  <dl className="facts">
                    <div>
                      <dt>Persons</dt>
                      <dd>{dataset.persons === null ? "pending" : number(dataset.persons)}</dd>
                    </div>
                    <div>
                      <dt>Consented</dt>
                      <dd>{number(dataset.consented)}</dd>
                    </div>
                    <div>
                      <dt>Schema</dt>
                      <dd>{dataset.schemaVersion ?? "—"}</dd>
                    </div>
                    <div>
                      <dt>Steward</dt>
                      <dd title={dataset.steward}>
                        {stewardNames.get(dataset.steward.toLowerCase()) ?? (
                          <span className="address">{shortAddress(dataset.steward)}</span>
                        )}
                      </dd>
                    </div>
                  </dl>
                  <ul className="tags" aria-label="Conditions">
                    {dataset.conditions.map((c) => (
                      <li key={c.code} title={c.code}>
                        {c.label}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )}
          {pages > 1 && (
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                ← Previous
              </button>
              <span className="muted">
                Page {page} of {pages}
              </span>
              <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
                Next →
              </button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}
