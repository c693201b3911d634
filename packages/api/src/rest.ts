/**
 * The documented HTTP API for scripts and notebooks (`/api/v1/...`, described by the OpenAPI
 * document of openapi.ts). Each operation calls the same tRPC procedure as the web app through
 * createCaller, so roles, passes, budgets, rate limits and token scopes are the procedures'
 * own. Errors carry the same `rule` ids; results are also served as CSV.
 */
import {
  type apiErrorOutputSchema,
  conceptPageOutputSchema,
  conceptSearchInputSchema,
  datasetDetailOutputSchema,
  datasetIdInputSchema,
  datasetListInputSchema,
  datasetListOutputSchema,
  feasibilityInputSchema,
  feasibilityOutputSchema,
  meOutputSchema,
  queryBudgetInputSchema,
  queryBudgetOutputSchema,
  queryHistoryInputSchema,
  queryHistoryOutputSchema,
  queryIdInputSchema,
  queryReceiptOutputSchema,
  queryStatusOutputSchema,
  querySubmitInputSchema,
  queryViewOutputSchema,
} from "@opencohort/validators";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError, type z } from "zod";
import { type ApiServices, createContextInner } from "./context";
import { authenticate, clientIpOf } from "./http";
import { createCaller } from "./root";
import { apiLogger, logProcedureError } from "./services/log";
import { RateLimitError, RuleError } from "./trpc";

type Caller = ReturnType<typeof createCaller>;

export interface RestOperation {
  operationId: string;
  method: "get" | "post";
  /** OpenAPI path template; `{name}` segments become input fields of the same name. */
  path: string;
  summary: string;
  /** The tRPC procedure it calls (what token scopes are checked against). */
  procedure: string;
  /** Where the non-path input comes from: the JSON body, or query parameters (JSON values). */
  inputFrom: "body" | "query" | "none";
  input: z.ZodType | null;
  output: z.ZodType;
  /** Needs a token or session (every operation but the catalogue). */
  auth: boolean;
  call(caller: Caller, input: unknown): Promise<unknown>;
}

// The procedures validate their own input; the casts only hand it over.
// biome-ignore lint/suspicious/noExplicitAny: input is validated by the procedure's own schema
type Any = any;

export const restOperations: RestOperation[] = [
  {
    operationId: "me",
    method: "get",
    path: "/api/v1/me",
    summary: "Who the token acts as, and the roles of that address.",
    procedure: "auth.session",
    inputFrom: "none",
    input: null,
    output: meOutputSchema,
    auth: true,
    call: (caller) => caller.auth.session(),
  },
  {
    operationId: "listDatasets",
    method: "get",
    path: "/api/v1/datasets",
    summary: "The catalogue: listed datasets, filtered and paged.",
    procedure: "dataset.list",
    inputFrom: "query",
    input: datasetListInputSchema,
    output: datasetListOutputSchema,
    auth: false,
    call: (caller, input) => caller.dataset.list(input as Any),
  },
  {
    operationId: "getDataset",
    method: "get",
    path: "/api/v1/datasets/{datasetId}",
    summary: "One dataset: its card, versions, data card (tables, columns) and privacy standards.",
    procedure: "dataset.byId",
    inputFrom: "none",
    input: datasetIdInputSchema,
    output: datasetDetailOutputSchema,
    auth: false,
    call: (caller, input) => caller.dataset.byId(input as Any),
  },
  {
    operationId: "searchConcepts",
    method: "get",
    path: "/api/v1/datasets/{datasetId}/concepts",
    summary:
      "A page of the dataset's shipped vocabulary (concept id, name, vocabulary, code, domain) matching a name, code or id: what descendant_of(...) queries and cohorts name.",
    procedure: "dataset.concepts",
    inputFrom: "query",
    input: conceptSearchInputSchema,
    output: conceptPageOutputSchema,
    auth: false,
    call: (caller, input) => caller.dataset.concepts(input as Any),
  },
  {
    operationId: "feasibility",
    method: "post",
    path: "/api/v1/datasets/{datasetId}/feasibility",
    summary: "Noisy, coarse counts of a cohort definition (no pass needed; shared budget).",
    procedure: "dataset.feasibility",
    inputFrom: "body",
    input: feasibilityInputSchema,
    output: feasibilityOutputSchema,
    auth: true,
    call: (caller, input) => caller.dataset.feasibility(input as Any),
  },
  {
    operationId: "getBudget",
    method: "get",
    path: "/api/v1/datasets/{datasetId}/budget",
    summary: "My remaining privacy budget on a dataset.",
    procedure: "query.budget",
    inputFrom: "none",
    input: queryBudgetInputSchema,
    output: queryBudgetOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.budget(input as Any),
  },
  {
    operationId: "submitQuery",
    method: "post",
    path: "/api/v1/queries",
    summary:
      "Queue SQL (or a cohort definition) on a dataset I hold a pass for. The answer comes as soon as the query is queued (status PENDING): poll GET /api/v1/queries/{id} until it is final (SUCCEEDED, or REJECTED/FAILED with error.rule). With wait: true the answer comes when the query is final, or after 55 s with the status it then has.",
    procedure: "query.submit",
    inputFrom: "body",
    input: querySubmitInputSchema,
    output: queryViewOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.submit(input as Any),
  },
  {
    operationId: "listQueries",
    method: "get",
    path: "/api/v1/queries",
    summary: "My queries, newest first, without result rows.",
    procedure: "query.history",
    inputFrom: "query",
    input: queryHistoryInputSchema,
    output: queryHistoryOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.history(input as Any),
  },
  {
    operationId: "getQueryStatus",
    method: "get",
    path: "/api/v1/queries/{id}",
    summary: "Where a query is, with its refusal (rule) if any.",
    procedure: "query.status",
    inputFrom: "none",
    input: queryIdInputSchema,
    output: queryStatusOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.status(input as Any),
  },
  {
    operationId: "getQueryResult",
    method: "get",
    path: "/api/v1/queries/{id}/result",
    summary: "The whole query: disclosure-controlled result, refusal, receipt.",
    procedure: "query.result",
    inputFrom: "none",
    input: queryIdInputSchema,
    output: queryViewOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.result(input as Any),
  },
  {
    operationId: "getQueryReceipt",
    method: "get",
    path: "/api/v1/queries/{id}/receipt",
    summary: "The receipt of a succeeded query (null otherwise).",
    procedure: "query.receipt",
    inputFrom: "none",
    input: queryIdInputSchema,
    output: queryReceiptOutputSchema,
    auth: true,
    call: (caller, input) => caller.query.receipt(input as Any),
  },
];

/** The CSV route: the same procedure as getQueryResult, rendered as text/csv. */
export const CSV_RESULT_PATH = "/api/v1/queries/{id}/result.csv";

/** Compiles `/a/{x}/b` into a matcher returning `{ x }`. */
function matcher(template: string): (path: string) => Record<string, string> | null {
  const names: string[] = [];
  const source = template.replace(/[.]/g, "\\.").replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  const regex = new RegExp(`^${source}$`);
  return (path) => {
    const match = regex.exec(path);
    if (!match) return null;
    return Object.fromEntries(
      names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]),
    );
  };
}

/** JSON with bigints as decimal strings (block numbers) and dates as ISO strings. */
function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const text = JSON.stringify(body, (_key, value) =>
    typeof value === "bigint" ? value.toString() : value,
  );
  return new Response(text, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

/** The API's error body for any error a procedure threw; never a stack or a data value. */
export function errorResponse(error: unknown): Response {
  const trpc =
    error instanceof TRPCError
      ? error
      : new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error." });
  const zod = trpc.cause instanceof ZodError ? trpc.cause : undefined;
  const body: z.infer<typeof apiErrorOutputSchema> = {
    error: {
      code: trpc.code,
      message: trpc.code === "INTERNAL_SERVER_ERROR" ? "Internal error." : trpc.message,
      ...(trpc.cause instanceof RuleError ? { rule: trpc.cause.rule } : {}),
      ...(zod?.issues[0] ? { field: zod.issues[0].path.join(".") } : {}),
    },
  };
  const retryAfter = trpc.cause instanceof RateLimitError ? trpc.cause.retryAfterSeconds : 0;
  return json(
    body,
    getHTTPStatusCodeFromError(trpc),
    retryAfter > 0 ? { "retry-after": String(retryAfter) } : {},
  );
}

/** Query parameters as input: each value is JSON when it parses (5, true, ["a"]), else text. */
function queryInput(url: URL): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, raw] of url.searchParams) {
    let value: unknown = raw;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== "string") value = parsed;
    } catch {
      // plain text
    }
    input[key] = value;
  }
  return input;
}

/** A CSV field: quoted when needed; a leading =+-@ is prefixed so spreadsheets do not run it. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "number" ? String(value) : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The released rows of a result as CSV (header = column names); nothing else is in it. */
export function resultCsv(result: { columns: { name: string }[]; rows: unknown[][] }): string {
  const lines = [result.columns.map((column) => csvField(column.name)).join(",")];
  for (const row of result.rows) lines.push(row.map(csvField).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export interface RestHandlerOptions {
  trustedProxyHops?: number;
  /** Serves the OpenAPI document here (default /api/openapi.json). */
  documentPath?: string;
  /** The document itself (openapi.ts builds it; passed in to keep this module light). */
  document?: () => unknown;
}

/**
 * A `(Request) => Promise<Response | null>` for the REST routes: null when the path is not
 * one of them (the caller then answers 404 or routes elsewhere).
 */
export function createRestHandler(
  services: ApiServices,
  options: RestHandlerOptions = {},
): (request: Request) => Promise<Response | null> {
  const routes = restOperations.map((operation) => ({ operation, match: matcher(operation.path) }));
  const matchCsv = matcher(CSV_RESULT_PATH);
  const documentPath = options.documentPath ?? "/api/openapi.json";
  return async (request) => {
    const url = new URL(request.url);
    const method = request.method.toLowerCase();
    if (url.pathname === documentPath && options.document) {
      return method === "get" ? json(options.document()) : json(methodNotAllowed, 405);
    }
    const csv = matchCsv(url.pathname);
    let found: { operation: RestOperation; params: Record<string, string> } | null = null;
    let pathKnown = false;
    if (!csv) {
      for (const route of routes) {
        const params = route.match(url.pathname);
        if (!params) continue;
        pathKnown = true;
        if (route.operation.method === method) {
          found = { operation: route.operation, params };
          break;
        }
      }
      if (!found) return pathKnown ? json(methodNotAllowed, 405) : null;
    } else if (method !== "get") {
      return json(methodNotAllowed, 405);
    }

    // Tokens only: the browser's session cookie does not reach the REST API (no CSRF surface).
    const auth = await authenticate(services, request, { cookie: false });
    if (!auth.ok) return auth.response;
    const caller = createCaller(
      createContextInner({
        services,
        session: auth.session,
        clientIp: clientIpOf(request, options.trustedProxyHops ?? 0),
      }),
    );
    try {
      if (csv) {
        const view = await caller.query.result({ id: csv.id ?? "" });
        if (!view.result) {
          const message = view.error
            ? `The query was refused (rule ${view.error.rule}): ${view.error.message}`
            : `The query has no result (status ${view.status}).`;
          return json(
            {
              error: {
                code: "CONFLICT",
                message,
                ...(view.error ? { rule: view.error.rule } : {}),
              },
            },
            409,
          );
        }
        return new Response(resultCsv(view.result), {
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="query-${view.id}.csv"`,
            "cache-control": "no-store",
          },
        });
      }
      if (!found) return null;
      const { operation, params } = found;
      let input: Record<string, unknown> = {};
      if (operation.inputFrom === "query") input = queryInput(url);
      if (operation.inputFrom === "body") {
        const text = await request.text();
        if (text.trim() !== "") {
          try {
            const parsed: unknown = JSON.parse(text);
            if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
              throw new Error("not an object");
            }
            input = parsed as Record<string, unknown>;
          } catch {
            return json(
              { error: { code: "BAD_REQUEST", message: "The body must be a JSON object." } },
              400,
            );
          }
        }
      }
      const output = await operation.call(
        caller,
        operation.input ? { ...input, ...params } : undefined,
      );
      return json(output);
    } catch (error) {
      const procedure = found?.operation.procedure ?? "query.result";
      logProcedureError(apiLogger(services), { procedure, error });
      return errorResponse(error);
    }
  };
}

const methodNotAllowed = {
  error: { code: "METHOD_NOT_SUPPORTED", message: "Method not allowed." },
};
