/**
 * HTTP benchmark (figures, not assertions): the real test system (anvil + contracts, SQLite,
 * indexer, compute) served over node:http on 127.0.0.1 with the same fetch handler the web
 * app uses. Researchers sign in through SIWE over HTTP and keep the session cookie; then two
 * bounded loads with 32 concurrent clients: `dataset.list` and `query.submit`.
 *
 *   pnpm --filter @opencohort/api bench
 *
 * The privacy budget allows 50 queries per (researcher, dataset) (5 ε at 0.1 ε each), so
 * query.submit is spread over researchers #1-#8 and each client keeps to one researcher.
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
import { createApiRequestHandler, readCookie, SESSION_COOKIE } from "../src/http";
import { buyAccess, seedDataset, startTestSystem, type TestSystem } from "../src/testing/harness";

const PERSONS = 2_000;
const CONCURRENCY = 32;
const RESEARCHERS: readonly DevAccountIndex[] = [1, 2, 3, 4, 5, 6, 7, 8];
const LIST_REQUESTS = 2_000;
const LIST_SECONDS = 20;
const SUBMIT_PER_CLIENT = 8;
const SUBMIT_SECONDS = 120;
const BY_SEX = "SELECT sex, count(*) AS n FROM person GROUP BY sex";

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
  const handle = createApiRequestHandler(system.services);
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

interface TrpcResponse<T> {
  data: T;
  setCookies: string[];
}

async function call<T>(
  origin: string,
  type: "query" | "mutation",
  path: string,
  input: unknown,
  cookie?: string,
): Promise<TrpcResponse<T>> {
  const headers: Record<string, string> = cookie ? { cookie } : {};
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
    cookie,
  );
  if (session?.address !== account.address.toLowerCase()) {
    throw new Error(`researcher #${index}: the cookie does not resolve to the session`);
  }
  return cookie;
}

// ─── Bounded load ───

interface LoadResult {
  endpoint: string;
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
  errorSamples: string[];
}

/**
 * `clients` workers; each runs `perform(client, n)` until `maxRequests` are taken in all, its
 * own `maxPerClient` is reached, or `maxSeconds` have passed. A rejection counts as an error.
 */
async function load(options: {
  endpoint: string;
  clients: number;
  maxRequests: number;
  maxPerClient: number;
  maxSeconds: number;
  perform: (client: number, n: number) => Promise<void>;
}): Promise<LoadResult> {
  const result: LoadResult = {
    endpoint: options.endpoint,
    requests: 0,
    errors: 0,
    seconds: 0,
    latencies: [],
    errorSamples: [],
  };
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1_000;
  let taken = 0;
  const worker = async (client: number) => {
    for (let n = 0; n < options.maxPerClient; n++) {
      if (taken >= options.maxRequests || performance.now() >= deadline) return;
      taken++;
      const t0 = performance.now();
      try {
        await options.perform(client, n);
      } catch (error) {
        result.errors++;
        if (result.errorSamples.length < 5) result.errorSamples.push(String(error));
      }
      result.latencies.push(performance.now() - t0);
      result.requests++;
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

function printTable(results: LoadResult[]) {
  const rows = results.map((r) => {
    const sorted = [...r.latencies].sort((a, b) => a - b);
    return [
      r.endpoint,
      String(r.requests),
      String(r.errors),
      (r.requests / r.seconds).toFixed(1),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      r.seconds.toFixed(1),
    ];
  });
  const header = ["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "wall s"];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
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

    const cookies = new Map<DevAccountIndex, string>();
    for (const index of RESEARCHERS) {
      cookies.set(index, await signInOverHttp(origin, index));
      await buyAccess(system, index, dataset);
    }
    step(`signed in (SIWE over HTTP) and bought access: researchers #${RESEARCHERS.join(", #")}`);

    const cookieOf = (client: number) => {
      const cookie = cookies.get(RESEARCHERS[client % RESEARCHERS.length] as DevAccountIndex);
      if (!cookie) throw new Error("no cookie");
      return cookie;
    };

    // The budget must cover every query a researcher can be asked for (no hidden refusals).
    const clientsPerResearcher = Math.ceil(CONCURRENCY / RESEARCHERS.length);
    const neededPerResearcher = clientsPerResearcher * SUBMIT_PER_CLIENT + 1;
    for (const index of RESEARCHERS) {
      const { data: budget } = await call<{ queriesLeft: number }>(
        origin,
        "query",
        "query.budget",
        { datasetId: dataset.datasetId },
        cookies.get(index),
      );
      if (budget.queriesLeft < neededPerResearcher) {
        throw new Error(
          `researcher #${index} has ${budget.queriesLeft} queries left, needs ${neededPerResearcher}`,
        );
      }
    }

    const submit = async (client: number) => {
      const { data } = await call<{
        status: string;
        error: { rule: string; message: string } | null;
      }>(
        origin,
        "mutation",
        "query.submit",
        { datasetId: dataset.datasetId, sql: BY_SEX },
        cookieOf(client),
      );
      if (data.status !== "SUCCEEDED") {
        throw new Error(`query ${data.status}: ${data.error?.rule} ${data.error?.message}`);
      }
    };
    const list = async () => {
      const { data } = await call<{ items: { id: string }[] }>(origin, "query", "dataset.list", {
        limit: 20,
      });
      if (!data.items.some((item) => item.id === dataset.datasetId)) {
        throw new Error("dataset.list does not show the seeded dataset");
      }
    };

    // Warm-up: one list and one query (the query uses one unit of budget of researcher #1).
    await list();
    await submit(0);
    step("warmed up");

    const results: LoadResult[] = [];
    step(`dataset.list: ${CONCURRENCY} clients, ≤${LIST_REQUESTS} requests or ${LIST_SECONDS}s`);
    results.push(
      await load({
        endpoint: "dataset.list",
        clients: CONCURRENCY,
        maxRequests: LIST_REQUESTS,
        maxPerClient: Number.POSITIVE_INFINITY,
        maxSeconds: LIST_SECONDS,
        perform: () => list(),
      }),
    );
    const submitTotal = CONCURRENCY * SUBMIT_PER_CLIENT;
    step(`query.submit: ${CONCURRENCY} clients, ≤${submitTotal} requests or ${SUBMIT_SECONDS}s`);
    results.push(
      await load({
        endpoint: "query.submit",
        clients: CONCURRENCY,
        maxRequests: submitTotal,
        maxPerClient: SUBMIT_PER_CLIENT,
        maxSeconds: SUBMIT_SECONDS,
        perform: (client) => submit(client),
      }),
    );
    step("done");

    console.log("");
    console.log(
      `${PERSONS} persons (${dataset.consentedPersonIds.length} consented), ${CONCURRENCY} concurrent clients, 127.0.0.1, node ${process.version}`,
    );
    printTable(results);
    // Each submit writes one row per included person; the table's size is part of its cost.
    console.log(`query inclusions stored at the end: ${await system.db.queryInclusion.count()}`);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`peak RSS (bench process: server + clients + compute): ${peakRssMb.toFixed(0)} MB`);
    for (const result of results) {
      for (const sample of result.errorSamples) console.log(`${result.endpoint} error: ${sample}`);
    }
    if (results.some((result) => result.errors > 0)) process.exitCode = 1;
  } finally {
    await server?.close();
    await system.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
