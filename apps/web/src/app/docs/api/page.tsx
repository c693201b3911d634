import { openApiDocument } from "@opencohort/api";
import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "HTTP API · OpenCohort" };

type Json = Record<string, unknown>;

/** A JSON Schema in one compact line per property: enough to write a script against. */
function SchemaView({ schema }: { schema: unknown }) {
  return <pre className="small schema">{JSON.stringify(schema, null, 2)}</pre>;
}

/**
 * The API reference, rendered on the server from the same document /api/openapi.json serves
 * (no client code, no assets from elsewhere).
 */
export default function ApiDocsPage() {
  const document = openApiDocument("/") as { paths: Record<string, Record<string, Json>> };
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  return (
    <main>
      <h1>HTTP API</h1>
      <p className="muted">
        For scripts and notebooks. Create a personal API token on{" "}
        <Link href="/account/tokens">API tokens</Link> and send it as{" "}
        <code>Authorization: Bearer oc_…</code>. The machine-readable document is{" "}
        <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1); a Python client lives in
        the repository under <code>clients/python</code>. Errors are{" "}
        <code>{"{ error: { code, message, rule?, field? } }"}</code>, with the same rule ids as the
        web app.
      </p>
      <ul data-testid="api-operations">
        {operations.map(({ path, method, operation }) => (
          <li key={`${method} ${path}`}>
            <a href={`#${String(operation.operationId)}`}>
              <code>
                {method.toUpperCase()} {path}
              </code>
            </a>
          </li>
        ))}
      </ul>
      {operations.map(({ path, method, operation }) => {
        const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
        const ok = ((operation.responses as Json)["200"] as Json).content as Json;
        return (
          <section key={`${method} ${path}`} id={String(operation.operationId)} className="card">
            <h2>
              <code>
                {method.toUpperCase()} {path}
              </code>
            </h2>
            <p>{String(operation.summary)}</p>
            <p className="muted small">{String(operation.description)}</p>
            {((operation.parameters as Json[] | undefined) ?? []).length > 0 && (
              <>
                <h3>Parameters</h3>
                <ul>
                  {(operation.parameters as Json[]).map((parameter) => (
                    <li key={`${parameter.in}-${parameter.name}`}>
                      <code>{String(parameter.name)}</code> ({String(parameter.in)}
                      {parameter.required ? ", required" : ""})
                    </li>
                  ))}
                </ul>
              </>
            )}
            {body && (
              <>
                <h3>Request body</h3>
                <SchemaView schema={(body["application/json"] as Json).schema} />
              </>
            )}
            <h3>Response</h3>
            <SchemaView schema={((ok["application/json"] ?? ok["text/csv"]) as Json).schema} />
          </section>
        );
      })}
    </main>
  );
}
