import type { DuckDBConnection } from "@duckdb/node-api";
import {
  CENTENARIAN_TAIL,
  MAX_AGE_YEARS,
  OBSERVATION_END,
  OBSERVATION_START,
  SMOKING,
} from "../catalog";
import { centenarianShare } from "./catalog-tables";
import { pseudonymSql } from "./random";
import type { PersonSource } from "./slices";

/**
 * person_base: one row per person with the public columns and the hidden traits (exact age,
 * birth date, smoking, BMI, observation window) that later stages condition on.
 *
 * Ages come from stratified quantiles: persons are shuffled by a seeded hash, and the k-th
 * person in that order takes the (k - 0.5)/N quantile of the age distribution. The pyramid is
 * therefore exact for any N and the oldest person is always alone in their birth year (see
 * CENTENARIAN_TAIL), while which pseudonym gets which age is random.
 */
export async function createPersonBase(connection: DuckDBConnection, persons: number) {
  const pseudonym = pseudonymSql("person_index");
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE person_base AS
     WITH ranked AS (
       SELECT range AS person_index,
         (row_number() OVER (ORDER BY mixed_hash(range, 0, 'age-rank'), range) - 0.5)
           / $persons::DOUBLE AS age_quantile
       FROM range($persons::BIGINT)
     ),
     aged AS (
       SELECT r.person_index,
         least(
           CASE WHEN r.age_quantile < $tail_share
             THEN 100 + $tail_scale * ln($tail_share / r.age_quantile)
             ELSE b.to_age - (r.age_quantile - b.cum_from) / (b.cum_to - b.cum_from) * (b.to_age - b.from_age)
           END,
           $max_age + 0.99) AS age_years
       FROM ranked r LEFT JOIN age_band b ON r.age_quantile >= b.cum_from AND r.age_quantile < b.cum_to
     ),
     traits AS (
       SELECT a.person_index, a.age_years,
         $observation_end::DATE - CAST(floor(a.age_years * 365.25) AS INTEGER) AS birth_date,
         CASE WHEN unit_uniform(a.person_index, 0, 'sex')
                   < 0.49 + 0.22 * least(greatest((a.age_years - 50) / 45, 0), 1)
              THEN 'F' ELSE 'M' END AS sex,
         unit_uniform(a.person_index, 0, 'region') AS region_draw,
         unit_uniform(a.person_index, 0, 'smoker') AS smoker_draw,
         std_normal(a.person_index, 0, 'bmi') AS bmi_z
       FROM aged a
     ),
     pseudonym_input AS (
       SELECT t.*, rs.name AS region,
         t.age_years >= $smoking_min_age
           AND t.smoker_draw < CASE t.sex WHEN 'M' THEN $smoking_male ELSE $smoking_female END + rs.smoking_shift
           AS smoker,
         -- Children follow a growth curve; adult BMI is right-skewed and creeps up to ~60.
         least(greatest(
           CASE WHEN t.age_years < 18 THEN 15.5 + 0.35 * t.age_years + 2.2 * t.bmi_z
                ELSE (24.5 + 0.07 * least(t.age_years - 18, 45)) * exp(0.15 * t.bmi_z) END,
           13), 65) AS bmi
       FROM traits t JOIN region_spec rs ON t.region_draw >= rs.cum_from AND t.region_draw < rs.cum_to
     ),
     ${pseudonym.ctes}
     SELECT person_index, person_id, birth_date, year(birth_date)::INTEGER AS year_of_birth,
       age_years, sex, region, smoker, bmi,
       greatest($observation_start::DATE, birth_date) AS obs_start,
       $observation_end::DATE AS obs_end
     FROM ${pseudonym.result}`,
    {
      persons,
      tail_share: centenarianShare(),
      tail_scale: CENTENARIAN_TAIL.scaleYears,
      max_age: MAX_AGE_YEARS,
      observation_start: OBSERVATION_START,
      observation_end: OBSERVATION_END,
      smoking_min_age: SMOKING.minAge,
      smoking_male: SMOKING.male,
      smoking_female: SMOKING.female,
    },
  );
}

export function personOutputSql(source: PersonSource) {
  return `SELECT person_id, year_of_birth, sex, region FROM ${source.base} ORDER BY person_id`;
}

export function observationPeriodOutputSql(source: PersonSource) {
  return `SELECT person_id, obs_start AS observation_period_start_date,
      obs_end AS observation_period_end_date
    FROM ${source.base} ORDER BY person_id`;
}
