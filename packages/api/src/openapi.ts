/**
 * The OpenAPI 3.1 document of the HTTP API (rest.ts), generated from the same zod schemas the
 * procedures validate with (zod 4's z.toJSONSchema, draft 2020-12 = OpenAPI 3.1's dialect).
 */
import { apiErrorOutputSchema } from "@opencohort/validators";
import { z } from "zod";
import { CSV_RESULT_PATH, type RestOperation, restOperations } from "./rest";

type JsonSchema = Record<string, unknown>;

/** Refinements and transforms have no JSON Schema: they are checked by the API, not described. */
function toSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

const pathParams = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);

function errorResponses() {
  const content = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
  return {
    "400": { description: "Bad input (error.field names it).", content },
    "401": { description: "No, unknown, revoked or expired token.", content },
    "403": {
      description: "Refused by a rule (error.rule): token scope, access pass, role.",
      content,
    },
    "404": { description: "No such dataset or query.", content },
    "429": { description: "Rate limited (rule rate-limit); see Retry-After.", content },
  };
}

function operationObject(operation: RestOperation) {
  const names = pathParams(operation.path);
  const input = operation.input ? toSchema(operation.input, "input") : undefined;
  const properties = (input?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((input?.required as string[] | undefined) ?? []);
  const parameters: unknown[] = names.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: properties[name] ?? { type: "string" },
  }));
  if (operation.inputFrom === "query") {
    for (const [name, schema] of Object.entries(properties)) {
      parameters.push({
        name,
        in: "query",
        required: required.has(name),
        description: "A JSON value (numbers and arrays as JSON, text as is).",
        schema,
      });
    }
  }
  let requestBody: unknown;
  if (operation.inputFrom === "body" && input) {
    const bodyProperties = Object.fromEntries(
      Object.entries(properties).filter(([name]) => !names.includes(name)),
    );
    requestBody = {
      required: true,
      content: {
        "application/json": {
          schema: {
            ...input,
            properties: bodyProperties,
            required: [...required].filter((name) => !names.includes(name)),
          },
        },
      },
    };
  }
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: `Calls the \`${operation.procedure}\` procedure.`,
    ...(operation.auth ? {} : { security: [{}, { bearerToken: [] }] }),
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses: {
      "200": {
        description: "OK",
        content: { "application/json": { schema: toSchema(operation.output, "output") } },
      },
      ...errorResponses(),
    },
    "x-procedure": operation.procedure,
  };
}

/** The document; `serverUrl` is where it is served from (the web app's origin). */
export function openApiDocument(serverUrl = "/"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of restOperations) {
    paths[operation.path] ??= {};
    (paths[operation.path] as Record<string, unknown>)[operation.method] =
      operationObject(operation);
  }
  paths[CSV_RESULT_PATH] = {
    get: {
      operationId: "getQueryResultCsv",
      summary: "The released rows of a succeeded query as CSV (header: column names).",
      description:
        "Calls the `query.result` procedure. 409 (error.rule) when the query was refused.",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: {
        "200": { description: "CSV", content: { "text/csv": { schema: { type: "string" } } } },
        "409": {
          description: "The query has no result (refused: error.rule).",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
        ...errorResponses(),
      },
      "x-procedure": "query.result",
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "OpenCohort API",
      version: "1",
      description:
        "Aggregate-only research queries on consented health datasets. Authenticate with a personal API token (create one at /account/tokens): `Authorization: Bearer oc_…`. Only disclosure-controlled aggregates are ever returned.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerToken: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerToken: {
          type: "http",
          scheme: "bearer",
          description: "A personal API token (oc_…), scoped and revocable.",
        },
      },
      schemas: { Error: toSchema(apiErrorOutputSchema, "output") },
    },
  };
}
