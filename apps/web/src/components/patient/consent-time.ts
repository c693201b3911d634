/** Seconds of consent as the patient view shows them: "4 min 10 s", "1 h 5 s", "0 s". */
export function formatConsentTime(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`consent time must be a whole number of seconds ≥ 0: ${seconds}`);
  }
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor((seconds % 86_400) / 3_600), "h"],
    [Math.floor((seconds % 3_600) / 60), "min"],
    [seconds % 60, "s"],
  ];
  const parts = units.filter(([value]) => value > 0).map(([value, unit]) => `${value} ${unit}`);
  return parts.length > 0 ? parts.join(" ") : "0 s";
}
