/**
 * Personal API tokens: minted here, stored only as their SHA-256, and resolved from an
 * `Authorization: Bearer` header by http.ts into the same session shape a cookie gives, plus
 * the token's scopes (which trpc.ts checks on every procedure).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "@opencohort/db";
import { API_TOKEN_PREFIX, type TokenScopes, tokenScopesSchema } from "@opencohort/validators";
import type { Address } from "viem";
import type { SessionInfo } from "../context";

export const hashApiToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** A fresh secret: the prefix plus 32 random bytes (256 bits), base64url. */
export function mintApiToken(): { secret: string; id: string; prefix: string } {
  const secret = `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { secret, id: hashApiToken(secret), prefix: secret.slice(0, API_TOKEN_PREFIX.length + 6) };
}

/** Reads a stored scopes column; a row that does not parse grants nothing. */
export function parseScopes(json: string): TokenScopes {
  try {
    const parsed = tokenScopesSchema.safeParse(JSON.parse(json));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  return { catalogue: false, query: "none" };
}

/** The bearer token of an Authorization header; undefined when there is no Bearer header. */
export function bearerTokenOf(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

export type TokenResolution = { ok: true; session: SessionInfo } | { ok: false; message: string };

/**
 * The session a bearer token acts as, or why it cannot. Unknown, revoked and expired tokens
 * get different messages: the caller holds the secret, so naming its state leaks nothing.
 * An accepted use stamps lastUsedAt when the stored stamp is older than LAST_USED_RESOLUTION_MS:
 * a write per request would serialise every token call on SQLite's one writer (the API bench
 * measured token calls 1.2x slower than cookie calls with it), and a minute is as precise as
 * "last used" needs to be.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

export async function resolveApiToken(db: Db, token: string): Promise<TokenResolution> {
  if (!token.startsWith(API_TOKEN_PREFIX)) {
    return { ok: false, message: "This is not an OpenCohort API token (they start with oc_)." };
  }
  const id = hashApiToken(token);
  const row = await db.apiToken.findUnique({
    where: { id },
    select: { address: true, scopes: true, expiresAt: true, revokedAt: true, lastUsedAt: true },
  });
  if (!row) return { ok: false, message: "Unknown API token." };
  if (row.revokedAt) return { ok: false, message: "This API token was revoked." };
  const now = new Date();
  if (row.expiresAt <= now) return { ok: false, message: "This API token has expired." };
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    await db.apiToken.update({ where: { id }, data: { lastUsedAt: now }, select: { id: true } });
  }
  return {
    ok: true,
    session: {
      id: `token:${id}`,
      address: row.address as Address,
      token: { id, scopes: parseScopes(row.scopes) },
    },
  };
}
