/**
 * What every procedure gets. `createContextInner` takes no request, so tests call
 * procedures through `createCaller` with exactly the services and session they choose; the
 * web app's route handler builds the same context from the request's cookie.
 */
import type { DeploymentManifest } from "@opencohort/chain";
import type { Indexer } from "@opencohort/chain/indexer/indexer";
import type { ComputeEngine } from "@opencohort/compute";
import type { Db } from "@opencohort/db";
import type { Logger } from "@opencohort/log";
import type { TokenScopes } from "@opencohort/validators";
import type { Address, PublicClient } from "viem";
import type { QueryJobQueue } from "./services/query-execution";
import type { RateLimitConfig } from "./services/rate-limit";

export type Role = "researcher" | "patient" | "steward";

export interface ApiConfig {
  /** The host a SIWE message must name (EIP-4361 `domain`), e.g. "127.0.0.1:3000". */
  siweDomain: string;
  /** The origin a SIWE message must name (EIP-4361 `uri`), e.g. "http://127.0.0.1:3000". */
  siweUri: string;
  sessionTtlSeconds: number;
  /**
   * The folder under which dataset files live on this host; stewards register folders
   * relative to it and nothing outside it. Null: registering files is refused.
   */
  datasetRoot: string | null;
  /**
   * Imports from the web (steward.startImport): `root` holds the source exports stewards may
   * import (named relative to it, nothing outside it), `secret` keys their pseudonyms (a key
   * per steward is derived from it). Absent or null: importing is refused.
   */
  datasetImport?: { root: string; secret: string } | null;
  /**
   * Keys the HMAC of stateless SIWE nonces (services/siwe-nonce.ts); at least 16 characters,
   * stable across restarts and shared by every API process behind one domain.
   */
  sessionSecret: string;
  /** The shared feasibility budget per dataset, in epsilon (default 10: 100 counts at 0.1). */
  feasibilityEpsilonBudget?: number;
  /** Per-client-IP and per-researcher request limits (services/rate-limit.ts has the defaults). */
  rateLimits?: Partial<RateLimitConfig>;
  /** Where the operator's relayer, reward and anchor keys live is not the API's business. */
}

export interface ApiServices {
  db: Db;
  chain: {
    chainId: number;
    client: PublicClient;
    manifest: DeploymentManifest;
    /** Brings the database up to the chain head before a read that must not lag (a purchase just made). */
    indexer: Indexer;
  };
  compute: ComputeEngine;
  /** Where `query.submit` queues queries for the compute workers (services/query-execution.ts). */
  queryJobs: Pick<QueryJobQueue, "send">;
  config: ApiConfig;
  /** Where refusals and unexpected errors are logged (services/log.ts); default human lines. */
  logger?: Logger;
}

export interface SessionInfo {
  /** SHA-256 of the cookie token (the Session row's id). */
  id: string;
  /** Lower-case address. */
  address: Address;
  /**
   * Set when the request authenticated with a personal API token (http.ts): the session acts
   * as the token's owner, narrowed to these scopes (services/token-scope.ts, trpc.ts).
   */
  token?: { id: string; scopes: TokenScopes };
}

/** How procedures set and clear the session cookie without knowing HTTP. */
export interface CookieJar {
  setSession(token: string, expiresAt: Date): void;
  clearSession(): void;
}

export interface ApiContext extends ApiServices {
  session: SessionInfo | null;
  /**
   * The caller's IP address as the HTTP handler's proxy policy determined it (http.ts), or
   * null when unknown (createCaller, or no trusted proxy): per-IP limits then do not apply.
   */
  clientIp: string | null;
  cookies: CookieJar;
  hasRole(address: Address, role: Role): Promise<boolean>;
}

const noCookies: CookieJar = { setSession() {}, clearSession() {} };

export async function hasRole(db: Db, address: Address, role: Role): Promise<boolean> {
  const normalized = address.toLowerCase();
  switch (role) {
    case "researcher":
      // Any signed-in address may research; access to a dataset is checked per dataset.
      return true;
    case "patient":
      return (await db.enrolment.count({ where: { patientAddress: normalized } })) > 0;
    case "steward":
      return (await db.accountRole.count({ where: { address: normalized, role: "STEWARD" } })) > 0;
  }
}

export function createContextInner(options: {
  services: ApiServices;
  session?: SessionInfo | null;
  cookies?: CookieJar;
  clientIp?: string | null;
}): ApiContext {
  return {
    ...options.services,
    session: options.session ?? null,
    clientIp: options.clientIp ?? null,
    cookies: options.cookies ?? noCookies,
    hasRole: (address, role) => hasRole(options.services.db, address, role),
  };
}
