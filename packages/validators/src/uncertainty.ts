/**
 * Reading released uncertainty, without zod: the web imports this path alone so that its
 * pages do not bundle the schemas (`@opencohort/validators/uncertainty`).
 */

/** The confidence level of the released intervals. */
export const UNCERTAINTY_LEVEL = 0.95;

/** One released number's noise sd and 95% interval (see cellUncertaintySchema). */
export interface CellUncertaintyValue {
  sd: number;
  lo: number;
  hi: number;
}

/**
 * Whether a released number is too noisy to read on its own: its 95% interval is wider than
 * the number itself (noise of the size of the value).
 */
export function isUnreliable(value: unknown, u: CellUncertaintyValue | null | undefined): boolean {
  if (!u || typeof value !== "number") return false;
  return u.hi - u.lo > Math.abs(value);
}
