/**
 * Declared bounds of measurement values per code. A value's plausible range depends on what
 * was measured (an HbA1c in %, a weight in kg), so one bound for the whole column either
 * clamps real values or lets a unit mistake (a glucose in mg/dL filed as mmol/L) weigh a
 * thousand times its share in a sum. Each range here is a plausible physical range in the
 * code's usual UCUM unit, wide enough for real extremes; they are public (in the manifest),
 * fixed before any data is read, and the same whatever the patients.
 *
 * A steward's config (`codeBounds`) overrides or adds codes. Values of a code with neither
 * clamp to the column's bounds (`DEFAULT_BOUNDS.value_as_number` or the config's), and the
 * import report lists those codes, so the steward can declare them and import again.
 */
export interface CodeBounds {
  min: number;
  max: number;
  /** UCUM unit the range is written in. */
  unit?: string;
}

export const DEFAULT_CODE_BOUNDS: Readonly<Record<string, CodeBounds & { name: string }>> = {
  "LOINC:2085-9": { name: "HDL cholesterol", unit: "mg/dL", min: 5, max: 200 },
  "LOINC:2089-1": { name: "LDL cholesterol", unit: "mg/dL", min: 5, max: 600 },
  "LOINC:2093-3": { name: "Total cholesterol", unit: "mg/dL", min: 50, max: 1000 },
  "LOINC:2160-0": { name: "Creatinine in serum or plasma", unit: "mg/dL", min: 0.1, max: 25 },
  "LOINC:2339-0": { name: "Glucose in blood", unit: "mg/dL", min: 10, max: 1000 },
  "LOINC:2345-7": { name: "Glucose in serum or plasma", unit: "mg/dL", min: 10, max: 1000 },
  "LOINC:2571-8": { name: "Triglycerides", unit: "mg/dL", min: 10, max: 1000 },
  "LOINC:2708-6": { name: "Oxygen saturation in arterial blood", unit: "%", min: 50, max: 100 },
  "LOINC:2823-3": { name: "Potassium in serum or plasma", unit: "mmol/L", min: 1, max: 10 },
  "LOINC:2951-2": { name: "Sodium in serum or plasma", unit: "mmol/L", min: 90, max: 200 },
  "LOINC:29463-7": { name: "Body weight", unit: "kg", min: 0.3, max: 400 },
  "LOINC:33914-3": { name: "eGFR (MDRD)", unit: "mL/min/{1.73_m2}", min: 1, max: 200 },
  "LOINC:39156-5": { name: "Body mass index", unit: "kg/m2", min: 8, max: 100 },
  "LOINC:4548-4": { name: "Hemoglobin A1c", unit: "%", min: 3, max: 20 },
  "LOINC:59408-5": { name: "Oxygen saturation by pulse oximetry", unit: "%", min: 50, max: 100 },
  "LOINC:62238-1": { name: "eGFR (CKD-EPI)", unit: "mL/min/{1.73_m2}", min: 1, max: 200 },
  "LOINC:6690-2": { name: "Leukocytes in blood", unit: "10*3/uL", min: 0, max: 500 },
  "LOINC:718-7": { name: "Hemoglobin in blood", unit: "g/dL", min: 2, max: 25 },
  "LOINC:777-3": { name: "Platelets in blood", unit: "10*3/uL", min: 0, max: 1000 },
  "LOINC:8302-2": { name: "Body height", unit: "cm", min: 20, max: 250 },
  "LOINC:8310-5": { name: "Body temperature", unit: "Cel", min: 25, max: 45 },
  "LOINC:8462-4": { name: "Diastolic blood pressure", unit: "mm[Hg]", min: 20, max: 200 },
  "LOINC:8480-6": { name: "Systolic blood pressure", unit: "mm[Hg]", min: 50, max: 300 },
  "LOINC:8867-4": { name: "Heart rate", unit: "/min", min: 20, max: 300 },
  "LOINC:9279-1": { name: "Respiratory rate", unit: "/min", min: 4, max: 80 },
};

/**
 * The declared ranges, sorted by code: the defaults with the steward's config laid over them,
 * and the column's bounds. A default range is cut to the column's bounds (a steward who
 * declared the column narrower meant it; a default wholly outside is left out); a configured
 * range widens the column's bounds instead. Depends on the config and this table only, never
 * on which codes occur in the data.
 */
export function declaredCodeBounds(
  config: Readonly<Record<string, CodeBounds>> | undefined,
  column: { min: number; max: number },
) {
  const merged = new Map<string, CodeBounds>();
  for (const [code, { min, max, unit }] of Object.entries(DEFAULT_CODE_BOUNDS)) {
    const cut = { min: Math.max(min, column.min), max: Math.min(max, column.max) };
    if (cut.min <= cut.max) merged.set(code, { ...cut, unit });
  }
  for (const [code, bounds] of Object.entries(config ?? {})) merged.set(code, bounds);
  const codeBounds = [...merged]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, { min, max, unit }]) => ({ code, min, max, ...(unit ? { unit } : {}) }));
  return {
    codeBounds,
    columnBounds: {
      min: Math.min(column.min, ...codeBounds.map((range) => range.min)),
      max: Math.max(column.max, ...codeBounds.map((range) => range.max)),
    },
  };
}
