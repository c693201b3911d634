"use client";
import type { CohortDefinitionInput } from "@opencohort/validators";
import { useState } from "react";
import styles from "./research.module.css";

type GroupBy = "sex" | "age_band" | "region";

/**
 * A catalogue condition as the builder offers it: with its subcodes where the vocabulary's
 * codes nest by prefix (ICD-10: E11 > E11.9; ATC), the concept itself otherwise (SNOMED
 * codes do not nest by prefix).
 */
const PREFIX_VOCABULARIES = ["ICD10", "ICD10CM", "ICD9CM", "ATC"];
const cohortCode = (code: string) =>
  PREFIX_VOCABULARIES.includes(code.slice(0, code.indexOf(":"))) ? `${code}*` : code;

/** A small cohort builder: condition codes, age range, sex and the breakdown of the counts. */
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
    const list = codes
      .split(/[\s,]+/)
      .map((code) => code.trim())
      .filter(Boolean);
    const age =
      minAge || maxAge
        ? {
            ...(minAge ? { min: Number(minAge) } : {}),
            ...(maxAge ? { max: Number(maxAge) } : {}),
          }
        : undefined;
    return {
      inclusion: list.length ? [{ domain: "condition", codes: list }] : [],
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
        onSubmit(build());
      }}
    >
      <label>
        <span>
          Condition codes, VOCABULARY:CODE as the dataset's vocabulary spells them (a trailing *
          matches a prefix)
        </span>
        <input
          value={codes}
          onChange={(event) => setCodes(event.target.value)}
          placeholder="e.g. ICD10:E11*"
          aria-label="Condition codes"
          list="cohort-condition-codes"
        />
        <datalist id="cohort-condition-codes">
          {conditions.map((condition) => (
            <option key={condition.code} value={cohortCode(condition.code)}>
              {condition.label || condition.code}
            </option>
          ))}
        </datalist>
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
      <button type="submit" disabled={busy}>
        {busy ? "Counting…" : submitLabel}
      </button>
    </form>
  );
}
