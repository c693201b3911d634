/**
 * HTTP benchmark (figures, not assertions): the real test system (anvil + contracts, SQLite,
 * indexer, compute) served over node:http on 127.0.0.1 with the same fetch handler the web
 * app uses. Researchers sign in through SIWE over HTTP and keep the session cookie, then
 * create a personal API token through the API (`token.create`, scopes: catalogue and queries
 * on the bench dataset). Two bounded loads with 32 concurrent clients, `dataset.list` and
 * `query.submit`. Every batch mixes the two paths request by request (client c's n-th request
 * goes by cookie when c + n is even, by token otherwise), so at any moment half the requests in
 * flight are of each path: machine noise, the JIT's warm-up and the data growing under
 * query.submit hit both alike. An earlier design ran whole batches per path (cookie, token,
 * token, cookie) and measured mostly the drift between batches (p50 of query.submit rose from
 * 2.3 s to 4.4 s over four batches of the same path mix). The table sets the two paths side
 * by side (p50/p99 over all their requests) with the token/cookie ratio.
 *
 *   pnpm --filter @opencohort/api bench
 *
 * The privacy budget allows 50 queries per (researcher, dataset) (5 ε at 0.1 ε each), so
 * query.submit is spread over researchers #1-#8, each client keeps to one researcher, and
 * each client submits only SUBMIT_PER_CLIENT queries per batch (all batches together stay
 * within the budget; checked before the loads, for both credentials). The per-researcher and per-IP rate limits are
 * raised for this local-only bench: they would otherwise refuse most of a batch.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { type DevAccountIndex, devAccountKey, LOCAL_CHAIN_ID } from "@opencohort/chain";
import superjson from "superjson";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { authenticate, createApiRequestHandler, readCookie, SESSION_COOKIE } from "../src/http";
import type { RateLimitConfig } from "../src/services/rate-limit";
import { tokenAllows } from "../src/services/token-scope";
import {
  accredit,
  buyAccess,
  seedDataset,
  startTestSystem,
  type TestSystem,
} from "../src/testing/harness";

const PERSONS = 2_000;
const CONCURRENCY = 32;
const RESEARCHERS: readonly DevAccountIndex[] = [1, 2, 3, 4, 5, 6, 7, 8];
/** Accredited by the local deploy (INITIAL_RESEARCHERS). */
const DEPLOY_ACCREDITED: ReadonlySet<DevAccountIndex> = new Set([4, 5]);
/** Per batch; each path gets two batches. */
const LIST_REQUESTS = 4_000;
const LIST_SECONDS = 40;
const WARM_UP_LIST_REQUESTS = 1_000;
/** Even, so every client sends as many of each path. */
const SUBMIT_PER_CLIENT = 4;
const SUBMIT_SECONDS = 240;
const BATCHES = 2;
const AUTH_PATHS = ["cookie", "token"] as const;
type AuthPath = (typeof AUTH_PATHS)[number];
/** Client c's n-th request: alternating, and half the clients start with each path. */
const pathOf = (client: number, n: number): AuthPath => AUTH_PATHS[(client + n) % 2] ?? "cookie";
/** Local-only bench: limits high enough never to refuse a bench request. */
const BENCH_RATE_LIMITS: Partial<RateLimitConfig> = {
  feasibilityResearcher: { limit: 1_000_000, windowSeconds: 60 },
  feasibilityIp: { limit: 1_000_000, windowSeconds: 60 },
  submitResearcher: { limit: 1_000_000, windowSeconds: 60 },
  submitIp: { limit: 1_000_000, windowSeconds: 60 },
};
const BY_SEX = "SELECT sex, count(*) AS n FROM person GROUP BY sex";
/** Sequential resolutions per path in the auth-step measurement. */
const AUTH_STEP_ROUNDS = 4_000;

// ─── node:http ⇄ fetch ───

function toRequest(req: IncomingMessage, origin: string, body: Buffer | undefined): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method ?? "GET",
    headers,
    ...(body && body.length > 0 ? { body } : {}),
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(body);
}

async function serve(system: TestSystem) {
  const handle = createApiRequestHandler({
    ...system.services,
    config: { ...system.services.config, rateLimits: BENCH_RATE_LIMITS },
  });
  let origin = "";
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handle(toRequest(req, origin, body)))
      .then((response) => writeResponse(res, response))
      .catch((error: unknown) => {
        console.error("server:", error);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

// ─── A minimal tRPC-over-HTTP client (superjson, no batching) ───

class TrpcHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** How a request says who it is: the session cookie or a personal API token. */
type Credential = { cookie: string } | { bearer: string };

function authHeaders(credential: Credential | undefined): Record<string, string> {
  if (!credential) return {};
  return "cookie" in credential
    ? { cookie: credential.cookie }
    : { authorization: `Bearer ${credential.bearer}` };
}

interface TrpcResponse<T> {
  data: T;
  setCookies: string[];
}

async function call<T>(
  origin: string,
  type: "query" | "mutation",
  path: string,
  input: unknown,
  credential?: Credential,
): Promise<TrpcResponse<T>> {
  const headers = authHeaders(credential);
  let response: Response;
  if (type === "query") {
    const query =
      input === undefined
        ? ""
        : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
    response = await fetch(`${origin}/trpc/${path}${query}`, { headers });
  } else {
    response = await fetch(`${origin}/trpc/${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: input === undefined ? undefined : JSON.stringify(superjson.serialize(input)),
    });
  }
  const text = await response.text();
  let body: {
    result?: { data: Parameters<typeof superjson.deserialize>[0] };
    error?: Parameters<typeof superjson.deserialize>[0];
  };
  try {
    body = JSON.parse(text);
  } catch {
    throw new TrpcHttpError(response.status, "NOT_JSON", text.slice(0, 200));
  }
  if (body.error || !response.ok || !body.result) {
    const error = body.error
      ? superjson.deserialize<{ message?: string; data?: { code?: string } }>(body.error)
      : undefined;
    throw new TrpcHttpError(
      response.status,
      error?.data?.code ?? "UNKNOWN",
      error?.message ?? text.slice(0, 200),
    );
  }
  return {
    data: superjson.deserialize<T>(body.result.data),
    setCookies: response.headers.getSetCookie(),
  };
}

/** SIWE over HTTP: auth.nonce, sign, auth.verify; returns the `Cookie` header to send. */
async function signInOverHttp(origin: string, index: DevAccountIndex): Promise<string> {
  const account = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index));
  const { data: request } = await call<{
    nonce: string;
    domain: string;
    uri: string;
    chainId: number;
    version: "1";
    statement: string;
  }>(origin, "mutation", "auth.nonce", undefined);
  const message = createSiweMessage({
    address: account.address,
    chainId: request.chainId,
    domain: request.domain,
    uri: request.uri,
    nonce: request.nonce,
    version: request.version,
    statement: request.statement,
  });
  const signature = await account.signMessage({ message });
  const { setCookies } = await call(origin, "mutation", "auth.verify", { message, signature });
  const setCookie = setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  const token = readCookie(setCookie?.split(";")[0] ?? null, SESSION_COOKIE);
  if (!setCookie || !token) throw new Error(`researcher #${index}: no session cookie set`);
  if (!/HttpOnly/.test(setCookie) || !/SameSite=Lax/.test(setCookie) || /Secure/.test(setCookie)) {
    throw new Error(`researcher #${index}: unexpected cookie attributes: ${setCookie}`);
  }
  const cookie = `${SESSION_COOKIE}=${token}`;
  const { data: session } = await call<{ address: string } | null>(
    origin,
    "query",
    "auth.session",
    undefined,
    { cookie },
  );
  if (session?.address !== account.address.toLowerCase()) {
    throw new Error(`researcher #${index}: the cookie does not resolve to the session`);
  }
  return cookie;
}

/**
 * token.create over HTTP with the session cookie (catalogue + queries on one dataset); checks
 * the secret resolves to the same researcher and returns it.
 */
async function createTokenOverHttp(
  origin: string,
  index: DevAccountIndex,
  cookie: string,
  datasetId: string,
): Promise<string> {
  const { data: created } = await call<{ secret: string }>(
    origin,
    "mutation",
    "token.create",
    { name: "bench", expiresInDays: 1, scopes: { catalogue: true, query: [datasetId] } },
    { cookie },
  );
  const { data: session } = await call<{ address: string } | null>(
    origin,
    "query",
    "auth.session",
    undefined,
    { bearer: created.secret },
  );
  const address = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, index)).address;
  if (session?.address !== address.toLowerCase()) {
    throw new Error(`researcher #${index}: the token does not resolve to the researcher`);
  }
  return created.secret;
}

// ─── Bounded load ───

interface LoadResult {
  endpoint: string;
  requests: Record<AuthPath, number>;
  errors: Record<AuthPath, number>;
  seconds: number;
  latencies: Record<AuthPath, number[]>;
  errorSamples: string[];
}

/**
 * `clients` workers; each runs `perform(client, path)` with the path `pathOf(client, n)` until
 * `maxRequests` are taken in all, its own `maxPerClient` is reached, or `maxSeconds` have
 * passed. A rejection counts as an error of its path.
 */
async function load(options: {
  endpoint: string;
  clients: number;
  maxRequests: number;
  maxPerClient: number;
  maxSeconds: number;
  perform: (client: number, path: AuthPath) => Promise<void>;
}): Promise<LoadResult> {
  const result: LoadResult = {
    endpoint: options.endpoint,
    requests: { cookie: 0, token: 0 },
    errors: { cookie: 0, token: 0 },
    seconds: 0,
    latencies: { cookie: [], token: [] },
    errorSamples: [],
  };
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1_000;
  let taken = 0;
  const worker = async (client: number) => {
    for (let n = 0; n < options.maxPerClient; n++) {
      if (taken >= options.maxRequests || performance.now() >= deadline) return;
      taken++;
      const path = pathOf(client, n);
      const t0 = performance.now();
      try {
        await options.perform(client, path);
      } catch (error) {
        result.errors[path]++;
        if (result.errorSamples.length < 5) result.errorSamples.push(`${path}: ${String(error)}`);
      }
      result.latencies[path].push(performance.now() - t0);
      result.requests[path]++;
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, client) => worker(client)));
  result.seconds = (performance.now() - started) / 1_000;
  return result;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i <= 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map((row) => line(row)),
  ];
}

interface Figures {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * One path's figures over the given batches: p50/p99 over all its requests (both paths ran
 * side by side in every batch, so pooling favours neither); req/s is its requests over the
 * batches' wall time, i.e. its share of the throughput.
 */
function figuresOf(batches: LoadResult[], path: AuthPath): Figures {
  const sorted = batches.flatMap((b) => b.latencies[path]).sort((x, y) => x - y);
  const requests = batches.reduce((sum, b) => sum + b.requests[path], 0);
  const seconds = batches.reduce((sum, b) => sum + b.seconds, 0);
  return {
    requests,
    errors: batches.reduce((sum, b) => sum + b.errors[path], 0),
    perSecond: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** Every batch in the order it ran, a row per path. */
function printBatches(results: LoadResult[]) {
  const rows = results.flatMap((r, i) =>
    AUTH_PATHS.map((path) => {
      const f = figuresOf([r], path);
      return [
        r.endpoint,
        `${i % BATCHES}: ${path}`,
        String(f.requests),
        String(f.errors),
        f.perSecond.toFixed(1),
        f.p50.toFixed(1),
        f.p99.toFixed(1),
        r.seconds.toFixed(1),
      ];
    }),
  );
  const header = ["endpoint", "batch", "requests", "errors", "req/s", "p50 ms", "p99 ms", "wall s"];
  for (const line of formatTable(header, rows)) console.log(line);
}

/** Cookie and token side by side per endpoint, and token / cookie (above 1: token costs more). */
function printComparison(results: LoadResult[]) {
  const rows: string[][] = [];
  for (const endpoint of [...new Set(results.map((r) => r.endpoint))]) {
    const batches = results.filter((r) => r.endpoint === endpoint);
    const cookie = figuresOf(batches, "cookie");
    const token = figuresOf(batches, "token");
    for (const [path, f] of [
      ["cookie", cookie],
      ["token", token],
    ] as const) {
      rows.push([
        endpoint,
        path,
        String(f.requests),
        String(f.errors),
        f.p50.toFixed(1),
        f.p99.toFixed(1),
        f.perSecond.toFixed(1),
      ]);
    }
    rows.push([
      endpoint,
      "token/cookie",
      "",
      "",
      `${(token.p50 / cookie.p50).toFixed(2)}x`,
      `${(token.p99 / cookie.p99).toFixed(2)}x`,
      `${(token.perSecond / cookie.perSecond).toFixed(2)}x`,
    ]);
  }
  const header = ["endpoint", "path", "requests", "errors", "p50 ms", "p99 ms", "req/s"];
  for (const line of formatTable(header, rows)) console.log(line);
}

// ─── The auth step alone ───

/**
 * Under 32 clients a request's latency is mostly its wait in the event loop's queue, which
 * both paths share, so the loads above would dilute a per-request difference. This measures
 * what each path adds by itself, one request at a time, alternating: the cookie path is
 * authenticate() on a Cookie header; the token path is authenticate() on a Bearer header plus
 * the scope check trpc.ts runs before query.submit (the dearer of the two procedures).
 */
async function measureAuthStep(
  services: TestSystem["services"],
  cookie: Credential,
  bearer: Credential,
  datasetId: string,
): Promise<string[]> {
  const request = (credential: Credential) =>
    new Request("http://127.0.0.1/trpc/query.submit", { headers: authHeaders(credential) });
  const timings: Record<AuthPath, number[]> = { cookie: [], token: [] };
  const once = async (path: AuthPath) => {
    const t0 = performance.now();
    const auth = await authenticate(services, request(path === "cookie" ? cookie : bearer));
    if (!auth.ok || !auth.session) throw new Error(`${path}: the auth step did not resolve`);
    const scopes = auth.session.token?.scopes;
    if (scopes) {
      const verdict = await tokenAllows(services.db, scopes, "query.submit", { datasetId });
      if (!verdict.ok) throw new Error(`token: ${verdict.message}`);
    }
    timings[path].push((performance.now() - t0) * 1_000);
  };
  for (let round = 0; round < AUTH_STEP_ROUNDS; round++) {
    for (const path of round % 2 === 0 ? AUTH_PATHS : ([...AUTH_PATHS].reverse() as AuthPath[])) {
      await once(path);
    }
  }
  const figures = (path: AuthPath) => {
    const sorted = [...timings[path]].sort((x, y) => x - y);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const cookieFigures = figures("cookie");
  const tokenFigures = figures("token");
  return formatTable(
    ["step", "path", "calls", "p50 µs", "p99 µs"],
    [
      [
        "auth",
        "cookie",
        String(AUTH_STEP_ROUNDS),
        cookieFigures.p50.toFixed(0),
        cookieFigures.p99.toFixed(0),
      ],
      [
        "auth + scope",
        "token",
        String(AUTH_STEP_ROUNDS),
        tokenFigures.p50.toFixed(0),
        tokenFigures.p99.toFixed(0),
      ],
      [
        "",
        "token/cookie",
        "",
        `${(tokenFigures.p50 / cookieFigures.p50).toFixed(2)}x`,
        `${(tokenFigures.p99 / cookieFigures.p99).toFixed(2)}x`,
      ],
    ],
  );
}

// ─── Main ───

async function main() {
  const t0 = performance.now();
  // The machine's load (other processes too) makes the figures comparable or not.
  const step = (what: string) =>
    console.log(
      `[${((performance.now() - t0) / 1_000).toFixed(1)}s, load ${loadavg()[0]?.toFixed(1)}/${cpus().length} cpus] ${what}`,
    );

  step("starting anvil, deploying contracts, migrating SQLite");
  const system = await startTestSystem();
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    step(`seeding a dataset of ${PERSONS} persons with relayed consents`);
    const dataset = await seedDataset(system, { persons: PERSONS, seed: 2026, title: "Bench" });
    step(`seeded: ${dataset.consentedPersonIds.length} consented persons`);

    server = await serve(system);
    const { origin } = server;
    step(`serving on ${origin}/trpc`);

    // Only accredited researchers buy and query: the deploy accredits #4 and #5, governance the
    // others (one credential each, so each keeps its own budget).
    for (const index of RESEARCHERS) {
      if (!DEPLOY_ACCREDITED.has(index)) await accredit(system, index);
    }
    step(`accredited researchers #${RESEARCHERS.join(", #")}`);

    const credentials = new Map<DevAccountIndex, Record<AuthPath, Credential>>();
    for (const index of RESEARCHERS) {
      const cookie = await signInOverHttp(origin, index);
      await buyAccess(system, index, dataset);
      const bearer = await createTokenOverHttp(origin, index, cookie, dataset.datasetId);
      credentials.set(index, { cookie: { cookie }, token: { bearer } });
    }
    step(
      `signed in (SIWE over HTTP), bought access and created a token: researchers #${RESEARCHERS.join(", #")}`,
    );

    const credentialOf = (client: number, path: AuthPath): Credential => {
      const credential = credentials.get(
        RESEARCHERS[client % RESEARCHERS.length] as DevAccountIndex,
      );
      if (!credential) throw new Error("no credential");
      return credential[path];
    };

    // The budget must cover every query a researcher can be asked for (no hidden refusals):
    // every batch of both paths, plus one warm-up query per path. Both credentials must see it.
    const clientsPerResearcher = Math.ceil(CONCURRENCY / RESEARCHERS.length);
    const neededPerResearcher = clientsPerResearcher * SUBMIT_PER_CLIENT * BATCHES + 2;
    for (const index of RESEARCHERS) {
      for (const path of ["cookie", "token"] as const) {
        const { data: budget } = await call<{ queriesLeft: number }>(
          origin,
          "query",
          "query.budget",
          { datasetId: dataset.datasetId },
          credentials.get(index)?.[path],
        );
        if (budget.queriesLeft < neededPerResearcher) {
          throw new Error(
            `researcher #${index} (${path}) has ${budget.queriesLeft} queries left, needs ${neededPerResearcher}`,
          );
        }
      }
    }

    const submit = async (client: number, path: AuthPath) => {
      const { data } = await call<{
        status: string;
        error: { rule: string; message: string } | null;
      }>(
        origin,
        "mutation",
        "query.submit",
        // Submit to the final row: the queue, a worker and the run, as a waiting client sees it.
        { datasetId: dataset.datasetId, sql: BY_SEX, wait: true },
        credentialOf(client, path),
      );
      if (data.status !== "SUCCEEDED") {
        throw new Error(`query ${data.status}: ${data.error?.rule} ${data.error?.message}`);
      }
    };
    const list = async (client: number, path: AuthPath) => {
      const { data } = await call<{ items: { id: string }[] }>(
        origin,
        "query",
        "dataset.list",
        { limit: 20 },
        credentialOf(client, path),
      );
      if (!data.items.some((item) => item.id === dataset.datasetId)) {
        throw new Error("dataset.list does not show the seeded dataset");
      }
    };

    // Warm-up: one query per path (each uses one unit of #1's budget) and an unmeasured mixed
    // list batch, so the JIT's warm-up does not land on the first measured batch.
    for (const path of AUTH_PATHS) await submit(0, path);
    await load({
      endpoint: "warm-up",
      clients: CONCURRENCY,
      maxRequests: WARM_UP_LIST_REQUESTS,
      maxPerClient: Number.POSITIVE_INFINITY,
      maxSeconds: LIST_SECONDS,
      perform: list,
    });
    step("warmed up");

    const results: LoadResult[] = [];
    for (let batch = 0; batch < BATCHES; batch++) {
      step(
        `dataset.list batch ${batch}: ${CONCURRENCY} clients, cookie and token mixed, ≤${LIST_REQUESTS} requests or ${LIST_SECONDS}s`,
      );
      results.push(
        await load({
          endpoint: "dataset.list",
          clients: CONCURRENCY,
          maxRequests: LIST_REQUESTS,
          maxPerClient: Number.POSITIVE_INFINITY,
          maxSeconds: LIST_SECONDS,
          perform: list,
        }),
      );
    }
    const submitTotal = CONCURRENCY * SUBMIT_PER_CLIENT;
    for (let batch = 0; batch < BATCHES; batch++) {
      step(
        `query.submit batch ${batch}: ${CONCURRENCY} clients, cookie and token mixed, ≤${submitTotal} requests or ${SUBMIT_SECONDS}s`,
      );
      results.push(
        await load({
          endpoint: "query.submit",
          clients: CONCURRENCY,
          maxRequests: submitTotal,
          maxPerClient: SUBMIT_PER_CLIENT,
          maxSeconds: SUBMIT_SECONDS,
          perform: submit,
        }),
      );
    }
    step(`the auth step alone: ${AUTH_STEP_ROUNDS} calls per path, alternating`);
    const first = credentials.get(RESEARCHERS[0] as DevAccountIndex);
    if (!first) throw new Error("no credential");
    const authStep = await measureAuthStep(
      system.services,
      first.cookie,
      first.token,
      dataset.datasetId,
    );
    step("done");

    console.log("");
    console.log(
      `${PERSONS} persons (${dataset.consentedPersonIds.length} consented), ${CONCURRENCY} concurrent clients, 127.0.0.1, node ${process.version}`,
    );
    console.log("Batches in the order they ran:");
    printBatches(results);
    console.log("");
    console.log(
      "Cookie vs token (p50/p99 over all requests of a path, both paths in every batch):",
    );
    printComparison(results);
    console.log("");
    console.log("The auth step alone (no load, in process):");
    for (const line of authStep) console.log(line);
    // Each submit writes one row per included person; the table's size is part of its cost.
    console.log(
      `query inclusion sets stored at the end: ${await system.db.queryInclusionSet.count()}`,
    );
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`peak RSS (bench process: server + clients + compute): ${peakRssMb.toFixed(0)} MB`);
    for (const result of results) {
      for (const sample of result.errorSamples) console.log(`${result.endpoint} error: ${sample}`);
    }
    if (results.some((result) => result.errors.cookie + result.errors.token > 0)) {
      process.exitCode = 1;
    }
  } finally {
    await server?.close();
    await system.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
