import { describe, expect, it } from "vitest";
import { parseWebEnv } from "./env";

const local = { DATABASE_URL: "file:/tmp/oc-web-env.db" };

describe("parseWebEnv", () => {
  it("defaults to the local chain, http://127.0.0.1:3000 and a dev noise secret", () => {
    const env = parseWebEnv(local);
    expect(env.chain.chainId).toBe(31337);
    expect(env.origin).toBe("http://127.0.0.1:3000");
    expect(env.host).toBe("127.0.0.1:3000");
    expect(env.noiseSecret.length).toBeGreaterThanOrEqual(16);
    expect(env.query.sandboxWorkerPath).toMatch(/sandbox\/worker\.mjs$/);
    // No dataset root unless one is configured: registering files is then refused.
    expect(env.datasetRoot).toBeNull();
  });

  it("takes an absolute OPENCOHORT_DATASET_ROOT and refuses a relative one", () => {
    expect(parseWebEnv({ ...local, OPENCOHORT_DATASET_ROOT: "/srv/datasets" }).datasetRoot).toBe(
      "/srv/datasets",
    );
    expect(() => parseWebEnv({ ...local, OPENCOHORT_DATASET_ROOT: "datasets" })).toThrow(
      /^OPENCOHORT_DATASET_ROOT must be an absolute path\.$/,
    );
  });

  it("imports from an absolute OPENCOHORT_IMPORT_ROOT only, keyed by a secret required off the local chain", () => {
    expect(parseWebEnv(local).datasetImport).toBeNull();
    const here = parseWebEnv({ ...local, OPENCOHORT_IMPORT_ROOT: "/srv/imports" }).datasetImport;
    expect(here?.root).toBe("/srv/imports");
    expect(here?.secret.length).toBeGreaterThanOrEqual(16);
    expect(() => parseWebEnv({ ...local, OPENCOHORT_IMPORT_ROOT: "imports" })).toThrow(
      /^OPENCOHORT_IMPORT_ROOT must be an absolute path\.$/,
    );
    const remote = {
      ...local,
      OPENCOHORT_CHAIN_ID: "11155111",
      OPENCOHORT_OPERATOR_KEY: `0x${"1".repeat(64)}`,
      OPENCOHORT_NOISE_SECRET: "a-long-enough-production-secret",
      OPENCOHORT_SESSION_SECRET: "a-long-enough-production-secret",
      OPENCOHORT_IMPORT_ROOT: "/srv/imports",
    };
    expect(() => parseWebEnv(remote)).toThrow(/^OPENCOHORT_IMPORT_SECRET is required/);
    expect(
      parseWebEnv({ ...remote, OPENCOHORT_IMPORT_SECRET: "a-steward-import-secret-0123" })
        .datasetImport?.secret,
    ).toBe("a-steward-import-secret-0123");
  });

  it("takes the SIWE domain and uri from OPENCOHORT_WEB_ORIGIN", () => {
    const env = parseWebEnv({ ...local, OPENCOHORT_WEB_ORIGIN: "https://cohort.example.org/" });
    expect(env.origin).toBe("https://cohort.example.org");
    expect(env.host).toBe("cohort.example.org");
  });

  it("requires OPENCOHORT_NOISE_SECRET on any chain but the local one", () => {
    const remote = {
      ...local,
      OPENCOHORT_CHAIN_ID: "11155111",
      OPENCOHORT_OPERATOR_KEY: `0x${"1".repeat(64)}`,
    };
    expect(() => parseWebEnv(remote)).toThrow(/^OPENCOHORT_NOISE_SECRET is required/);
    const secret = "a-long-enough-production-secret";
    const withSession = { ...remote, OPENCOHORT_SESSION_SECRET: "a-long-enough-session-secret" };
    expect(parseWebEnv({ ...withSession, OPENCOHORT_NOISE_SECRET: secret }).noiseSecret).toBe(
      secret,
    );
  });

  it("requires OPENCOHORT_SESSION_SECRET on any chain but the local one", () => {
    const remote = {
      ...local,
      OPENCOHORT_CHAIN_ID: "11155111",
      OPENCOHORT_OPERATOR_KEY: `0x${"1".repeat(64)}`,
      OPENCOHORT_NOISE_SECRET: "a-long-enough-production-secret",
    };
    expect(() => parseWebEnv(remote)).toThrow(/^OPENCOHORT_SESSION_SECRET is required/);
    const secret = "a-long-enough-session-secret";
    expect(parseWebEnv({ ...remote, OPENCOHORT_SESSION_SECRET: secret }).sessionSecret).toBe(
      secret,
    );
    expect(parseWebEnv(local).sessionSecret.length).toBeGreaterThanOrEqual(16);
    expect(() => parseWebEnv({ ...local, OPENCOHORT_SESSION_SECRET: "short" })).toThrow(
      /^OPENCOHORT_SESSION_SECRET must have at least 16 characters\.$/,
    );
  });

  it("trusts one proxy hop (Next's own X-Forwarded-For) unless told otherwise", () => {
    expect(parseWebEnv(local).trustedProxyHops).toBe(1);
    expect(parseWebEnv({ ...local, OPENCOHORT_TRUSTED_PROXY_HOPS: "0" }).trustedProxyHops).toBe(0);
    expect(() => parseWebEnv({ ...local, OPENCOHORT_TRUSTED_PROXY_HOPS: "-1" })).toThrow(
      /^OPENCOHORT_TRUSTED_PROXY_HOPS /,
    );
  });

  it("runs two compute sandbox workers unless OPENCOHORT_QUERY_WORKERS says otherwise", () => {
    expect(parseWebEnv(local).query.workers).toBe(2);
    expect(parseWebEnv({ ...local, OPENCOHORT_QUERY_WORKERS: "4" }).query.workers).toBe(4);
    expect(() => parseWebEnv({ ...local, OPENCOHORT_QUERY_WORKERS: "0" })).toThrow(
      /^OPENCOHORT_QUERY_WORKERS /,
    );
  });

  it("names the variable of a bad value", () => {
    expect(() => parseWebEnv({ ...local, OPENCOHORT_WEB_ORIGIN: "ftp://x" })).toThrow(
      /^OPENCOHORT_WEB_ORIGIN must be an http\(s\) origin\.$/,
    );
    expect(() => parseWebEnv({ ...local, OPENCOHORT_NOISE_SECRET: "short" })).toThrow(
      /^OPENCOHORT_NOISE_SECRET must have at least 16 characters\.$/,
    );
  });

  it("bounds readiness checks (2 s, 50 blocks by default) and logs human lines unless LOG_FORMAT=json", () => {
    const env = parseWebEnv(local);
    expect(env.readiness).toEqual({ timeoutMs: 2_000, maxIndexerLagBlocks: 50 });
    expect(env.log).toEqual({ format: "human", level: "info" });
    const production = parseWebEnv({
      ...local,
      OPENCOHORT_READY_TIMEOUT_MS: "500",
      OPENCOHORT_READY_MAX_LAG_BLOCKS: "10",
      LOG_FORMAT: "json",
    });
    expect(production.readiness).toEqual({ timeoutMs: 500, maxIndexerLagBlocks: 10 });
    expect(production.log.format).toBe("json");
    expect(() => parseWebEnv({ ...local, OPENCOHORT_READY_TIMEOUT_MS: "60000" })).toThrow(
      /^OPENCOHORT_READY_TIMEOUT_MS must be between 100 and 30000\.$/,
    );
    expect(() => parseWebEnv({ ...local, OPENCOHORT_READY_MAX_LAG_BLOCKS: "-1" })).toThrow(
      /^OPENCOHORT_READY_MAX_LAG_BLOCKS must not be negative\.$/,
    );
    expect(() => parseWebEnv({ ...local, LOG_FORMAT: "pretty" })).toThrow(
      /LOG_FORMAT must be human or json/,
    );
  });
});
