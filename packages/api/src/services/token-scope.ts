/**
 * What a token session may call. A cookie session is unaffected; a token session may call
 * only the procedures its scopes name, and with a dataset list only on those datasets. Every
 * other procedure (tokens, consent, stewardship, purchases) needs the signed-in web app, so a
 * leaked token cannot mint more tokens or spend the owner's money.
 */

import type { Db } from "@opencohort/db";
import type { TokenScopes } from "@opencohort/validators";

const CATALOGUE = new Set(["dataset.list", "dataset.facets", "dataset.byId", "dataset.concepts"]);
/** Query procedures whose input names the dataset. */
const BY_DATASET = new Set([
  "dataset.feasibility",
  "query.submit",
  "query.budget",
  "query.history",
]);
/** Query procedures whose input names a query (its dataset is looked up). */
const BY_QUERY = new Set(["query.status", "query.result", "query.receipt", "query.receiptProof"]);
const ALWAYS = new Set(["auth.session"]);

export type ScopeVerdict = { ok: true } | { ok: false; message: string };

const field = (input: unknown, name: string): string | undefined => {
  const value =
    input !== null && typeof input === "object"
      ? (input as Record<string, unknown>)[name]
      : undefined;
  return typeof value === "string" ? value : undefined;
};

export async function tokenAllows(
  db: Db,
  scopes: TokenScopes,
  path: string,
  input: unknown,
): Promise<ScopeVerdict> {
  if (ALWAYS.has(path)) return { ok: true };
  if (CATALOGUE.has(path)) {
    return scopes.catalogue
      ? { ok: true }
      : { ok: false, message: "This API token may not read the catalogue (scope catalogue)." };
  }
  if (BY_DATASET.has(path) || BY_QUERY.has(path)) {
    if (scopes.query === "none") {
      return { ok: false, message: "This API token may not run queries (scope query)." };
    }
    if (scopes.query === "all") return { ok: true };
    let datasetId = field(input, "datasetId")?.toLowerCase();
    if (BY_QUERY.has(path)) {
      const id = field(input, "id");
      if (id === undefined) return { ok: true }; // the input check refuses it next
      const row = await db.query.findUnique({ where: { id }, select: { datasetId: true } });
      if (!row) return { ok: true }; // the procedure answers NOT_FOUND as for anybody
      datasetId = row.datasetId.toLowerCase();
    }
    if (datasetId === undefined) {
      return {
        ok: false,
        message: "This API token is limited to some datasets: name one of them (datasetId).",
      };
    }
    return scopes.query.some((allowed) => allowed.toLowerCase() === datasetId)
      ? { ok: true }
      : { ok: false, message: "This API token may not query this dataset (scope query)." };
  }
  return {
    ok: false,
    message: "API tokens cannot call this; use the web app signed in with your wallet.",
  };
}
