import { describe, expect, it } from "vitest";
import {
  CONDITIONS,
  DAYS_SUPPLY_BOUNDS,
  DRUGS,
  MEASUREMENT_PROGRAMS,
  MEASUREMENTS,
  REGIONS,
} from "./catalog";

const conditionKeys = new Set(CONDITIONS.map((condition) => condition.key));

describe("catalogue", () => {
  it("uses well-formed ICD-10, ATC and LOINC codes", () => {
    for (const condition of CONDITIONS) {
      for (const { code } of condition.codes) expect(code).toMatch(/^[A-Z]\d{2}(\.\d{1,2})?$/);
    }
    for (const drug of DRUGS) expect(drug.atc).toMatch(/^[A-Z]\d{2}[A-Z]{2}\d{2}$/);
    for (const measurement of MEASUREMENTS) expect(measurement.loinc).toMatch(/^\d{1,5}-\d$/);
  });

  it("has unique, SQL-safe condition keys and code shares that sum to one", () => {
    expect(conditionKeys.size).toBe(CONDITIONS.length);
    for (const condition of CONDITIONS) {
      expect(condition.key).toMatch(/^[a-z_][a-z0-9_]*$/);
      const total = condition.codes.reduce((sum, code) => sum + code.share, 0);
      expect(total, condition.key).toBeCloseTo(1, 9);
    }
  });

  it("lets stage-2 conditions depend only on stage-1 conditions", () => {
    const stageOf = new Map(CONDITIONS.map((condition) => [condition.key, condition.stage]));
    for (const condition of CONDITIONS) {
      for (const dependency of Object.keys(condition.dependsOn ?? {})) {
        expect(condition.stage, condition.key).toBe(2);
        expect(stageOf.get(dependency), `${condition.key} -> ${dependency}`).toBe(1);
      }
    }
  });

  it("refers only to known conditions and measurements", () => {
    const loincs = new Set(MEASUREMENTS.map((measurement) => measurement.loinc));
    for (const drug of DRUGS) {
      if (drug.indication !== null) expect(conditionKeys.has(drug.indication), drug.atc).toBe(true);
    }
    for (const measurement of MEASUREMENTS) {
      for (const effect of measurement.effects)
        expect(conditionKeys.has(effect.condition)).toBe(true);
    }
    for (const program of MEASUREMENT_PROGRAMS) {
      if (program.condition !== null) expect(conditionKeys.has(program.condition)).toBe(true);
      for (const loinc of program.loincs) expect(loincs.has(loinc), program.key).toBe(true);
    }
  });

  it("keeps pack sizes inside the declared days_supply bounds", () => {
    for (const drug of DRUGS) {
      for (const days of [drug.daysSupply, drug.altDaysSupply]) {
        expect(days).toBeGreaterThanOrEqual(DAYS_SUPPLY_BOUNDS.min);
        expect(days).toBeLessThanOrEqual(DAYS_SUPPLY_BOUNDS.max);
      }
    }
  });

  it("has a handful of named regions", () => {
    expect(REGIONS.length).toBeGreaterThanOrEqual(4);
    expect(REGIONS.reduce((sum, region) => sum + region.weight, 0)).toBeCloseTo(1, 9);
  });
});
