"use client";
import type { DatasetSort } from "@opencohort/validators";
// Not the package's index: that would bring zod and every schema into the browser bundle.
import { type CatalogueView, catalogueSearchParams } from "@opencohort/validators/catalogue-url";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, type MouseEvent, useOptimistic, useState, useTransition } from "react";
import styles from "./catalogue.module.css";
import type { CatalogueData } from "./catalogue-data";

const sorts: { value: DatasetSort; label: string }[] = [
  { value: "newest", label: "Newest" },
  { value: "oldest", label: "Oldest" },
  { value: "persons-desc", label: "Most persons" },
  { value: "price-asc", label: "Price: low to high" },
  { value: "price-desc", label: "Price: high to low" },
  { value: "title", label: "Title" },
];
/** Conditions shown before "Show all". */
const CONDITIONS_SHOWN = 8;

const number = (value: number) => value.toLocaleString("en-US");

function duration(seconds: number): string {
  const days = seconds / 86_400;
  if (days >= 1 && Number.isInteger(days)) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = Math.round(seconds / 3_600);
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}

const hrefOf = (view: CatalogueView) => {
  const query = catalogueSearchParams(view).toString();
  return query ? `/datasets?${query}` : "/datasets";
};

const cleared = (view: CatalogueView): CatalogueView => ({
  conditions: [],
  sort: view.sort,
  page: 1,
});

const isFiltered = (view: CatalogueView) =>
  view.search !== undefined ||
  view.conditions.length > 0 ||
  view.minPersons !== undefined ||
  view.maxPersons !== undefined ||
  view.minPrice !== undefined ||
  view.maxPrice !== undefined ||
  view.schemaVersion !== undefined;

/** Page numbers around the current one, with the first and last; null marks a gap. */
function pageNumbers(page: number, count: number): (number | null)[] {
  const shown = [...new Set([1, page - 2, page - 1, page, page + 1, page + 2, count])]
    .filter((n) => n >= 1 && n <= count)
    .sort((a, b) => a - b);
  return shown.flatMap((n, i) => {
    const previous = shown[i - 1];
    return previous !== undefined && n - previous > 1 ? [null, n] : [n];
  });
}

/** A plain left click is handled in place; a modified one opens the link as usual. */
const plainClick = (event: MouseEvent) =>
  event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;

export function Catalogue({
  view: applied,
  problems,
  list,
  facets,
  tokenSymbol,
  stewardNames,
}: CatalogueData & { view: CatalogueView; problems: string[] }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  // What the user just chose shows at once; the server's render of it follows.
  const [view, setView] = useOptimistic(applied);

  function go(next: CatalogueView) {
    startTransition(() => {
      setView(next);
      router.push(hrefOf(next), { scroll: false });
    });
  }
  /** A filter change: back to page 1. */
  const filter = (change: Partial<CatalogueView>) => go({ ...view, ...change, page: 1 });
  const linkTo = (next: CatalogueView) => ({
    href: hrefOf(next),
    onClick: (event: MouseEvent) => {
      if (!plainClick(event)) return;
      event.preventDefault();
      go(next);
    },
  });

  const pageCount = list.pageCount;
  const pastEnd = list.total > 0 && list.items.length === 0;

  return (
    <div className={styles.layout}>
      <aside className={styles.filters} aria-label="Filters">
        <ConditionFilter
          options={facets.conditions}
          selected={view.conditions}
          onChange={(conditions) => filter({ conditions })}
        />
        <RangeFilters
          // A new applied range (or back navigation) resets what is typed here.
          key={[applied.minPersons, applied.maxPersons, applied.minPrice, applied.maxPrice].join()}
          view={applied}
          facets={facets}
          tokenSymbol={tokenSymbol}
          onApply={(ranges) => filter(ranges)}
        />
        <label className={styles.field}>
          <span className={styles.legend}>Schema version</span>
          <select
            aria-label="Schema version"
            name="schema"
            value={view.schemaVersion ?? ""}
            onChange={(event) => filter({ schemaVersion: event.target.value || undefined })}
          >
            <option value="">All schema versions</option>
            {facets.schemaVersions.map((schema) => (
              <option key={schema.hash} value={schema.label ?? schema.hash}>
                {schema.label ?? `${schema.hash.slice(0, 10)}…`} ({number(schema.datasets)})
              </option>
            ))}
          </select>
        </label>
        {isFiltered(view) && (
          <Link className={styles.clear} {...linkTo(cleared(view))}>
            Clear filters
          </Link>
        )}
      </aside>

      <section className={styles.results} aria-label="Datasets">
        <search>
          <form
            className={styles.search}
            key={applied.search ?? ""}
            onSubmit={(event: FormEvent<HTMLFormElement>) => {
              event.preventDefault();
              const text = String(new FormData(event.currentTarget).get("q") ?? "").trim();
              filter({ search: text || undefined });
            }}
          >
            <input
              type="search"
              name="q"
              placeholder="Search title, description, condition…"
              aria-label="Search datasets"
              defaultValue={applied.search ?? ""}
            />
            <button type="submit">Search</button>
          </form>
        </search>

        <div className={styles.toolbar}>
          <p className="muted" data-testid="result-count" aria-live="polite">
            {list.total === 1 ? "1 dataset" : `${number(list.total)} datasets`}
            {facets.total !== list.total ? ` of ${number(facets.total)}` : ""}
            {pending ? " · updating…" : ""}
          </p>
          <label className={styles.sort}>
            <span>Sort by</span>
            <select
              aria-label="Sort"
              name="sort"
              value={view.sort}
              onChange={(event) => filter({ sort: event.target.value as DatasetSort })}
            >
              {sorts.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          </label>
        </div>

        {problems.length > 0 && (
          <div className={styles.warning} role="alert" data-testid="param-problems">
            <p>Some filters in this link are not valid and were ignored:</p>
            <ul>
              {problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          </div>
        )}

        <div aria-busy={pending} className={pending ? styles.updating : undefined}>
          {facets.total === 0 ? (
            <p className={styles.empty}>No dataset is listed yet.</p>
          ) : list.total === 0 ? (
            <div className={styles.empty} data-testid="empty">
              <p>No dataset matches these filters.</p>
              <Link {...linkTo(cleared(view))}>Clear filters</Link>
            </div>
          ) : pastEnd ? (
            <div className={styles.empty} data-testid="empty">
              <p>
                Page {number(view.page)} is past the last page ({number(pageCount)}).
              </p>
              <Link {...linkTo({ ...view, page: 1 })}>Go to the first page</Link>
            </div>
          ) : (
            <ul className="datasets" data-testid="catalogue">
              {list.items.map((dataset) => (
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
                      <dd title={dataset.steward}>{stewardNames[dataset.steward]}</dd>
                    </div>
                  </dl>
                  <ul className="tags" aria-label="Conditions">
                    {dataset.conditions.map((c) => (
                      <li key={c.code} title={c.code}>
                        {c.label || c.code}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )}
        </div>

        {pageCount > 1 && !pastEnd && (
          <nav className={styles.pager} aria-label="Pages">
            {view.page > 1 ? (
              <Link rel="prev" {...linkTo({ ...view, page: view.page - 1 })}>
                ← Previous
              </Link>
            ) : (
              <span className={styles.disabled}>← Previous</span>
            )}
            {pageNumbers(view.page, pageCount).map((n, i) =>
              n === null ? (
                <span key={`gap-${i}`} className="muted">
                  …
                </span>
              ) : n === view.page ? (
                <span key={n} aria-current="page" className={styles.current}>
                  {n}
                </span>
              ) : (
                <Link key={n} aria-label={`Page ${n}`} {...linkTo({ ...view, page: n })}>
                  {n}
                </Link>
              ),
            )}
            {view.page < pageCount ? (
              <Link rel="next" {...linkTo({ ...view, page: view.page + 1 })}>
                Next →
              </Link>
            ) : (
              <span className={styles.disabled}>Next →</span>
            )}
          </nav>
        )}
      </section>
    </div>
  );
}

function ConditionFilter({
  options,
  selected,
  onChange,
}: {
  options: CatalogueData["facets"]["conditions"];
  selected: string[];
  onChange(codes: string[]): void;
}) {
  const [showAll, setShowAll] = useState(false);
  // Chosen codes stay visible even when the list is folded.
  const shown = showAll
    ? options
    : options.filter((option, i) => i < CONDITIONS_SHOWN || selected.includes(option.code));
  return (
    <fieldset className={styles.fieldset}>
      <legend className={styles.legend}>Conditions</legend>
      {options.length === 0 && <p className="muted small">No conditions yet.</p>}
      {shown.map((option) => (
        <label key={option.code} className={styles.check} title={option.code}>
          <input
            type="checkbox"
            name="condition"
            value={option.code}
            checked={selected.includes(option.code)}
            onChange={(event) =>
              onChange(
                event.target.checked
                  ? [...selected, option.code]
                  : selected.filter((code) => code !== option.code),
              )
            }
          />
          <span>{option.label || option.code}</span>
          <span className={styles.count}>{number(option.datasets)}</span>
        </label>
      ))}
      {options.length > CONDITIONS_SHOWN && (
        <button type="button" className="link" onClick={() => setShowAll(!showAll)}>
          {showAll ? "Show fewer" : `Show all ${options.length}`}
        </button>
      )}
    </fieldset>
  );
}

type Ranges = Pick<CatalogueView, "minPersons" | "maxPersons" | "minPrice" | "maxPrice">;

/** Size and price ranges, applied together (typing a bound does not reload on each key). */
function RangeFilters({
  view,
  facets,
  tokenSymbol,
  onApply,
}: {
  view: CatalogueView;
  facets: CatalogueData["facets"];
  tokenSymbol: string;
  onApply(ranges: Ranges): void;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    const ranges: Ranges = {};
    for (const name of ["minPersons", "maxPersons"] as const) {
      const value = text(name);
      if (!value) continue;
      if (!/^\d{1,9}$/.test(value)) return setProblem("Persons must be whole numbers.");
      ranges[name] = Number(value);
    }
    for (const name of ["minPrice", "maxPrice"] as const) {
      const value = text(name);
      if (!value) continue;
      if (!/^\d{1,30}(\.\d{1,18})?$/.test(value)) {
        return setProblem(`Prices must be amounts of ${tokenSymbol} such as 250 or 0.5.`);
      }
      ranges[name] = value;
    }
    if (
      ranges.minPersons !== undefined &&
      ranges.maxPersons !== undefined &&
      ranges.minPersons > ranges.maxPersons
    ) {
      return setProblem("The smallest size is above the largest.");
    }
    if (
      ranges.minPrice !== undefined &&
      ranges.maxPrice !== undefined &&
      Number(ranges.minPrice) > Number(ranges.maxPrice)
    ) {
      return setProblem("The lowest price is above the highest.");
    }
    setProblem(null);
    onApply(ranges);
  }
  return (
    <form className={styles.ranges} onSubmit={submit} noValidate>
      <fieldset className={styles.fieldset}>
        <legend className={styles.legend}>Persons</legend>
        <div className={styles.pair}>
          <input
            name="minPersons"
            inputMode="numeric"
            aria-label="Minimum persons"
            placeholder={facets.persons ? number(facets.persons.min) : "min"}
            defaultValue={view.minPersons ?? ""}
          />
          <span aria-hidden="true">–</span>
          <input
            name="maxPersons"
            inputMode="numeric"
            aria-label="Maximum persons"
            placeholder={facets.persons ? number(facets.persons.max) : "max"}
            defaultValue={view.maxPersons ?? ""}
          />
        </div>
        {facets.unsized > 0 && (
          <p className="muted small">
            {number(facets.unsized)} without registered files are left out by a size range.
          </p>
        )}
      </fieldset>
      <fieldset className={styles.fieldset}>
        <legend className={styles.legend}>Price ({tokenSymbol})</legend>
        <div className={styles.pair}>
          <input
            name="minPrice"
            inputMode="decimal"
            aria-label="Minimum price"
            placeholder={facets.price?.min ?? "min"}
            defaultValue={view.minPrice ?? ""}
          />
          <span aria-hidden="true">–</span>
          <input
            name="maxPrice"
            inputMode="decimal"
            aria-label="Maximum price"
            placeholder={facets.price?.max ?? "max"}
            defaultValue={view.maxPrice ?? ""}
          />
        </div>
      </fieldset>
      {problem && (
        <p className="small" role="alert" data-testid="range-problem">
          {problem}
        </p>
      )}
      <button type="submit" className="secondary">
        Apply ranges
      </button>
    </form>
  );
}
