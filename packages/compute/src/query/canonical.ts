import { createHash } from "node:crypto";
import { constraintKey } from "./constraints";
import { columnKey, dimensionKey, measureKey, type QueryPlan } from "./plan";
import { membershipKey } from "./validate";

/**
 * The canonical text of a plan: everything that changes the answer, nothing that does not
 * (aliases, select order, predicate order, spelling). Its hash is the receipt's query hash
 * and part of the sticky-noise key.
 */
export function canonicalText(plan: QueryPlan): string {
  return JSON.stringify({
    v: 1,
    tables: plan.tables,
    where: plan.filters.map((f) => [columnKey(f.column), constraintKey(f.constraint)]),
    membership: plan.memberships.map(membershipKey),
    groupBy: plan.dimensions.map(dimensionKey),
    measures: plan.measures.map(measureKey),
  });
}

export function sha256Hex(text: string | Buffer): `0x${string}` {
  return `0x${createHash("sha256").update(text).digest("hex")}`;
}

export function canonicalHash(plan: QueryPlan): `0x${string}` {
  return sha256Hex(canonicalText(plan));
}
