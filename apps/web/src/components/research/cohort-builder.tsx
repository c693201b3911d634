"use client";
import type { CohortDefinitionInput } from "@opencohort/validators";
import { useState } from "react";
import { parseCriterion, suggestedCode } from "./cohort-input";
import styles from "./research.module.css";

type GroupBy = "sex" | "age_band" | "region";

/**
 * A small cohort builder: conditions and drugs (codes or OMOP concept ids with their
 * descendants), age range, sex and the breakdown of the counts.
 */
export function CohortBuilder({
  conditions,
  submitLabel,
  busy,
  onSubmit,
}: {
  conditions: { code: string; label: string }[];
  submitLabel: string;
  busy: boolean;
  onSubmit: (cohort: CohortDefinitionInput) => void;
}) {
  const [codes, setCodes] = useState("");
  const [drugs, setDrugs] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [minAge, setMinAge] = useState("");
  const [maxAge, setMaxAge] = useState("");
  const [sex, setSex] = useState<"" | "F" | "M">("");
  const [groupBy, setGroupBy] = useState<GroupBy[]>(["sex"]);

  const toggle = (dimension: GroupBy) =>
    setGroupBy((current) =>
      current.includes(dimension)
        ? current.filter((item) => item !== dimension)
        : [...current, dimension],
    );

  const build = (): CohortDefinitionInput => {
    const inclusion = [parseCriterion("condition", codes), parseCriterion("drug", drugs)].filter(
      (criterion) => criterion !== null,
    );
    const age =
      minAge || maxAge
        ? {
            ...(minAge ? { min: Number(minAge) } : {}),
            ...(maxAge ? { max: Number(maxAge) } : {}),
          }
        : undefined;
    return {
      inclusion,
      ...(age ? { age } : {}),
      ...(sex ? { sex: [sex] } : {}),
      output: { groupBy, ageBandWidth: 10 },
    };
  };

  return (
    <form
      className={styles.builder}
      data-testid="cohort-builder"
      onSubmit={(event) => {
        event.preventDefault();
        let cohort: CohortDefinitionInput;
        try {
          cohort = build();
        } catch (problem) {
          setError((problem as Error).message);
          return;
        }
        setError(null);
        onSubmit(cohort);
      }}
    >
      <label>
        <span>
          Conditions: VOCABULARY:CODE as the dataset's vocabulary spells them (ICD10:E11*, a
          trailing * matches a prefix) or OMOP concept ids, each with its descendants (192671)
        </span>
        <input
          value={codes}
          onChange={(event) => setCodes(event.target.value)}
          placeholder="e.g. E11*"
          aria-label="Condition codes"
          list="cohort-condition-codes"
        />
        <datalist id="cohort-condition-codes">
          {conditions.map((condition) => (
            <option key={condition.code} value={suggestedCode(condition.code)}>
              {condition.label || condition.code}
            </option>
          ))}
        </datalist>
      </label>
      <label>
        <span>
          Exposed to drugs: codes (ATC:M01A*) or OMOP concept ids, each with its descendants (an
          ingredient and its products)
        </span>
        <input
          value={drugs}
          onChange={(event) => setDrugs(event.target.value)}
          placeholder="e.g. 1118084 1124300"
          aria-label="Drugs"
        />
      </label>
      <div className={styles.row}>
        <label>
          Age from
          <input
            type="number"
            min={0}
            max={130}
            value={minAge}
            onChange={(event) => setMinAge(event.target.value)}
            aria-label="Minimum age"
          />
        </label>
        <label>
          to
          <input
            type="number"
            min={0}
            max={130}
            value={maxAge}
            onChange={(event) => setMaxAge(event.target.value)}
            aria-label="Maximum age"
          />
        </label>
        <label>
          Sex
          <select
            value={sex}
            onChange={(event) => setSex(event.target.value as "" | "F" | "M")}
            aria-label="Sex"
          >
            <option value="">any</option>
            <option value="F">female</option>
            <option value="M">male</option>
          </select>
        </label>
      </div>
      <fieldset className={styles.row}>
        <legend>Break the counts down by</legend>
        {(["sex", "age_band", "region"] as const).map((dimension) => (
          <label key={dimension} className={styles.check}>
            <input
              type="checkbox"
              checked={groupBy.includes(dimension)}
              onChange={() => toggle(dimension)}
            />
            {dimension === "age_band" ? "age band (10 y)" : dimension}
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="error small" role="alert" data-testid="cohort-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Counting…" : submitLabel}
      </button>
    </form>
  );
}
