import { VISITS } from "../catalog";
import type { SqlParameters } from "./database";
import type { PersonSource } from "./slices";

/**
 * Visit counts are roughly Poisson (normal approximation) around a yearly rate that grows
 * with age and the number of chronic conditions, over the person's observed years. Visit
 * dates are uniform in the window; the type is drawn per visit, inpatient stays get an
 * exponential length.
 */
export function visitOccurrenceOutputSql(source: PersonSource): {
  sql: string;
  parameters: SqlParameters;
} {
  const sql = `
    WITH chronic_counts AS (
      SELECT pc.person_index, count(*) AS chronic_conditions
      FROM ${source.conditions} pc JOIN condition_spec c USING (condition_key)
      WHERE c.chronic
      GROUP BY pc.person_index
    ),
    expected AS (
      SELECT p.person_index, p.person_id, p.age_years, p.obs_start, p.obs_end,
        coalesce(cc.chronic_conditions, 0) AS chronic_conditions,
        ($base_rate + $rate_per_year_of_age * p.age_years + $rate_per_chronic * coalesce(cc.chronic_conditions, 0))
          * (date_diff('day', p.obs_start, p.obs_end) + 1) / 365.25 AS expected_visits
      FROM ${source.base} p LEFT JOIN chronic_counts cc USING (person_index)
    ),
    counted AS (
      SELECT *,
        CAST(least(greatest(round(expected_visits
          + sqrt(expected_visits) * std_normal(person_index, 0, 'visit-count')), 0), $max_per_person) AS BIGINT)
          AS visit_count
      FROM expected
    ),
    drawn AS (
      SELECT person_index, person_id, obs_end, visit_number,
        obs_start + CAST(floor(unit_uniform(person_index, visit_number, 'visit-date')
          * (date_diff('day', obs_start, obs_end) + 1)) AS INTEGER) AS visit_start_date,
        unit_uniform(person_index, visit_number, 'visit-type') AS type_draw,
        $inpatient_base + $inpatient_per_year_of_age * age_years + $inpatient_per_chronic * chronic_conditions
          AS inpatient_share
      FROM (SELECT *, unnest(range(visit_count)) AS visit_number FROM counted)
    ),
    typed AS (
      SELECT *,
        CASE WHEN type_draw < inpatient_share THEN 'inpatient'
             WHEN type_draw < inpatient_share + $emergency_share THEN 'emergency'
             WHEN type_draw < inpatient_share + $emergency_share + $telehealth_share
                  AND visit_start_date >= $telehealth_from::DATE THEN 'telehealth'
             ELSE 'outpatient' END AS visit_type,
        unit_uniform(person_index, visit_number, 'visit-length') AS length_draw
      FROM drawn
    )
    SELECT person_id,
      (SELECT concept_id FROM synth_concept WHERE vocabulary_id = 'Visit' AND concept_code = visit_type)
        AS visit_concept_id,
      visit_type, visit_start_date,
      least(obs_end, visit_start_date + CASE visit_type
        WHEN 'inpatient' THEN 1 + CAST(least(floor(-ln(1 - length_draw) * $mean_stay), $max_stay - 1) AS INTEGER)
        WHEN 'emergency' THEN CASE WHEN length_draw < $emergency_overnight THEN 1 ELSE 0 END
        ELSE 0 END) AS visit_end_date
    FROM typed
    ORDER BY person_id, visit_start_date, visit_type, visit_end_date`;
  return {
    sql,
    parameters: {
      base_rate: VISITS.baseRatePerYear,
      rate_per_year_of_age: VISITS.ratePerYearOfAge,
      rate_per_chronic: VISITS.ratePerChronicCondition,
      max_per_person: VISITS.maxPerPerson,
      inpatient_base: VISITS.inpatientBaseShare,
      inpatient_per_year_of_age: VISITS.inpatientSharePerYearOfAge,
      inpatient_per_chronic: VISITS.inpatientSharePerChronicCondition,
      emergency_share: VISITS.emergencyShare,
      telehealth_share: VISITS.telehealthShare,
      telehealth_from: VISITS.telehealthFrom,
      mean_stay: VISITS.meanInpatientStayDays,
      max_stay: VISITS.maxInpatientStayDays,
      emergency_overnight: VISITS.emergencyOvernightShare,
    },
  };
}
