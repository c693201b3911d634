/**
 * The API over HTTP: tRPC's fetch adapter with the session taken from the `oc_session`
 * cookie. The Next.js route handler and the benchmark's node:http server both call this.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { type ApiServices, type CookieJar, createContextInner } from "./context";
import { appRouter } from "./root";
import { resolveSession } from "./router/auth";

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

export interface ApiRequestHandlerOptions {
  /** Where the router is mounted (default "/trpc"). */
  endpoint?: string;
  /** Called for every error a procedure returns (logging); never changes the response. */
  onError?: (error: { path: string | undefined; error: Error }) => void;
}

/** A `(Request) => Promise<Response>` serving the whole API. */
export function createApiRequestHandler(
  services: ApiServices,
  options: ApiRequestHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const endpoint = options.endpoint ?? "/trpc";
  return (request) =>
    fetchRequestHandler({
      endpoint,
      req: request,
      router: appRouter,
      async createContext({ req, resHeaders }) {
        const secure = isSecure(new URL(req.url));
        const token = readCookie(req.headers.get("cookie"), SESSION_COOKIE);
        const session = await resolveSession(services.db, token);
        const cookies: CookieJar = {
          setSession(value, expiresAt) {
            resHeaders.append("set-cookie", sessionCookie(value, expiresAt, secure));
          },
          clearSession() {
            resHeaders.append("set-cookie", sessionCookie("", new Date(0), secure));
          },
        };
        return createContextInner({ services, session, cookies });
      },
      ...(options.onError
        ? { onError: ({ path, error }) => options.onError?.({ path, error }) }
        : {}),
    });
}
