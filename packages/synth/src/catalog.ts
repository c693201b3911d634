/**
 * Every code list and every number that shapes the synthetic population lives here, so that a
 * reviewer can check plausibility in one place and the SQL modules stay free of magic numbers.
 *
 * Codes: conditions are ICD-10 (WHO, with a few ICD-10-CM style subcodes), drugs are ATC
 * (WHO Collaborating Centre), measurements are LOINC. Names are for humans only; the data
 * carries codes. Figures are rough European orders of magnitude, tuned so that the
 * relationships researchers look for (age gradients, comorbidity, treatment follows diagnosis,
 * lab values follow disease) are present — they are not epidemiological estimates.
 */

/** Events fall in this window; ages are measured at its end. */
export const OBSERVATION_START = "2015-01-01";
export const OBSERVATION_END = "2025-12-31";
export const REFERENCE_YEAR = 2025;

/** Nobody is generated older than this, whatever the seed and size. */
export const MAX_AGE_YEARS = 119;
/** Declared lower bound of year_of_birth: below any birth year the generator can produce. */
export const YEAR_OF_BIRTH_MIN = 1900;

export interface RegionSpec {
  name: string;
  weight: number;
  /** Added to the probability of being an ever-smoker (regional smoking culture). */
  smokingShift: number;
}

export const REGIONS: readonly RegionSpec[] = [
  { name: "Capital", weight: 0.22, smokingShift: -0.03 },
  { name: "North", weight: 0.18, smokingShift: 0.0 },
  { name: "East", weight: 0.16, smokingShift: 0.08 },
  { name: "South", weight: 0.24, smokingShift: 0.02 },
  { name: "West", weight: 0.2, smokingShift: -0.01 },
];

export interface AgeBand {
  /** Age in completed years at the reference date, inclusive. */
  fromAge: number;
  /** Exclusive. */
  toAge: number;
  /** Relative share of the population (normalised together with the centenarian tail). */
  weight: number;
}

/**
 * A European-shaped pyramid: narrow base (low recent births), widest at 50-60 (baby boomers),
 * then mortality. Shares in percent.
 */
export const AGE_BANDS: readonly AgeBand[] = [
  { fromAge: 0, toAge: 5, weight: 4.4 },
  { fromAge: 5, toAge: 10, weight: 4.9 },
  { fromAge: 10, toAge: 15, weight: 5.2 },
  { fromAge: 15, toAge: 20, weight: 5.2 },
  { fromAge: 20, toAge: 25, weight: 5.3 },
  { fromAge: 25, toAge: 30, weight: 5.6 },
  { fromAge: 30, toAge: 35, weight: 6.1 },
  { fromAge: 35, toAge: 40, weight: 6.6 },
  { fromAge: 40, toAge: 45, weight: 6.7 },
  { fromAge: 45, toAge: 50, weight: 6.6 },
  { fromAge: 50, toAge: 55, weight: 7.0 },
  { fromAge: 55, toAge: 60, weight: 7.3 },
  { fromAge: 60, toAge: 65, weight: 6.8 },
  { fromAge: 65, toAge: 70, weight: 5.9 },
  { fromAge: 70, toAge: 75, weight: 5.1 },
  { fromAge: 75, toAge: 80, weight: 4.3 },
  { fromAge: 80, toAge: 85, weight: 3.0 },
  { fromAge: 85, toAge: 90, weight: 1.8 },
  { fromAge: 90, toAge: 95, weight: 0.75 },
  { fromAge: 95, toAge: 100, weight: 0.22 },
];

/**
 * Centenarians: a share of the population in percent and an exponential survival tail.
 * Ages are assigned by stratified quantiles (see person.ts), so the oldest person sits at the
 * 0.5/N quantile and the next at 1.5/N: their ages differ by scaleYears * ln 3 (about 1.5
 * years), so the oldest birth year always holds exactly one person — the lone extreme value
 * that disclosure control must cope with. With 1,000,000 persons the oldest is about 108.
 */
export const CENTENARIAN_TAIL = { weight: 0.02, scaleYears: 1.4 } as const;

/** Adults' ever-smoker probability before the regional shift. */
export const SMOKING = { minAge: 15, male: 0.42, female: 0.3 } as const;

export interface LogisticModel {
  /** Log-odds at age 50, female, non-smoker, BMI 27, no other condition. */
  intercept: number;
  /** Per decade of age away from 50 (age at the end of the window). */
  perDecade: number;
  /** Per squared decade: lets a risk flatten or turn at old age. */
  perDecadeSquared: number;
  male: number;
  smoker: number;
  /** Per BMI unit above 27. */
  bmiPerUnit: number;
}

export interface ConditionCode {
  code: string;
  /** Share of this condition's records coded this way. */
  share: number;
}

export interface ConditionSpec {
  /** Stable key used in SQL and as hash salt; lower snake case. */
  key: string;
  name: string;
  codes: readonly ConditionCode[];
  /**
   * Stage 1 conditions depend on person attributes only; stage 2 may also depend on stage 1
   * conditions (dependsOn), which is how comorbidity clusters arise.
   */
  stage: 1 | 2;
  /** Youngest age at which the condition can first be recorded. */
  minAge: number;
  risk: LogisticModel;
  /** Extra log-odds when the person has these earlier-stage conditions. */
  dependsOn?: Readonly<Record<string, number>>;
  /** Records per person with the condition: 1 + uniform 0..(maxRecords - 1). */
  maxRecords: number;
  /** Chronic conditions raise the visit rate. */
  chronic: boolean;
  /** Rare conditions: a handful per 100,000. */
  rare?: boolean;
}

const neutral = { perDecade: 0, perDecadeSquared: 0, male: 0, smoker: 0, bmiPerUnit: 0 };

export const CONDITIONS: readonly ConditionSpec[] = [
  {
    key: "type2_diabetes",
    name: "Type 2 diabetes mellitus",
    codes: [
      { code: "E11.9", share: 0.7 },
      { code: "E11.65", share: 0.2 },
      { code: "E11", share: 0.1 },
    ],
    stage: 1,
    minAge: 18,
    risk: {
      intercept: -3.0,
      perDecade: 0.6,
      perDecadeSquared: -0.04,
      male: 0.25,
      smoker: 0.15,
      bmiPerUnit: 0.11,
    },
    maxRecords: 4,
    chronic: true,
  },
  {
    key: "type1_diabetes",
    name: "Type 1 diabetes mellitus",
    codes: [{ code: "E10.9", share: 1 }],
    stage: 1,
    minAge: 1,
    risk: { ...neutral, intercept: -5.5, male: 0.1 },
    maxRecords: 4,
    chronic: true,
  },
  {
    key: "hypertension",
    name: "Essential (primary) hypertension",
    codes: [{ code: "I10", share: 1 }],
    stage: 1,
    minAge: 18,
    risk: {
      intercept: -1.3,
      perDecade: 0.75,
      perDecadeSquared: -0.05,
      male: 0.2,
      smoker: 0.1,
      bmiPerUnit: 0.08,
    },
    maxRecords: 4,
    chronic: true,
  },
  {
    key: "hyperlipidaemia",
    name: "Hyperlipidaemia, unspecified",
    codes: [{ code: "E78.5", share: 1 }],
    stage: 1,
    minAge: 25,
    risk: {
      intercept: -1.8,
      perDecade: 0.6,
      perDecadeSquared: -0.06,
      male: 0.2,
      smoker: 0.1,
      bmiPerUnit: 0.04,
    },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "obesity",
    name: "Obesity, unspecified",
    codes: [{ code: "E66.9", share: 1 }],
    stage: 1,
    minAge: 5,
    // Diagnosed obesity follows the measured BMI steeply; age barely matters.
    risk: { ...neutral, intercept: -5.5, bmiPerUnit: 0.45 },
    maxRecords: 2,
    chronic: false,
  },
  {
    key: "asthma",
    name: "Asthma",
    codes: [
      { code: "J45.9", share: 0.8 },
      { code: "J45.0", share: 0.2 },
    ],
    stage: 1,
    minAge: 2,
    risk: { ...neutral, intercept: -2.8, perDecade: -0.12, smoker: 0.15, bmiPerUnit: 0.02 },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "depression",
    name: "Depressive episode",
    codes: [
      { code: "F32.9", share: 0.6 },
      { code: "F32.1", share: 0.4 },
    ],
    stage: 1,
    minAge: 12,
    risk: {
      intercept: -2.3,
      perDecade: 0.05,
      perDecadeSquared: -0.08,
      male: -0.5,
      smoker: 0.25,
      bmiPerUnit: 0.02,
    },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "copd",
    name: "Chronic obstructive pulmonary disease",
    codes: [{ code: "J44.9", share: 1 }],
    stage: 2,
    minAge: 40,
    // Almost entirely a disease of older (ex-)smokers.
    risk: {
      intercept: -5.6,
      perDecade: 0.9,
      perDecadeSquared: -0.1,
      male: 0.2,
      smoker: 2.2,
      bmiPerUnit: 0,
    },
    dependsOn: { asthma: 0.8 },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "chronic_kidney_disease",
    name: "Chronic kidney disease, stage 3",
    codes: [
      { code: "N18.3", share: 0.85 },
      { code: "N18.4", share: 0.15 },
    ],
    stage: 2,
    minAge: 30,
    risk: { ...neutral, intercept: -4.3, perDecade: 0.9, perDecadeSquared: -0.05 },
    dependsOn: { type2_diabetes: 1.0, type1_diabetes: 1.2, hypertension: 0.8 },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "coronary_heart_disease",
    name: "Chronic ischaemic heart disease",
    codes: [
      { code: "I25.1", share: 0.7 },
      { code: "I25.9", share: 0.3 },
    ],
    stage: 2,
    minAge: 35,
    risk: {
      intercept: -4.3,
      perDecade: 0.8,
      perDecadeSquared: -0.06,
      male: 0.7,
      smoker: 0.6,
      bmiPerUnit: 0.02,
    },
    dependsOn: { type2_diabetes: 0.5, hypertension: 0.5, hyperlipidaemia: 0.5 },
    maxRecords: 3,
    chronic: true,
  },
  {
    key: "atrial_fibrillation",
    name: "Atrial fibrillation",
    codes: [
      { code: "I48.9", share: 0.7 },
      { code: "I48.0", share: 0.3 },
    ],
    stage: 2,
    minAge: 40,
    risk: { ...neutral, intercept: -5.0, perDecade: 1.0, perDecadeSquared: -0.06, male: 0.3 },
    dependsOn: { hypertension: 0.4 },
    maxRecords: 3,
    chronic: true,
  },
  // Rare conditions: log-odds near -9.4 is about 8 per 100,000.
  {
    key: "motor_neuron_disease",
    name: "Motor neuron disease (ALS)",
    codes: [{ code: "G12.2", share: 1 }],
    stage: 1,
    minAge: 40,
    risk: { ...neutral, intercept: -10.0, perDecade: 0.2, male: 0.3 },
    maxRecords: 3,
    chronic: true,
    rare: true,
  },
  {
    key: "cystic_fibrosis",
    name: "Cystic fibrosis",
    codes: [{ code: "E84.9", share: 1 }],
    stage: 1,
    minAge: 0,
    // Shortened survival: prevalence falls with age.
    risk: { ...neutral, intercept: -11.0, perDecade: -0.3 },
    maxRecords: 3,
    chronic: true,
    rare: true,
  },
  {
    key: "haemophilia_a",
    name: "Hereditary factor VIII deficiency",
    codes: [{ code: "D66", share: 1 }],
    stage: 1,
    minAge: 0,
    // X-linked: essentially male.
    risk: { ...neutral, intercept: -13.5, male: 4.5 },
    maxRecords: 3,
    chronic: true,
    rare: true,
  },
  {
    key: "gaucher_disease",
    name: "Gaucher disease (sphingolipidosis)",
    codes: [{ code: "E75.22", share: 1 }],
    stage: 1,
    minAge: 0,
    risk: { ...neutral, intercept: -11.0 },
    maxRecords: 2,
    chronic: true,
    rare: true,
  },
];

export interface DrugSpec {
  atc: string;
  name: string;
  /** Condition key that leads to prescriptions; null: background use by anyone eligible. */
  indication: string | null;
  /** Probability that an eligible person receives the drug. */
  share: number;
  minAge: number;
  /**
   * chronic: repeat fills every daysSupply (+ up to 25 % gap) from start until the person
   * stops (exponential persistence) or the window ends; episodic: 1..maxEpisodes short courses
   * spread over the window.
   */
  kind: "chronic" | "episodic";
  daysSupply: number;
  /** Some prescribers give a different pack size (e.g. 30 instead of 90 days). */
  altDaysSupply: number;
  altDaysSupplyShare: number;
  /** Mean years on treatment before stopping (chronic). */
  persistenceYears: number;
  /** Maximum courses over the window (episodic). */
  maxEpisodes: number;
}

const chronic = (
  atc: string,
  name: string,
  indication: string,
  share: number,
  daysSupply = 90,
  persistenceYears = 8,
): DrugSpec => ({
  atc,
  name,
  indication,
  share,
  minAge: 0,
  kind: "chronic",
  daysSupply,
  altDaysSupply: 30,
  altDaysSupplyShare: daysSupply === 30 ? 0 : 0.35,
  persistenceYears,
  maxEpisodes: 1,
});

/** A person with two indications for the same drug gets one treatment course (earliest). */
export const DRUGS: readonly DrugSpec[] = [
  chronic("A10BA02", "metformin", "type2_diabetes", 0.82),
  chronic("A10BK01", "dapagliflozin", "type2_diabetes", 0.22),
  chronic("A10AE04", "insulin glargine", "type2_diabetes", 0.14, 30),
  chronic("A10AE04", "insulin glargine", "type1_diabetes", 0.95, 30, 50),
  chronic("A10AB05", "insulin aspart", "type1_diabetes", 0.95, 30, 50),
  chronic("C09AA05", "ramipril (ACE inhibitor)", "hypertension", 0.45),
  chronic("C09CA01", "losartan (ARB)", "hypertension", 0.3),
  chronic("C08CA01", "amlodipine", "hypertension", 0.35),
  chronic("C03AA03", "hydrochlorothiazide", "hypertension", 0.2),
  chronic("C09CA01", "losartan (ARB)", "chronic_kidney_disease", 0.3),
  chronic("C10AA05", "atorvastatin", "hyperlipidaemia", 0.6),
  chronic("C10AA01", "simvastatin", "hyperlipidaemia", 0.25),
  chronic("C10AA05", "atorvastatin", "coronary_heart_disease", 0.7),
  chronic("B01AC06", "acetylsalicylic acid", "coronary_heart_disease", 0.7),
  chronic("C07AB07", "bisoprolol", "coronary_heart_disease", 0.5),
  chronic("C07AB07", "bisoprolol", "atrial_fibrillation", 0.5),
  chronic("B01AF01", "rivaroxaban", "atrial_fibrillation", 0.4),
  chronic("B01AF02", "apixaban", "atrial_fibrillation", 0.35),
  chronic("R03AC02", "salbutamol inhaler", "asthma", 0.9, 30, 4),
  chronic("R03BA02", "budesonide inhaler", "asthma", 0.55, 30, 4),
  chronic("R03AC02", "salbutamol inhaler", "copd", 0.8, 30),
  chronic("R03BB04", "tiotropium inhaler", "copd", 0.7, 30),
  chronic("N06AB06", "sertraline (SSRI)", "depression", 0.4, 30, 1.5),
  chronic("N06AB04", "citalopram (SSRI)", "depression", 0.25, 30, 1.5),
  chronic("N06AB10", "escitalopram (SSRI)", "depression", 0.2, 30, 1.5),
  chronic("N07XX02", "riluzole", "motor_neuron_disease", 0.7, 30, 3),
  chronic("R05CB13", "dornase alfa", "cystic_fibrosis", 0.8, 30, 50),
  chronic("B02BD02", "coagulation factor VIII", "haemophilia_a", 0.9, 30, 50),
  chronic("A16AB02", "imiglucerase", "gaucher_disease", 0.8, 30, 50),
  // Off-label metformin (prediabetes, PCOS): keeps "metformin implies E11" mostly but not
  // entirely true, as in real data.
  chronic("A10BA02", "metformin (off-label)", "obesity", 0.04, 90, 2),
  {
    atc: "J01CA04",
    name: "amoxicillin",
    indication: null,
    share: 0.35,
    minAge: 0,
    kind: "episodic",
    daysSupply: 7,
    altDaysSupply: 5,
    altDaysSupplyShare: 0.3,
    persistenceYears: 0,
    maxEpisodes: 4,
  },
  {
    atc: "M01AE01",
    name: "ibuprofen",
    indication: null,
    share: 0.2,
    minAge: 12,
    kind: "episodic",
    daysSupply: 10,
    altDaysSupply: 20,
    altDaysSupplyShare: 0.3,
    persistenceYears: 0,
    maxEpisodes: 3,
  },
];

export interface ConditionEffect {
  condition: string;
  /** Mean shift of the value once the condition is present (from 180 days before onset). */
  shift: number;
  /** Spread of that shift between persons (how well controlled they are). */
  personSd: number;
}

export interface MeasurementSpec {
  loinc: string;
  name: string;
  unit: string;
  decimals: number;
  /** Mean at age 50, BMI 27, no condition. */
  mean: number;
  perYearOfAge: number;
  bmiPerUnit: number;
  /** Visit-to-visit spread. */
  sd: number;
  /** Values are clamped into [min, max]; the manifest declares the overall range. */
  min: number;
  max: number;
  effects: readonly ConditionEffect[];
}

export const MEASUREMENTS: readonly MeasurementSpec[] = [
  {
    loinc: "4548-4",
    name: "Hemoglobin A1c/Hemoglobin.total in Blood",
    unit: "%",
    decimals: 1,
    mean: 5.4,
    perYearOfAge: 0.01,
    bmiPerUnit: 0.03,
    sd: 0.3,
    min: 3.5,
    max: 18,
    effects: [
      { condition: "type2_diabetes", shift: 2.0, personSd: 1.0 },
      { condition: "type1_diabetes", shift: 2.6, personSd: 1.1 },
    ],
  },
  {
    loinc: "8480-6",
    name: "Systolic blood pressure",
    unit: "mm[Hg]",
    decimals: 0,
    mean: 124,
    perYearOfAge: 0.45,
    bmiPerUnit: 0.7,
    sd: 11,
    min: 70,
    max: 250,
    effects: [
      { condition: "hypertension", shift: 14, personSd: 8 },
      { condition: "chronic_kidney_disease", shift: 4, personSd: 4 },
    ],
  },
  {
    loinc: "8462-4",
    name: "Diastolic blood pressure",
    unit: "mm[Hg]",
    decimals: 0,
    mean: 78,
    perYearOfAge: 0.05,
    bmiPerUnit: 0.4,
    sd: 8,
    min: 40,
    max: 150,
    effects: [{ condition: "hypertension", shift: 7, personSd: 5 }],
  },
  {
    loinc: "33914-3",
    name: "Glomerular filtration rate/1.73 sq M.predicted (MDRD)",
    unit: "mL/min/{1.73_m2}",
    decimals: 0,
    mean: 88,
    perYearOfAge: -0.9,
    bmiPerUnit: 0,
    sd: 8,
    min: 5,
    max: 150,
    effects: [
      { condition: "chronic_kidney_disease", shift: -35, personSd: 8 },
      { condition: "type2_diabetes", shift: -5, personSd: 5 },
    ],
  },
  {
    loinc: "2089-1",
    name: "Cholesterol in LDL",
    unit: "mg/dL",
    decimals: 0,
    mean: 122,
    perYearOfAge: 0.3,
    bmiPerUnit: 0.5,
    sd: 18,
    min: 20,
    max: 350,
    effects: [
      { condition: "hyperlipidaemia", shift: 32, personSd: 22 },
      { condition: "coronary_heart_disease", shift: -18, personSd: 12 },
    ],
  },
  {
    loinc: "39156-5",
    name: "Body mass index (BMI)",
    unit: "kg/m2",
    decimals: 1,
    // mean + bmiPerUnit * (bmi - 27) is the person's own BMI.
    mean: 27,
    perYearOfAge: 0,
    bmiPerUnit: 1,
    sd: 0.6,
    min: 12,
    max: 80,
    effects: [],
  },
];

export interface MeasurementProgram {
  key: string;
  loincs: readonly string[];
  /** Condition that starts monitoring at its onset; null: anybody from minAge (screening). */
  condition: string | null;
  minAge: number;
  share: number;
  intervalDays: number;
}

export const MEASUREMENT_PROGRAMS: readonly MeasurementProgram[] = [
  {
    key: "hba1c_t2d",
    loincs: ["4548-4"],
    condition: "type2_diabetes",
    minAge: 0,
    share: 0.95,
    intervalDays: 182,
  },
  {
    key: "hba1c_t1d",
    loincs: ["4548-4"],
    condition: "type1_diabetes",
    minAge: 0,
    share: 0.95,
    intervalDays: 120,
  },
  {
    key: "hba1c_screen",
    loincs: ["4548-4"],
    condition: null,
    minAge: 40,
    share: 0.35,
    intervalDays: 1095,
  },
  {
    key: "bp_screen",
    loincs: ["8480-6", "8462-4"],
    condition: null,
    minAge: 18,
    share: 0.6,
    intervalDays: 730,
  },
  {
    key: "bp_hypertension",
    loincs: ["8480-6", "8462-4"],
    condition: "hypertension",
    minAge: 0,
    share: 0.95,
    intervalDays: 182,
  },
  {
    key: "egfr_ckd",
    loincs: ["33914-3"],
    condition: "chronic_kidney_disease",
    minAge: 0,
    share: 0.95,
    intervalDays: 182,
  },
  {
    key: "egfr_t2d",
    loincs: ["33914-3"],
    condition: "type2_diabetes",
    minAge: 0,
    share: 0.9,
    intervalDays: 365,
  },
  {
    key: "egfr_screen",
    loincs: ["33914-3"],
    condition: null,
    minAge: 50,
    share: 0.3,
    intervalDays: 1095,
  },
  {
    key: "ldl_lipids",
    loincs: ["2089-1"],
    condition: "hyperlipidaemia",
    minAge: 0,
    share: 0.9,
    intervalDays: 365,
  },
  {
    key: "ldl_chd",
    loincs: ["2089-1"],
    condition: "coronary_heart_disease",
    minAge: 0,
    share: 0.9,
    intervalDays: 365,
  },
  {
    key: "ldl_screen",
    loincs: ["2089-1"],
    condition: null,
    minAge: 40,
    share: 0.3,
    intervalDays: 1460,
  },
  {
    key: "bmi_screen",
    loincs: ["39156-5"],
    condition: null,
    minAge: 18,
    share: 0.5,
    intervalDays: 730,
  },
  {
    key: "bmi_obesity",
    loincs: ["39156-5"],
    condition: "obesity",
    minAge: 0,
    share: 0.9,
    intervalDays: 365,
  },
];

/**
 * Visits: a Poisson-like yearly rate that grows with age and chronic conditions; the type is
 * drawn per visit. Telehealth only exists from its introduction date; earlier draws become
 * outpatient visits.
 */
export const VISITS = {
  baseRatePerYear: 0.35,
  ratePerYearOfAge: 0.012,
  ratePerChronicCondition: 0.45,
  maxPerPerson: 250,
  emergencyShare: 0.07,
  telehealthShare: 0.05,
  telehealthFrom: "2020-03-01",
  inpatientBaseShare: 0.02,
  inpatientSharePerYearOfAge: 0.0008,
  inpatientSharePerChronicCondition: 0.01,
  meanInpatientStayDays: 3.5,
  maxInpatientStayDays: 90,
  emergencyOvernightShare: 0.25,
} as const;

export const VISIT_TYPES = ["outpatient", "emergency", "inpatient", "telehealth"] as const;

/** Declared bounds of days_supply: covers every pack size above. */
export const DAYS_SUPPLY_BOUNDS = { min: 1, max: 90 } as const;
