/**
 * The route handlers themselves, for a server whose services cannot start (its deployment
 * manifest is missing): liveness still answers, readiness says 503 "services" and nothing of
 * why (the reason is for the server log). The checks behind a started server are tested in
 * packages/api/src/services/readiness.test.ts against anvil and SQLite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GET as health } from "../health/route";
import { GET as ready } from "./route";

const dir = mkdtempSync(join(tmpdir(), "oc-web-ready-"));
const missingManifest = join(dir, "no-such-manifest.json");
process.env.OPENCOHORT_DEPLOYMENT = missingManifest;
process.env.DATABASE_URL = `file:${join(dir, "web.db")}`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("/api/health and /api/ready", () => {
  it("answers liveness without touching anything", async () => {
    const response = health();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers 503 naming the services check when the server could not start, without the reason", async () => {
    const response = await ready();
    expect(response.status).toBe(503);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      status: "not ready",
      failing: ["services"],
      checks: { services: { status: "failing", reason: "the server's services did not start" } },
    });
    expect(text).not.toContain(dir);
  });
});
