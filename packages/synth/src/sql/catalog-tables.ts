import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import {
  AGE_BANDS,
  CENTENARIAN_TAIL,
  CONDITIONS,
  DRUGS,
  MEASUREMENT_PROGRAMS,
  MEASUREMENTS,
  REGIONS,
} from "../catalog";
import { SYNTH_VOCABULARY } from "../vocabulary";
import { sqlIdentifier } from "./database";

/**
 * The catalogue goes into small DuckDB tables so that generation is set-based SQL joins
 * instead of SQL text assembled per condition. Every value is a bound parameter.
 */
const TABLE_DEFINITIONS = {
  region_spec: "name VARCHAR, cum_from DOUBLE, cum_to DOUBLE, smoking_shift DOUBLE",
  age_band: "cum_from DOUBLE, cum_to DOUBLE, from_age DOUBLE, to_age DOUBLE",
  condition_spec: `condition_key VARCHAR, stage INTEGER, min_age DOUBLE, intercept DOUBLE,
    per_decade DOUBLE, per_decade_squared DOUBLE, male DOUBLE, smoker DOUBLE,
    bmi_per_unit DOUBLE, max_records INTEGER, chronic BOOLEAN`,
  condition_code_spec: "condition_key VARCHAR, code VARCHAR, cum_from DOUBLE, cum_to DOUBLE",
  condition_dependency: "condition_key VARCHAR, depends_on VARCHAR, log_odds DOUBLE",
  drug_spec: `drug_index INTEGER, atc VARCHAR, indication VARCHAR, share DOUBLE, min_age DOUBLE,
    kind VARCHAR, days_supply INTEGER, alt_days_supply INTEGER, alt_days_supply_share DOUBLE,
    persistence_years DOUBLE, max_episodes INTEGER`,
  measurement_spec: `loinc VARCHAR, unit VARCHAR, decimals INTEGER, mean DOUBLE,
    per_year_of_age DOUBLE, bmi_per_unit DOUBLE, sd DOUBLE, min_value DOUBLE, max_value DOUBLE`,
  measurement_effect:
    "loinc VARCHAR, slot INTEGER, condition_key VARCHAR, shift DOUBLE, person_sd DOUBLE",
  measurement_program: `program_index INTEGER, condition_key VARCHAR, min_age DOUBLE,
    share DOUBLE, interval_days INTEGER`,
  measurement_program_code: "program_index INTEGER, loinc VARCHAR",
  synth_concept: `concept_id INTEGER, concept_name VARCHAR, vocabulary_id VARCHAR,
    concept_code VARCHAR, domain_id VARCHAR`,
  synth_concept_ancestor:
    "ancestor_concept_id INTEGER, descendant_concept_id INTEGER, min_levels_of_separation INTEGER",
} as const;

type CatalogTable = keyof typeof TABLE_DEFINITIONS;

async function insertRows(
  connection: DuckDBConnection,
  table: CatalogTable,
  rows: readonly (readonly DuckDBValue[])[],
) {
  for (const row of rows) {
    const placeholders = row.map((_, index) => `$${index + 1}`).join(", ");
    await connection.run(`INSERT INTO ${sqlIdentifier(table)} VALUES (${placeholders})`, [...row]);
  }
}

/** Cumulative [from, to) intervals of normalised weights; the last interval is open-ended. */
function cumulativeIntervals(weights: readonly number[], start = 0, total = 1) {
  const sum = weights.reduce((a, b) => a + b, 0);
  let cursor = start;
  return weights.map((weight, index) => {
    const from = cursor;
    cursor += (weight / sum) * total;
    return { from, to: index === weights.length - 1 ? 2 : cursor };
  });
}

export function centenarianShare(): number {
  const bandTotal = AGE_BANDS.reduce((sum, band) => sum + band.weight, 0);
  return CENTENARIAN_TAIL.weight / (bandTotal + CENTENARIAN_TAIL.weight);
}

export async function loadCatalogTables(connection: DuckDBConnection) {
  for (const [table, columns] of Object.entries(TABLE_DEFINITIONS)) {
    await connection.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdentifier(table)} (${columns})`);
  }

  const regionIntervals = cumulativeIntervals(REGIONS.map((region) => region.weight));
  await insertRows(
    connection,
    "region_spec",
    REGIONS.map((region, index) => {
      const interval = regionIntervals[index];
      if (!interval) throw new Error("region interval missing");
      return [region.name, interval.from, interval.to, region.smokingShift];
    }),
  );

  // Quantile 0 is the oldest person: the centenarian tail comes first, then bands old to young.
  const tailShare = centenarianShare();
  const bandsOldestFirst = [...AGE_BANDS].reverse();
  const bandIntervals = cumulativeIntervals(
    bandsOldestFirst.map((band) => band.weight),
    tailShare,
    1 - tailShare,
  );
  await insertRows(
    connection,
    "age_band",
    bandsOldestFirst.map((band, index) => {
      const interval = bandIntervals[index];
      if (!interval) throw new Error("age band interval missing");
      return [interval.from, interval.to, band.fromAge, band.toAge];
    }),
  );

  await insertRows(
    connection,
    "condition_spec",
    CONDITIONS.map((condition) => [
      condition.key,
      condition.stage,
      condition.minAge,
      condition.risk.intercept,
      condition.risk.perDecade,
      condition.risk.perDecadeSquared,
      condition.risk.male,
      condition.risk.smoker,
      condition.risk.bmiPerUnit,
      condition.maxRecords,
      condition.chronic,
    ]),
  );
  await insertRows(
    connection,
    "condition_code_spec",
    CONDITIONS.flatMap((condition) => {
      const intervals = cumulativeIntervals(condition.codes.map((code) => code.share));
      return condition.codes.map((code, index) => {
        const interval = intervals[index];
        if (!interval) throw new Error("condition code interval missing");
        return [condition.key, code.code, interval.from, interval.to];
      });
    }),
  );
  await insertRows(
    connection,
    "condition_dependency",
    CONDITIONS.flatMap((condition) =>
      Object.entries(condition.dependsOn ?? {}).map(([dependsOn, logOdds]) => [
        condition.key,
        dependsOn,
        logOdds,
      ]),
    ),
  );

  await insertRows(
    connection,
    "drug_spec",
    DRUGS.map((drug, index) => [
      index,
      drug.atc,
      drug.indication,
      drug.share,
      drug.minAge,
      drug.kind,
      drug.daysSupply,
      drug.altDaysSupply,
      drug.altDaysSupplyShare,
      drug.persistenceYears,
      drug.maxEpisodes,
    ]),
  );

  await insertRows(
    connection,
    "measurement_spec",
    MEASUREMENTS.map((measurement) => [
      measurement.loinc,
      measurement.unit,
      measurement.decimals,
      measurement.mean,
      measurement.perYearOfAge,
      measurement.bmiPerUnit,
      measurement.sd,
      measurement.min,
      measurement.max,
    ]),
  );
  await insertRows(
    connection,
    "measurement_effect",
    MEASUREMENTS.flatMap((measurement) =>
      measurement.effects.map((effect, index) => [
        measurement.loinc,
        index + 1,
        effect.condition,
        effect.shift,
        effect.personSd,
      ]),
    ),
  );
  await insertRows(
    connection,
    "measurement_program",
    MEASUREMENT_PROGRAMS.map((program, index) => [
      index,
      program.condition,
      program.minAge,
      program.share,
      program.intervalDays,
    ]),
  );
  await insertRows(
    connection,
    "measurement_program_code",
    MEASUREMENT_PROGRAMS.flatMap((program, index) => program.loincs.map((loinc) => [index, loinc])),
  );
  await insertRows(
    connection,
    "synth_concept",
    SYNTH_VOCABULARY.concepts.map((c) => [c.conceptId, c.name, c.vocabulary, c.code, c.domain]),
  );
  await insertRows(connection, "synth_concept_ancestor", SYNTH_VOCABULARY.ancestors);
}
