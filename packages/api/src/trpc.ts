/**
 * The only place that initialises tRPC. Routers import the procedures defined here:
 * `publicProcedure` for anyone, `protectedProcedure` for a signed-in address, and
 * `roleProcedure(role)` for the roles of the design (researcher, patient, steward).
 */
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { ApiContext, Role } from "./context";
import { type RateLimitedAction, rateLimiterFor } from "./services/rate-limit";
import { tokenAllows } from "./services/token-scope";

const t = initTRPC.context<ApiContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    // Never a stack trace, and for bad input the first offending field by name.
    const zodError = error.cause instanceof ZodError ? error.cause : undefined;
    const issue = zodError?.issues[0];
    const { stack: _stack, ...data } = shape.data;
    return {
      ...shape,
      data: {
        ...data,
        field: issue ? issue.path.join(".") : undefined,
        rule: error.cause instanceof RuleError ? error.cause.rule : undefined,
      },
    };
  },
});

/** An expected refusal that names the rule that refused (privacy rules, budget, roles). */
export class RuleError extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = "RuleError";
  }
}

/** A refusal by a rate limit (HTTP 429): says which limit and when to retry. */
export class RateLimitError extends RuleError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("rate-limit", message);
    this.name = "RateLimitError";
  }
}

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Bad input becomes BAD_REQUEST naming the first offending field, for HTTP and createCaller alike. */
const namedInputErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof ZodError) {
    const issue = result.error.cause.issues[0];
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `${issue?.path.join(".") || "input"}: ${issue?.message ?? "is invalid"}`,
      cause: result.error.cause,
    });
  }
  return result;
});

/**
 * A request authenticated with an API token may call only what the token's scopes allow
 * (services/token-scope.ts); checked before anything runs. Cookie sessions pass untouched.
 */
const tokenScope = t.middleware(async ({ ctx, path, getRawInput, next }) => {
  const token = ctx.session?.token;
  if (!token) return next();
  const verdict = await tokenAllows(ctx.db, token.scopes, path, await getRawInput());
  if (!verdict.ok) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: verdict.message,
      cause: new RuleError("token-scope", verdict.message),
    });
  }
  return next();
});

export const publicProcedure = t.procedure.use(namedInputErrors).use(tokenScope);

/**
 * Applies the per-IP and per-researcher limits of `action` (services/rate-limit.ts) before the
 * procedure runs: a refused call touches nothing. TOO_MANY_REQUESTS is HTTP 429; the HTTP
 * handler adds Retry-After.
 */
export const rateLimited = (action: RateLimitedAction) =>
  t.middleware(({ ctx, next }) => {
    const verdict = rateLimiterFor(ctx.config).take(action, {
      ip: ctx.clientIp,
      researcher: ctx.session?.address ?? null,
    });
    if (!verdict.ok) {
      const message = `Too many requests (rule rate-limit: ${verdict.limit} per ${verdict.windowSeconds} s, ${verdict.rule}); retry in ${verdict.retryAfterSeconds} s.`;
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message,
        cause: new RateLimitError(message, verdict.retryAfterSeconds),
      });
    }
    return next();
  });

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.session) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in with your wallet first." });
  }
  return next({ ctx: { ...ctx, session: ctx.session } });
});

export const roleProcedure = (role: Role) =>
  protectedProcedure.use(async ({ ctx, next }) => {
    if (!(await ctx.hasRole(ctx.session.address, role))) {
      throw new TRPCError({ code: "FORBIDDEN", message: `This needs the ${role} role.` });
    }
    return next();
  });
