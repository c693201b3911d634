import type { DuckDBConnection } from "@duckdb/node-api";
import type { PersonSource } from "./slices";

const CONDITION_STAGES = [1, 2] as const;

/**
 * person_condition: who has which condition and when it was first recorded. Stages run in
 * order so that stage-2 risks can add the log-odds of stage-1 conditions a person already
 * has (diabetes and hypertension -> kidney disease, ...).
 */
export async function createPersonConditions(connection: DuckDBConnection) {
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE person_condition
       (person_index BIGINT, condition_key VARCHAR, onset_date DATE)`,
  );
  for (const stage of CONDITION_STAGES) {
    await connection.run(
      `INSERT INTO person_condition
       WITH dependency_log_odds AS (
         SELECT pc.person_index, d.condition_key, sum(d.log_odds) AS log_odds
         FROM person_condition pc JOIN condition_dependency d ON d.depends_on = pc.condition_key
         GROUP BY pc.person_index, d.condition_key
       ),
       candidates AS (
         SELECT p.person_index, c.condition_key, p.obs_end,
           greatest(p.obs_start, p.birth_date + CAST(c.min_age * 365.25 AS INTEGER)) AS eligible_from,
           c.intercept
             + c.per_decade * (p.age_years - 50) / 10
             + c.per_decade_squared * pow((p.age_years - 50) / 10, 2)
             + CASE p.sex WHEN 'M' THEN c.male ELSE 0 END
             + CASE WHEN p.smoker THEN c.smoker ELSE 0 END
             + c.bmi_per_unit * (p.bmi - 27)
             + coalesce(dl.log_odds, 0) AS log_odds
         FROM person_base p
         CROSS JOIN condition_spec c
         LEFT JOIN dependency_log_odds dl
           ON dl.person_index = p.person_index AND dl.condition_key = c.condition_key
         WHERE c.stage = $stage
       )
       SELECT person_index, condition_key,
         eligible_from + CAST(floor(unit_uniform(person_index, condition_key, 'onset')
           * (date_diff('day', eligible_from, obs_end) + 1)) AS INTEGER) AS onset_date
       FROM candidates
       WHERE eligible_from <= obs_end
         AND unit_uniform(person_index, condition_key, 'has') < 1 / (1 + exp(-log_odds))`,
      { stage },
    );
  }
}

/**
 * A condition is recorded 1..max_records times: first at onset, then at random later dates.
 * Each record draws its code from the condition's code list (E11.9 / E11.65 / E11, ...).
 */
export function conditionOccurrenceOutputSql(source: PersonSource) {
  return `
    WITH records AS (
      SELECT pc.person_index, pc.condition_key, pc.onset_date, p.obs_end, p.person_id,
        unnest(range(1 + CAST(floor(unit_uniform(pc.person_index, pc.condition_key, 'records')
          * c.max_records) AS BIGINT))) AS record_number
      FROM ${source.conditions} pc
      JOIN ${source.base} p USING (person_index)
      JOIN condition_spec c USING (condition_key)
    ),
    dated AS (
      SELECT person_id, condition_key,
        CASE WHEN record_number = 0 THEN onset_date
             ELSE onset_date + CAST(floor(unit_uniform(person_index, record_number, condition_key || '/record-date')
               * (date_diff('day', onset_date, obs_end) + 1)) AS INTEGER)
        END AS condition_start_date,
        unit_uniform(person_index, record_number, condition_key || '/code') AS code_draw
      FROM records
    )
    SELECT d.person_id, sc.concept_id AS condition_concept_id, sc.vocabulary_id AS condition_vocabulary,
      cc.code AS condition_code, d.condition_start_date, NULL::DATE AS condition_end_date
    FROM dated d
    JOIN condition_code_spec cc
      ON cc.condition_key = d.condition_key AND d.code_draw >= cc.cum_from AND d.code_draw < cc.cum_to
    JOIN synth_concept sc ON sc.vocabulary_id = 'ICD10' AND sc.concept_code = cc.code
    ORDER BY d.person_id, d.condition_start_date, condition_code`;
}
