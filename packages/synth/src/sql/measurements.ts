import { MEASUREMENTS } from "../catalog";
import type { PersonSource } from "./slices";

/**
 * Measurements come from monitoring programmes: condition programmes start at onset (HbA1c
 * every 6 months for diabetes, ...), screening programmes enrol a share of everybody above an
 * age. A value is the age- and BMI-adjusted mean, plus each condition's shift from 180 days
 * before its onset (a person-level effect: some patients are well controlled, some not),
 * plus visit-to-visit noise, clamped to the code's range and rounded like a lab would.
 */
export function measurementOutputSql(source: PersonSource) {
  const maxEffects = Math.max(...MEASUREMENTS.map((measurement) => measurement.effects.length));
  const slots = Array.from({ length: maxEffects }, (_, index) => index + 1);
  return `
    WITH enrolments AS (
      SELECT pc.person_index, mp.program_index, mp.interval_days, pc.onset_date AS from_date
      FROM ${source.conditions} pc JOIN measurement_program mp ON mp.condition_key = pc.condition_key
      WHERE unit_uniform(pc.person_index, mp.program_index, 'enrol') < mp.share
      UNION ALL
      SELECT p.person_index, mp.program_index, mp.interval_days,
        greatest(p.obs_start, p.birth_date + CAST(mp.min_age * 365.25 AS INTEGER)) AS from_date
      FROM ${source.base} p CROSS JOIN measurement_program mp
      WHERE mp.condition_key IS NULL AND unit_uniform(p.person_index, mp.program_index, 'enrol') < mp.share
    ),
    scheduled AS (
      SELECT e.person_index, e.program_index, e.interval_days, p.obs_end,
        e.from_date + CAST(floor(unit_uniform(e.person_index, e.program_index, 'first') * e.interval_days)
          AS INTEGER) AS first_date
      FROM enrolments e JOIN ${source.base} p USING (person_index)
    ),
    occasions AS (
      SELECT person_index, program_index, occasion,
        first_date + CAST(occasion * interval_days
          + floor(unit_uniform(person_index, program_index * 1000 + occasion, 'jitter') * 0.3 * interval_days)
          AS INTEGER) AS measurement_date,
        obs_end
      FROM (
        SELECT *, unnest(range(CAST(floor(date_diff('day', first_date, obs_end) / interval_days) AS BIGINT) + 1))
          AS occasion
        FROM scheduled WHERE first_date <= obs_end
      )
    ),
    -- One row per person and code with the shifts of its conditions spread over slot columns,
    -- so that each measurement needs a single join and no per-row list work.
    person_effects AS (
      SELECT pc.person_index, me.loinc,
        ${slots
          .map(
            (
              slot,
            ) => `max(CASE WHEN me.slot = ${slot} THEN pc.onset_date - 180 END) AS effective_from_${slot},
        max(CASE WHEN me.slot = ${slot} THEN me.shift + me.person_sd * std_normal(pc.person_index, 0, me.loinc || '/' || me.condition_key) END) AS shift_${slot}`,
          )
          .join(",\n")}
      FROM ${source.conditions} pc JOIN measurement_effect me USING (condition_key)
      GROUP BY pc.person_index, me.loinc
    ),
    valued AS (
      SELECT p.person_id, o.measurement_date, ms.loinc, ms.unit, ms.decimals, ms.min_value, ms.max_value,
        ms.mean
          + ms.per_year_of_age * (date_diff('day', p.birth_date, o.measurement_date) / 365.25 - 50)
          + ms.bmi_per_unit * (p.bmi - 27)
          ${slots.map((slot) => `+ CASE WHEN pe.effective_from_${slot} <= o.measurement_date THEN pe.shift_${slot} ELSE 0 END`).join("\n")}
          + ms.sd * std_normal(o.person_index, o.program_index * 1000 + o.occasion, ms.loinc)
          AS raw_value
      FROM occasions o
      JOIN measurement_program_code mpc USING (program_index)
      JOIN measurement_spec ms USING (loinc)
      JOIN ${source.base} p USING (person_index)
      LEFT JOIN person_effects pe ON pe.person_index = o.person_index AND pe.loinc = ms.loinc
      WHERE o.measurement_date <= o.obs_end
    )
    SELECT person_id, sc.concept_id AS measurement_concept_id,
      sc.vocabulary_id AS measurement_vocabulary, loinc AS measurement_code,
      round(least(greatest(raw_value, min_value), max_value), decimals) AS value_as_number,
      unit, measurement_date
    FROM valued JOIN synth_concept sc ON sc.vocabulary_id = 'LOINC' AND sc.concept_code = loinc
    ORDER BY person_id, measurement_date, measurement_code, value_as_number`;
}
