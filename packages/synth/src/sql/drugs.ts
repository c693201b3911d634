import type { PersonSource } from "./slices";

/**
 * Treatment courses follow diagnoses: a person with an indication gets each of its drugs with
 * the drug's share, starting within 60 days of onset. Background drugs (antibiotics, pain
 * killers) go to anyone eligible. Two indications for the same drug yield one course, the
 * earliest; min() over a struct keeps that choice deterministic when start dates tie.
 */
export function drugExposureOutputSql(source: PersonSource) {
  return `
    WITH indicated AS (
      SELECT pc.person_index, d.atc, d.drug_index,
        pc.onset_date + CAST(floor(unit_uniform(pc.person_index, d.drug_index, 'start-lag') * 60) AS INTEGER)
          AS start_date
      FROM ${source.conditions} pc JOIN drug_spec d ON d.indication = pc.condition_key
      WHERE unit_uniform(pc.person_index, d.drug_index, 'prescribed') < d.share
    ),
    background AS (
      SELECT p.person_index, d.atc, d.drug_index,
        greatest(p.obs_start, p.birth_date + CAST(d.min_age * 365.25 AS INTEGER)) AS start_date
      FROM ${source.base} p CROSS JOIN drug_spec d
      WHERE d.indication IS NULL AND unit_uniform(p.person_index, d.drug_index, 'prescribed') < d.share
    ),
    earliest AS (
      SELECT person_index, atc, min({'start_date': start_date, 'drug_index': drug_index}) AS course
      FROM (SELECT * FROM indicated UNION ALL SELECT * FROM background)
      GROUP BY person_index, atc
    ),
    courses AS (
      SELECT e.person_index, p.person_id, p.obs_end, d.*,
        e.course.start_date AS start_date,
        CASE WHEN unit_uniform(e.person_index, d.drug_index, 'pack') < d.alt_days_supply_share
             THEN d.alt_days_supply ELSE d.days_supply END AS course_days_supply,
        -- Exponential persistence, capped before it can overflow a date.
        e.course.start_date + CAST(least(
          floor(-ln(1 - unit_uniform(e.person_index, d.drug_index, 'persistence')) * d.persistence_years * 365.25),
          20000) AS INTEGER) AS stop_date,
        1 + 0.25 * unit_uniform(e.person_index, d.drug_index, 'refill-gap') AS refill_spacing
      FROM earliest e
      JOIN drug_spec d ON d.drug_index = e.course.drug_index
      JOIN ${source.base} p ON p.person_index = e.person_index
      WHERE e.course.start_date <= p.obs_end
    ),
    fills AS (
      SELECT *,
        unnest(range(CASE kind
          WHEN 'chronic' THEN least(CAST(floor(date_diff('day', start_date, least(stop_date, obs_end))
                 / (course_days_supply * refill_spacing)) AS BIGINT) + 1, 150)
          ELSE 1 + CAST(floor(unit_uniform(person_index, drug_index, 'episodes') * max_episodes) AS BIGINT)
        END)) AS fill_number
      FROM courses
    )
    , dated AS (
      SELECT person_id, atc AS drug_code,
        CASE kind
          WHEN 'chronic' THEN start_date + CAST(floor(fill_number * course_days_supply * refill_spacing) AS INTEGER)
          ELSE start_date + CAST(floor(unit_uniform(person_index, drug_index * 1000 + fill_number, 'episode-date')
            * (date_diff('day', start_date, obs_end) + 1)) AS INTEGER)
        END AS drug_exposure_start_date,
        course_days_supply AS days_supply
      FROM fills
    )
    SELECT person_id, sc.concept_id AS drug_concept_id, sc.vocabulary_id AS drug_vocabulary, drug_code,
      drug_exposure_start_date, drug_exposure_start_date + days_supply - 1 AS drug_exposure_end_date,
      days_supply
    FROM dated JOIN synth_concept sc ON sc.vocabulary_id = 'ATC' AND sc.concept_code = drug_code
    ORDER BY person_id, drug_exposure_start_date, drug_code, days_supply`;
}
