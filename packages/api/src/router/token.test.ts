/**
 * Issue #13: personal API tokens, the documented HTTP API and the Python client, over a real
 * stack (anvil, SQLite, compute) served on 127.0.0.1 by node:http — the same handlers the web
 * app mounts.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiRequestHandler } from "../http";
import { openApiDocument } from "../openapi";
import { createRestHandler, restOperations } from "../rest";
import { hashApiToken } from "../services/api-token";
import {
  buyAccess,
  type SeededDataset,
  seedDataset,
  startTestSystem,
  type TestSystem,
  testDatabases,
} from "../testing/harness";

const BY_SEX = "SELECT sex, count(*) AS n FROM person GROUP BY sex";
const ROW_LEVEL = "SELECT person_id, year_of_birth FROM person";
const OTHER_DATASET = `0x${"cd".repeat(32)}`;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../../..");

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the assertions below
type Json = any;

let system: TestSystem;
let dataset: SeededDataset;
let server: Server;
let origin: string;
let researcher: Awaited<ReturnType<TestSystem["signIn"]>>;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(testDatabases())(
  "issue 13: tokens, HTTP API, Python client on $database",
  ({ database, skip }) => {
    beforeAll(async () => {
      if (skip) return;
      system = await startTestSystem({ database });
      dataset = await seedDataset(system, { persons: 400, seed: 13 });
      await buyAccess(system, 4, dataset);
      researcher = await system.signIn(4);
      const trpc = createApiRequestHandler(system.services, { endpoint: "/api/trpc" });
      const rest = createRestHandler(system.services, { document: () => openApiDocument(origin) });
      server = createServer((req, res) => {
        (async () => {
          const body = await readBody(req);
          const headers = new Headers();
          for (const [name, value] of Object.entries(req.headers)) {
            for (const item of Array.isArray(value) ? value : value ? [value] : [])
              headers.append(name, item);
          }
          const request = new Request(new URL(req.url ?? "/", origin), {
            method: req.method ?? "GET",
            headers,
            ...(body.length > 0 ? { body } : {}),
          });
          const response = (await rest(request)) ?? (await trpc(request));
          res.writeHead(response.status, Object.fromEntries(response.headers));
          res.end(Buffer.from(await response.arrayBuffer()));
        })().catch(() => {
          res.writeHead(500);
          res.end();
        });
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }, 300_000);

    afterAll(async () => {
      server?.close();
      await system?.stop();
    });

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const getJson = async (path: string, token?: string) => {
      const response = await fetch(`${origin}${path}`, { headers: token ? bearer(token) : {} });
      return { status: response.status, body: (await response.json()) as Json };
    };
    const postJson = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? bearer(token) : {}) },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Json };
    };
    /** A tRPC mutation over HTTP (superjson wire format) with a bearer token. */
    const trpcMutation = async (path: string, input: unknown, token: string) => {
      const response = await fetch(`${origin}/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(token) },
        body: JSON.stringify({ json: input }),
      });
      return { status: response.status, body: (await response.json()) as Json };
    };

    describe("personal API tokens", () => {
      it.skipIf(skip)(
        "shows the secret once, stores only its hash, lists and revokes",
        async () => {
          const created = await researcher.caller.token.create({
            name: "notebook",
            expiresInDays: 30,
            scopes: { catalogue: true, query: "all" },
          });
          expect(created.secret).toMatch(/^oc_[A-Za-z0-9_-]{43}$/);
          expect(created.id).toBe(hashApiToken(created.secret));
          const rows = await system.db.apiToken.findMany({
            select: { id: true, prefix: true, scopes: true, name: true },
          });
          expect(JSON.stringify(rows)).not.toContain(created.secret);
          expect(created.secret.startsWith(created.prefix)).toBe(true);

          const listed = await researcher.caller.token.list();
          expect(listed.find((token) => token.id === created.id)).toMatchObject({
            name: "notebook",
            state: "active",
            lastUsedAt: null,
          });
          expect(JSON.stringify(listed)).not.toContain(created.secret);

          // Somebody else cannot see or revoke it.
          const other = await system.signIn(5);
          expect(await other.caller.token.list()).toEqual([]);
          await expect(other.caller.token.revoke({ id: created.id })).rejects.toMatchObject({
            code: "NOT_FOUND",
          });

          // Used over HTTP: acts as the owner and stamps lastUsedAt.
          // The REST API ignores the session cookie: only tokens authenticate there.
          const cookieOnly = await fetch(`${origin}/api/v1/me`, {
            headers: { cookie: `oc_session=${researcher.token}` },
          });
          expect(await cookieOnly.json()).toBeNull();
          const me = await getJson("/api/v1/me", created.secret);
          expect(me).toMatchObject({ status: 200, body: { address: researcher.address } });
          const [used] = await system.db.apiToken.findMany({
            where: { id: created.id },
            select: { lastUsedAt: true },
          });
          expect(used?.lastUsedAt).toBeInstanceOf(Date);
          // A second use within the minute writes nothing (one write per call serialised
          // token calls on SQLite); the stamp stays the first use's.
          expect((await getJson("/api/v1/me", created.secret)).status).toBe(200);
          const [again] = await system.db.apiToken.findMany({
            where: { id: created.id },
            select: { lastUsedAt: true },
          });
          expect(again?.lastUsedAt).toEqual(used?.lastUsedAt);

          await researcher.caller.token.revoke({ id: created.id });
          const revoked = await getJson("/api/v1/me", created.secret);
          expect(revoked.status).toBe(401);
          expect(revoked.body.error).toMatchObject({
            rule: "token-invalid",
            message: "This API token was revoked.",
          });
          // The tRPC endpoint refuses it the same way (never downgraded to anonymous).
          expect((await trpcMutation("dataset.feasibility", {}, created.secret)).status).toBe(401);
          expect((await researcher.caller.token.list())[0]?.state).toBe("revoked");
        },
      );

      it.skipIf(skip)(
        "refuses expired and unknown tokens with 401 and a clear message",
        async () => {
          const created = await researcher.caller.token.create({
            name: "short",
            expiresInDays: 1,
            scopes: { catalogue: true, query: "none" },
          });
          await system.db.apiToken.update({
            where: { id: created.id },
            data: { expiresAt: new Date(Date.now() - 1_000) },
            select: { id: true },
          });
          expect((await getJson("/api/v1/datasets", created.secret)).body.error.message).toBe(
            "This API token has expired.",
          );
          const unknown = await getJson("/api/v1/datasets", `oc_${"A".repeat(43)}`);
          expect(unknown).toMatchObject({
            status: 401,
            body: { error: { message: "Unknown API token." } },
          });
        },
      );

      it.skipIf(skip)("bad input gets a clear error and creates nothing", async () => {
        const before = await system.db.apiToken.count();
        await expect(
          researcher.caller.token.create({
            name: " ",
            expiresInDays: 30,
            scopes: { catalogue: true, query: "all" },
          }),
        ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^name: /) });
        await expect(
          researcher.caller.token.create({
            name: "x",
            expiresInDays: 9999,
            scopes: { catalogue: true, query: "all" },
          }),
        ).rejects.toMatchObject({
          code: "BAD_REQUEST",
          message: expect.stringMatching(/^expiresInDays: /),
        });
        await expect(
          researcher.caller.token.create({
            name: "x",
            expiresInDays: 3,
            scopes: { catalogue: false, query: "none" },
          }),
        ).rejects.toMatchObject({
          code: "BAD_REQUEST",
          message: expect.stringMatching(/^scopes: /),
        });
        expect(await system.db.apiToken.count()).toBe(before);
        await expect(
          system.anonymous().token.create({
            name: "x",
            expiresInDays: 3,
            scopes: { catalogue: true, query: "all" },
          }),
        ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      });

      it.skipIf(skip)(
        "checks scopes: catalogue-only cannot query, dataset-scoped only its datasets, no token admin",
        async () => {
          const catalogueOnly = await researcher.caller.token.create({
            name: "catalogue",
            expiresInDays: 5,
            scopes: { catalogue: true, query: "none" },
          });
          expect((await getJson("/api/v1/datasets", catalogueOnly.secret)).status).toBe(200);
          const submit = await postJson(
            "/api/v1/queries",
            { datasetId: dataset.datasetId, sql: BY_SEX },
            catalogueOnly.secret,
          );
          expect(submit).toMatchObject({ status: 403, body: { error: { rule: "token-scope" } } });
          const viaTrpc = await trpcMutation(
            "query.submit",
            { datasetId: dataset.datasetId, sql: BY_SEX },
            catalogueOnly.secret,
          );
          expect(viaTrpc.status).toBe(403);
          expect(viaTrpc.body.error.json.data.rule).toBe("token-scope");

          const elsewhere = await researcher.caller.token.create({
            name: "other dataset",
            expiresInDays: 5,
            scopes: { catalogue: false, query: [OTHER_DATASET] },
          });
          const refused = await postJson(
            "/api/v1/queries",
            { datasetId: dataset.datasetId, sql: BY_SEX },
            elsewhere.secret,
          );
          expect(refused).toMatchObject({ status: 403, body: { error: { rule: "token-scope" } } });
          expect((await getJson("/api/v1/datasets", elsewhere.secret)).status).toBe(403);
          // A token cannot mint tokens, whatever its scopes.
          const mint = await trpcMutation(
            "token.create",
            { name: "x", expiresInDays: 1, scopes: { catalogue: true, query: "all" } },
            elsewhere.secret,
          );
          expect(mint.status).toBe(403);
          expect(
            await system.db.query.count({ where: { researcherAddress: researcher.address } }),
          ).toBe(0);

          // Scoped to this dataset: it runs, and its results are readable with the same token.
          const scoped = await researcher.caller.token.create({
            name: "this dataset",
            expiresInDays: 5,
            scopes: { catalogue: false, query: [dataset.datasetId] },
          });
          const ran = await postJson(
            "/api/v1/queries",
            { datasetId: dataset.datasetId, sql: BY_SEX, wait: true },
            scoped.secret,
          );
          expect(ran).toMatchObject({ status: 200, body: { status: "SUCCEEDED" } });
          expect((await getJson(`/api/v1/queries/${ran.body.id}`, scoped.secret)).status).toBe(200);
          expect((await getJson(`/api/v1/queries/${ran.body.id}`, elsewhere.secret)).status).toBe(
            403,
          );
        },
      );
      it.skipIf(skip)("token calls share the owner's rate limits (per researcher)", async () => {
        const owner = await system.signIn(5);
        const { secret } = await owner.caller.token.create({
          name: "limits",
          expiresInDays: 5,
          scopes: { catalogue: true, query: "all" },
        });
        const cohort = { output: { groupBy: ["sex" as const] } };
        // 20 per minute per researcher: spend them through the web app's (cookie) session...
        for (let i = 0; i < 20; i++) {
          await owner.caller.dataset.feasibility({ datasetId: dataset.datasetId, cohort });
        }
        // ...and the token, acting as the same researcher, is refused.
        const response = await fetch(`${origin}/api/v1/datasets/${dataset.datasetId}/feasibility`, {
          method: "POST",
          headers: { "content-type": "application/json", ...bearer(secret) },
          body: JSON.stringify({ cohort }),
        });
        expect(response.status).toBe(429);
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(((await response.json()) as Json).error.rule).toBe("rate-limit");
      });
    });

    describe("the documented HTTP API", () => {
      it.skipIf(skip)(
        "serves a valid OpenAPI 3.1 document with every operation's input and output",
        async () => {
          const { status, body: document } = await getJson("/api/openapi.json");
          expect(status).toBe(200);
          const validator = new Validator();
          const verdict = await validator.validate(document);
          expect(verdict.errors ?? []).toEqual([]);
          expect(verdict.valid).toBe(true);
          expect(validator.version).toBe("3.1");
          for (const operation of restOperations) {
            const entry = document.paths[operation.path]?.[operation.method];
            expect(entry, operation.operationId).toMatchObject({
              operationId: operation.operationId,
              "x-procedure": operation.procedure,
            });
            expect(entry.responses["200"].content["application/json"].schema).toBeTypeOf("object");
            if (operation.input) {
              const described = [...(entry.parameters ?? [])].length + (entry.requestBody ? 1 : 0);
              expect(described, `${operation.operationId} input`).toBeGreaterThan(0);
            }
          }
          const procedures = restOperations.map((operation) => operation.procedure);
          for (const needed of [
            "dataset.list",
            "dataset.byId",
            "dataset.feasibility",
            "query.submit",
            "query.status",
            "query.result",
            "query.receipt",
            "query.history",
            "query.budget",
          ]) {
            expect(procedures).toContain(needed);
          }
          expect(document.paths["/api/v1/queries/{id}/result.csv"].get).toBeDefined();
        },
      );

      it.skipIf(skip)(
        "answers match the documented output schemas; refusals carry the web app's rule ids",
        async () => {
          const { secret } = await researcher.caller.token.create({
            name: "docs",
            expiresInDays: 5,
            scopes: { catalogue: true, query: "all" },
          });
          const check = (operationId: string, body: unknown) => {
            const operation = restOperations.find(
              (candidate) => candidate.operationId === operationId,
            );
            const parsed = operation?.output.safeParse(body);
            expect(parsed?.error, operationId).toBeUndefined();
          };
          check("listDatasets", (await getJson("/api/v1/datasets?limit=5", secret)).body);
          check(
            "getDataset",
            (await getJson(`/api/v1/datasets/${dataset.datasetId}`, secret)).body,
          );
          const concepts = await getJson(
            `/api/v1/datasets/${dataset.datasetId}/concepts?search=diabetes&limit=3`,
            secret,
          );
          check("searchConcepts", concepts.body);
          expect(concepts.body.concepts.length).toBeGreaterThan(0);
          check(
            "getBudget",
            (await getJson(`/api/v1/datasets/${dataset.datasetId}/budget`, secret)).body,
          );
          const feasibility = await postJson(
            `/api/v1/datasets/${dataset.datasetId}/feasibility`,
            {
              cohort: {
                inclusion: [{ domain: "condition", codes: ["E11*"] }],
                output: { groupBy: ["sex"] },
              },
            },
            secret,
          );
          expect(feasibility.status).toBe(200);
          check("feasibility", feasibility.body);
          const ran = await postJson(
            "/api/v1/queries",
            { datasetId: dataset.datasetId, sql: BY_SEX, wait: true },
            secret,
          );
          check("submitQuery", ran.body);
          check("getQueryStatus", (await getJson(`/api/v1/queries/${ran.body.id}`, secret)).body);
          check(
            "getQueryResult",
            (await getJson(`/api/v1/queries/${ran.body.id}/result`, secret)).body,
          );
          check(
            "getQueryReceipt",
            (await getJson(`/api/v1/queries/${ran.body.id}/receipt`, secret)).body,
          );
          check("listQueries", (await getJson("/api/v1/queries?limit=5", secret)).body);

          const csv = await fetch(`${origin}/api/v1/queries/${ran.body.id}/result.csv`, {
            headers: bearer(secret),
          });
          expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
          const lines = (await csv.text()).trim().split("\r\n");
          expect(lines[0]).toBe(
            ran.body.result.columns.map((column: { name: string }) => column.name).join(","),
          );
          expect(lines).toHaveLength(ran.body.result.rows.length + 1);

          const rejected = await postJson(
            "/api/v1/queries",
            { datasetId: dataset.datasetId, sql: ROW_LEVEL, wait: true },
            secret,
          );
          expect(rejected.body).toMatchObject({ status: "REJECTED", result: null });
          expect(rejected.body.error.rule).toMatch(/^[a-z-]+$/);
          const refusedCsv = await getJson(
            `/api/v1/queries/${rejected.body.id}/result.csv`,
            secret,
          );
          expect(refusedCsv).toMatchObject({
            status: 409,
            body: { error: { rule: rejected.body.error.rule } },
          });

          const bad = await postJson("/api/v1/queries", { datasetId: "0x12", sql: BY_SEX }, secret);
          expect(bad).toMatchObject({
            status: 400,
            body: { error: { code: "BAD_REQUEST", field: "datasetId" } },
          });
          const notJson = await fetch(`${origin}/api/v1/queries`, {
            method: "POST",
            headers: bearer(secret),
            body: "{",
          });
          expect(notJson.status).toBe(400);
        },
      );
    });

    describe("the Python client", () => {
      // python3 is on every machine (tooling/bootstrap.mjs installs it for `npm test` otherwise).
      it.skipIf(skip)(
        "lists datasets, queries, gets a refusal's rule and a 401 for a revoked token",
        async () => {
          const live = await researcher.caller.token.create({
            name: "python",
            expiresInDays: 5,
            scopes: { catalogue: true, query: [dataset.datasetId] },
          });
          const gone = await researcher.caller.token.create({
            name: "python revoked",
            expiresInDays: 5,
            scopes: { catalogue: true, query: "all" },
          });
          await researcher.caller.token.revoke({ id: gone.id });
          // Asynchronously: the API is served by this very process.
          const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
            (resolve) => {
              execFile(
                "python3",
                [
                  join(repoRoot, "clients/python/tests/smoke.py"),
                  origin,
                  live.secret,
                  dataset.datasetId,
                  gone.secret,
                ],
                { encoding: "utf8", timeout: 120_000 },
                (error, stdout, stderr) =>
                  resolve({ status: error ? ((error.code as number) ?? -1) : 0, stdout, stderr }),
              );
            },
          );
          expect(run.stderr).toBe("");
          expect(run.status).toBe(0);
          const seen = JSON.parse(run.stdout) as Json;
          expect(seen.datasets).toContain(dataset.datasetId);
          expect(seen.tables).toContain("person");
          expect(seen.concepts.length).toBeGreaterThan(0);
          for (const concept of seen.concepts as Json[]) {
            expect(concept.name.toLowerCase()).toContain("diabetes");
          }
          // A bare column keeps its name; the alias is kept.
          expect(seen.columns).toEqual(["sex", "n"]);
          expect(seen.rows.length).toBeGreaterThan(0);
          // Each released count with its 95% interval, the label without one.
          expect(seen.uncertainty).toHaveLength(seen.rows.length);
          for (const [i, row] of (seen.rows as unknown[][]).entries()) {
            const [label, interval] = seen.uncertainty[i] as [unknown, Json];
            expect(label).toBeNull();
            expect(interval.lo).toBeLessThanOrEqual(Number(row[1]));
            expect(interval.hi).toBeGreaterThanOrEqual(Number(row[1]));
            expect(interval.sd).toBeGreaterThan(0);
          }
          expect(seen.notice).toMatch(/how many were withheld is not released/);
          // The zCDP cost beside ε: charged the first time, free and the same answer the second.
          const [first, again] = seen.cost as Json[];
          expect(first).toMatchObject({ repeated: false });
          expect(["gaussian", "laplace"]).toContain(first.mechanism);
          expect(first.epsilon).toBeGreaterThan(0);
          expect(first.rho).toBeGreaterThan(0);
          expect(again).toMatchObject({ repeated: true, epsilon: 0, rho: 0, rows: first.rows });
          expect(seen.receiptHash).toMatch(/^0x[0-9a-f]{64}$/);
          expect(seen.csv.split("\r\n")[0]).toBe(seen.columns.join(","));
          expect(seen.refusal.rule).toMatch(/^[a-z-]+$/);
          expect(seen.revoked).toMatchObject({
            status: 401,
            rule: "token-invalid",
            message: "This API token was revoked.",
          });
        },
      );
    });
  },
);
