import { tokenCreateInputSchema, tokenIdInputSchema } from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { mintApiToken, parseScopes } from "../services/api-token";
import { RuleError, roleProcedure } from "../trpc";

const researcherProcedure = roleProcedure("researcher");

/** Live tokens one researcher may hold: enough for every notebook, not a minting machine. */
export const MAX_LIVE_TOKENS = 20;

const DAY_MS = 24 * 60 * 60 * 1000;

export const tokenRouter = {
  /**
   * A new personal API token. The secret is in this answer and nowhere else: the database
   * keeps its SHA-256. Token sessions cannot call this (services/token-scope.ts).
   */
  create: researcherProcedure.input(tokenCreateInputSchema).mutation(async ({ ctx, input }) => {
    const address = ctx.session.address.toLowerCase();
    const now = new Date();
    const live = await ctx.db.apiToken.count({
      where: { address, revokedAt: null, expiresAt: { gt: now } },
    });
    if (live >= MAX_LIVE_TOKENS) {
      const message = `You have ${MAX_LIVE_TOKENS} live tokens; revoke one first.`;
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message,
        cause: new RuleError("token-limit", message),
      });
    }
    const { secret, id, prefix } = mintApiToken();
    const scopes = {
      catalogue: input.scopes.catalogue,
      query: Array.isArray(input.scopes.query)
        ? [...new Set(input.scopes.query.map((dataset) => dataset.toLowerCase()))]
        : input.scopes.query,
    };
    const row = await ctx.db.apiToken.create({
      data: {
        id,
        address,
        name: input.name,
        prefix,
        scopes: JSON.stringify(scopes),
        expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS),
      },
      select: { id: true, name: true, prefix: true, createdAt: true, expiresAt: true },
    });
    return { ...row, scopes, secret };
  }),

  /** My tokens, newest first, without secrets (there are none to show). */
  list: researcherProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.apiToken.findMany({
      where: { address: ctx.session.address.toLowerCase() },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      select: {
        id: true,
        name: true,
        prefix: true,
        scopes: true,
        createdAt: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
      },
    });
    const now = new Date();
    return rows.map((row) => ({
      ...row,
      scopes: parseScopes(row.scopes),
      state: row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "active",
    }));
  }),

  /** Revokes one of my tokens at once; revoking a revoked token is a no-op. */
  revoke: researcherProcedure.input(tokenIdInputSchema).mutation(async ({ ctx, input }) => {
    const address = ctx.session.address.toLowerCase();
    const row = await ctx.db.apiToken.findFirst({
      where: { id: input.id, address },
      select: { id: true, revokedAt: true },
    });
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "No such token." });
    const revokedAt = row.revokedAt ?? new Date();
    if (!row.revokedAt) {
      await ctx.db.apiToken.updateMany({
        where: { id: row.id, revokedAt: null },
        data: { revokedAt },
      });
    }
    return { id: row.id, revokedAt };
  }),
} satisfies TRPCRouterRecord;
