/**
 * The API over HTTP: tRPC's fetch adapter with the session taken from the `oc_session`
 * cookie and the client IP from the proxy policy below. The Next.js route handler and the
 * benchmark's node:http server both call this.
 */
import { isIP } from "node:net";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { type ApiServices, type CookieJar, createContextInner, type SessionInfo } from "./context";
import { appRouter } from "./root";
import { resolveSession } from "./router/auth";
import { bearerTokenOf, resolveApiToken } from "./services/api-token";
import { apiLogger, logProcedureError } from "./services/log";
import { RateLimitError } from "./trpc";

export const SESSION_COOKIE = "oc_session";

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Secure everywhere except plain http on a loopback host (local development). */
function isSecure(url: URL): boolean {
  return !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

function sessionCookie(value: string, expiresAt: Date, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    "HttpOnly",
    "SameSite=Lax",
    "Path=/",
    `Expires=${expiresAt.toUTCString()}`,
    ...(value === "" ? ["Max-Age=0"] : []),
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/**
 * The client's IP from X-Forwarded-For, trusting exactly `trustedProxyHops` proxies: each
 * appends the address it saw, so the entry `trustedProxyHops` from the right is the one the
 * outermost trusted proxy wrote; anything left of it may be the client's own invention.
 * 0 (the default) trusts no header: the IP is unknown and per-IP limits do not apply.
 *
 * Next.js sets X-Forwarded-For to the socket's address only when the request has none, so
 * Next alone (hops 1) is spoofable by a client that sends its own header; put a proxy that
 * appends or overwrites it in front and count it.
 */
export function clientIpOf(request: Request, trustedProxyHops: number): string | null {
  if (trustedProxyHops <= 0) return null;
  const entries = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const entry = entries[entries.length - trustedProxyHops];
  if (entry === undefined) return null;
  // IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d: one client, one key.
  const address = entry.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "").toLowerCase();
  return isIP(address) === 0 ? null : address;
}

export interface ApiRequestHandlerOptions {
  /** Proxies in front whose X-Forwarded-For entry is trusted (see clientIpOf; default 0). */
  trustedProxyHops?: number;
  /** Where the router is mounted (default "/trpc"). */
  endpoint?: string;
  /**
   * Called for every error a procedure returns, after it was logged (services/log.ts); never
   * changes the response.
   */
  onError?: (error: { path: string | undefined; error: Error }) => void;
}

/**
 * Who a request acts as: an `Authorization: Bearer oc_…` personal API token (scripts and
 * notebooks) or else the session cookie. A bearer token that does not resolve (unknown,
 * revoked, expired) is answered 401 here, never downgraded to an anonymous call: a script
 * must learn its token stopped working. `cookie: false` (the REST API) ignores the cookie:
 * scripts use tokens, and a cross-site form post then has no session to ride on.
 */
export async function authenticate(
  services: ApiServices,
  request: Request,
  options: { cookie?: boolean } = {},
): Promise<{ ok: true; session: SessionInfo | null } | { ok: false; response: Response }> {
  const bearer = bearerTokenOf(request.headers.get("authorization"));
  if (bearer !== undefined) {
    const resolved = await resolveApiToken(services.db, bearer);
    if (resolved.ok) return { ok: true, session: resolved.session };
    return { ok: false, response: unauthorizedResponse(resolved.message) };
  }
  if (options.cookie === false) return { ok: true, session: null };
  const token = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
  return { ok: true, session: await resolveSession(services.db, token) };
}

/** 401 with the reason, in the shape of the REST API's errors (rule "token-invalid"). */
export function unauthorizedResponse(message: string): Response {
  return Response.json(
    { error: { code: "UNAUTHORIZED", rule: "token-invalid", message } },
    {
      status: 401,
      headers: { "www-authenticate": 'Bearer error="invalid_token"', "cache-control": "no-store" },
    },
  );
}

/** A `(Request) => Promise<Response>` serving the whole API. */
export function createApiRequestHandler(
  services: ApiServices,
  options: ApiRequestHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const endpoint = options.endpoint ?? "/trpc";
  return async (request) => {
    const auth = await authenticate(services, request);
    if (!auth.ok) return auth.response;
    return fetchRequestHandler({
      endpoint,
      req: request,
      router: appRouter,
      async createContext({ req, resHeaders }) {
        const secure = isSecure(new URL(req.url));
        const session = auth.session;
        const cookies: CookieJar = {
          setSession(value, expiresAt) {
            resHeaders.append("set-cookie", sessionCookie(value, expiresAt, secure));
          },
          clearSession() {
            resHeaders.append("set-cookie", sessionCookie("", new Date(0), secure));
          },
        };
        const clientIp = clientIpOf(req, options.trustedProxyHops ?? 0);
        return createContextInner({ services, session, cookies, clientIp });
      },
      responseMeta({ errors }) {
        // A 429 says when to come back (RFC 9110 Retry-After, whole seconds).
        const retryAfter = errors
          .map((error) =>
            error.cause instanceof RateLimitError ? error.cause.retryAfterSeconds : 0,
          )
          .reduce((max, seconds) => Math.max(max, seconds), 0);
        return retryAfter > 0 ? { headers: { "retry-after": String(retryAfter) } } : {};
      },
      onError({ path, error }) {
        logProcedureError(apiLogger(services), { procedure: path, error });
        options.onError?.({ path, error });
      },
    });
  };
}
