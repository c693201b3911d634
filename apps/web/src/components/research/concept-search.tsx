"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTRPC } from "~/trpc/react";
import { conceptCode, conceptSnippet } from "./concept-snippet";
import { Refusal } from "./dataset-view";
import styles from "./research.module.css";

const PAGE = 10;

/** Waits until typing pauses, so a search is not sent on every key. */
function useSettled(value: string, ms = 300) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The dataset's shipped vocabulary in the schema panel: search concepts by name, code or id
 * and insert `descendant_of(<column>, <id>)` into the query. Served from the concept table
 * (reference data shipped whole), never from the data: no counts.
 */
export function ConceptSearch({
  datasetId,
  onInsert,
}: {
  datasetId: string;
  onInsert: (text: string) => void;
}) {
  const trpc = useTRPC();
  const [text, setText] = useState("");
  const [offset, setOffset] = useState(0);
  const search = useSettled(text.trim());
  // A new search starts at its first page.
  const [pagedSearch, setPagedSearch] = useState(search);
  if (pagedSearch !== search) {
    setPagedSearch(search);
    setOffset(0);
  }
  const concepts = useQuery({
    ...trpc.dataset.concepts.queryOptions({ datasetId, search, offset, limit: PAGE }),
    enabled: search.length > 0,
    placeholderData: (previous) => previous,
  });
  return (
    <div className={styles.conceptSearch} data-testid="concept-search">
      <h3>Concepts</h3>
      <input
        type="search"
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder="hemorrhage, K92.2, 192671…"
        aria-label="Search concepts"
      />
      {search.length === 0 && (
        <p className="muted small">
          Search the dataset's vocabulary by name, code or concept id; click one to insert it and
          its descendants.
        </p>
      )}
      {search.length > 0 && concepts.isPending && <p className="muted small">Searching…</p>}
      {concepts.error && <Refusal error={concepts.error} />}
      {search.length > 0 && concepts.data && !concepts.data.shipped && (
        <p className="muted small">
          This dataset ships no vocabulary (or its files are not registered yet).
        </p>
      )}
      {search.length > 0 && concepts.data?.shipped && concepts.data.concepts.length === 0 && (
        <p className="muted small">No concept matches.</p>
      )}
      <ul>
        {search.length > 0 &&
          concepts.data?.concepts.map((concept) => (
            <li key={concept.conceptId}>
              <button
                type="button"
                className="link"
                title={`Insert ${conceptSnippet(concept)}`}
                onClick={() => onInsert(conceptSnippet(concept))}
              >
                {concept.name}
              </button>{" "}
              <span className="muted small">
                {concept.conceptId} · {conceptCode(concept)} · {concept.domain}
              </span>
            </li>
          ))}
      </ul>
      {search.length > 0 && (offset > 0 || concepts.data?.nextOffset != null) && (
        <p className="small">
          <button
            type="button"
            className="link"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            Previous
          </button>{" "}
          <button
            type="button"
            className="link"
            disabled={concepts.data?.nextOffset == null}
            onClick={() => setOffset(concepts.data?.nextOffset ?? offset)}
          >
            Next
          </button>
        </p>
      )}
    </div>
  );
}
