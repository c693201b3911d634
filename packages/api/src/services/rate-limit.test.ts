import { describe, expect, it } from "vitest";
import { clientIpOf } from "../http";
import { RateLimiter } from "./rate-limit";

describe("the in-memory rate limiter", () => {
  it("refuses past the limit with the seconds to wait, and refills over the window", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ nonceIp: { limit: 3, windowSeconds: 60 } }, () => now);
    const who = { ip: "192.0.2.1", researcher: null };
    for (let i = 0; i < 3; i++) expect(limiter.take("nonce", who)).toEqual({ ok: true });
    expect(limiter.take("nonce", who)).toEqual({
      ok: false,
      rule: "nonceIp",
      limit: 3,
      windowSeconds: 60,
      retryAfterSeconds: 20,
    });
    now += 20_000;
    expect(limiter.take("nonce", who)).toEqual({ ok: true });
    expect(limiter.take("nonce", who).ok).toBe(false);
    // No IP known: per-IP limits do not apply.
    expect(limiter.take("nonce", { ip: null, researcher: null })).toEqual({ ok: true });
  });

  it("keeps at most maxKeys buckets and drops idle ones", () => {
    let now = 0;
    const limiter = new RateLimiter({ maxKeys: 100 }, () => now);
    for (let i = 0; i < 1_000; i++) {
      limiter.take("nonce", { ip: `10.0.${i >> 8}.${i & 255}`, researcher: null });
    }
    expect(limiter.size).toBe(100);
    // A bucket idle for a whole window is full again and is dropped on the next use.
    now += 61_000;
    limiter.take("nonce", { ip: "192.0.2.9", researcher: null });
    expect(limiter.size).toBe(1);
  });
});

describe("clientIpOf (X-Forwarded-For behind trusted proxies)", () => {
  const request = (forwardedFor?: string) =>
    new Request("http://127.0.0.1/trpc", {
      headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {},
    });
  it("takes the entry the outermost trusted proxy appended, never the client's own", () => {
    expect(clientIpOf(request("1.2.3.4, 203.0.113.7"), 1)).toBe("203.0.113.7");
    expect(clientIpOf(request("1.2.3.4, 203.0.113.7, 10.0.0.2"), 2)).toBe("203.0.113.7");
    expect(clientIpOf(request("::ffff:127.0.0.1"), 1)).toBe("127.0.0.1");
    expect(clientIpOf(request("203.0.113.7"), 0)).toBeNull();
    expect(clientIpOf(request(), 1)).toBeNull();
    expect(clientIpOf(request("not-an-ip"), 1)).toBeNull();
    expect(clientIpOf(request("203.0.113.7"), 2)).toBeNull();
  });
});
