/**
 * Request limits per client IP and per signed-in researcher, as token buckets kept in this
 * process's memory. A bucket of `limit` tokens refills at `limit` per `windowSeconds`; each
 * request takes one; an empty bucket refuses with the seconds until the next token.
 *
 * In memory on purpose: the limits protect one process from a flood, and a refused request
 * must not write anything (a limiter in the app database would grow it under exactly the
 * flood it is there to stop). Several API processes or machines each keep their own buckets,
 * so behind a load balancer the effective limit is the sum over processes: a deployment that
 * needs one limit across machines has to move the buckets to a shared store (Redis, or
 * PostgreSQL's UNLOGGED tables) behind this same interface.
 *
 * Memory is bounded: at most `maxKeys` buckets; the least recently used is evicted first, and
 * a bucket idle long enough to be full again is worth nothing and is dropped on the way.
 */

export interface RateLimitRule {
  /** Requests allowed in a window (also the burst size). */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitConfig {
  /** auth.nonce per client IP. */
  nonceIp: RateLimitRule;
  /** dataset.feasibility per signed-in researcher. */
  feasibilityResearcher: RateLimitRule;
  /** dataset.feasibility per client IP. */
  feasibilityIp: RateLimitRule;
  /** query.submit per signed-in researcher. */
  submitResearcher: RateLimitRule;
  /** query.submit per client IP. */
  submitIp: RateLimitRule;
  /** Buckets kept at most (all rules together). */
  maxKeys: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  nonceIp: { limit: 30, windowSeconds: 60 },
  feasibilityResearcher: { limit: 20, windowSeconds: 60 },
  feasibilityIp: { limit: 60, windowSeconds: 60 },
  submitResearcher: { limit: 30, windowSeconds: 60 },
  submitIp: { limit: 60, windowSeconds: 60 },
  maxKeys: 50_000,
};

export type RateLimitedAction = "nonce" | "feasibility" | "submit";

/** Which rules apply to an action, by the kind of key they count. */
const RULES: Record<
  RateLimitedAction,
  { ip?: keyof RateLimitConfig; researcher?: keyof RateLimitConfig }
> = {
  nonce: { ip: "nonceIp" },
  feasibility: { ip: "feasibilityIp", researcher: "feasibilityResearcher" },
  submit: { ip: "submitIp", researcher: "submitResearcher" },
};

export type RateLimitVerdict =
  | { ok: true }
  | {
      ok: false;
      /** e.g. "nonceIp" */
      rule: string;
      limit: number;
      windowSeconds: number;
      /** Whole seconds until the next request would be allowed (at least 1). */
      retryAfterSeconds: number;
    };

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  readonly config: RateLimitConfig;

  constructor(
    config: Partial<RateLimitConfig> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.config = { ...DEFAULT_RATE_LIMITS, ...config };
  }

  /** Buckets held right now (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one token from every bucket that applies (per IP when the IP is known, per
   * researcher when signed in). Refused when any is empty; then nothing is taken, so a
   * refused request does not push the retry time further out.
   */
  take(
    action: RateLimitedAction,
    who: { ip: string | null; researcher: string | null },
  ): RateLimitVerdict {
    const rules = RULES[action];
    const checks: { key: string; name: string; rule: RateLimitRule }[] = [];
    if (rules.ip && who.ip) {
      checks.push({ key: `${rules.ip}|${who.ip}`, name: rules.ip, rule: this.rule(rules.ip) });
    }
    if (rules.researcher && who.researcher) {
      const name = rules.researcher;
      checks.push({ key: `${name}|${who.researcher.toLowerCase()}`, name, rule: this.rule(name) });
    }
    const now = this.now();
    const filled = checks.map((check) => ({
      ...check,
      bucket: this.refill(check.key, check.rule, now),
    }));
    for (const { name, rule, bucket } of filled) {
      if (bucket.tokens < 1) {
        const perMs = rule.limit / (rule.windowSeconds * 1000);
        return {
          ok: false,
          rule: name,
          limit: rule.limit,
          windowSeconds: rule.windowSeconds,
          retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)),
        };
      }
    }
    for (const { key, bucket } of filled) {
      bucket.tokens -= 1;
      this.store(key, bucket);
    }
    return { ok: true };
  }

  private rule(name: keyof RateLimitConfig): RateLimitRule {
    return this.config[name] as RateLimitRule;
  }

  private refill(key: string, rule: RateLimitRule, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: rule.limit, at: now };
    const perMs = rule.limit / (rule.windowSeconds * 1000);
    return { tokens: Math.min(rule.limit, bucket.tokens + (now - bucket.at) * perMs), at: now };
  }

  /** Stores a bucket as the most recently used, evicting the least recently used beyond maxKeys. */
  private store(key: string, bucket: Bucket): void {
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    // Map order is last-use order: idle buckets come first, and one idle for a whole window
    // is full again, the same as no bucket.
    for (const [idleKey, idle] of this.buckets) {
      const name = idleKey.slice(0, idleKey.indexOf("|")) as keyof RateLimitConfig;
      if (bucket.at - idle.at < this.rule(name).windowSeconds * 1000) break;
      this.buckets.delete(idleKey);
    }
    while (this.buckets.size > this.config.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }
}

/** One limiter per API configuration object, i.e. per process's services. */
const limiters = new WeakMap<object, RateLimiter>();

export function rateLimiterFor(config: { rateLimits?: Partial<RateLimitConfig> }): RateLimiter {
  let limiter = limiters.get(config);
  if (!limiter) {
    limiter = new RateLimiter(config.rateLimits);
    limiters.set(config, limiter);
  }
  return limiter;
}
