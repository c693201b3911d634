import { createHash, randomBytes } from "node:crypto";
import type { Db } from "@opencohort/db";
import { siweVerifyInputSchema } from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import type { Address, Hex } from "viem";
import { parseSiweMessage, verifySiweMessage } from "viem/siwe";
import { issueNonce, nonceIsValid, purgeSessions } from "../services/siwe-nonce";
import { protectedProcedure, publicProcedure, rateLimited } from "../trpc";

export const hashSessionToken = (token: string) => createHash("sha256").update(token).digest("hex");

const unauthorized = (message: string) => new TRPCError({ code: "UNAUTHORIZED", message });

/** One message for a forged, expired or already used nonce: the caller's remedy is the same. */
const NONCE_USED = "This sign-in request expired or was already used; try again.";

export const authRouter = {
  /**
   * A fresh nonce plus what the wallet's EIP-4361 message must say. Stateless (an HMAC, see
   * services/siwe-nonce.ts): it writes nothing; rate-limited per client IP.
   */
  nonce: publicProcedure.use(rateLimited("nonce")).mutation(({ ctx }) => {
    const { nonce, expiresAt } = issueNonce(ctx.config.sessionSecret);
    return {
      nonce,
      domain: ctx.config.siweDomain,
      uri: ctx.config.siweUri,
      chainId: ctx.chain.chainId,
      version: "1" as const,
      statement: "Sign in to OpenCohort.",
      expiresAt,
    };
  }),

  /** Verifies a signed EIP-4361 message and opens a session (http-only cookie). */
  verify: publicProcedure.input(siweVerifyInputSchema).mutation(async ({ ctx, input }) => {
    const fields = parseSiweMessage(input.message);
    if (!fields.address || !fields.nonce)
      throw unauthorized("The message is not a Sign-In with Ethereum message.");
    if (fields.domain !== ctx.config.siweDomain)
      throw unauthorized("The message was signed for another site.");
    if (fields.chainId !== ctx.chain.chainId)
      throw unauthorized("The message was signed for another chain.");
    // Before the signature (which may cost an RPC call): a forged or expired nonce, or one a
    // session was already opened with.
    if (!nonceIsValid(ctx.config.sessionSecret, fields.nonce)) throw unauthorized(NONCE_USED);
    const used = await ctx.db.session.findUnique({
      where: { nonce: fields.nonce },
      select: { id: true },
    });
    if (used) throw unauthorized(NONCE_USED);
    const valid = await verifySiweMessage(ctx.chain.client, {
      message: input.message,
      signature: input.signature as Hex,
      domain: ctx.config.siweDomain,
      nonce: fields.nonce,
    });
    if (!valid) throw unauthorized("The signature does not match the message.");

    const address = fields.address.toLowerCase() as Address;
    const token = randomBytes(32).toString("base64url");
    const expiresAt = new Date(Date.now() + ctx.config.sessionTtlSeconds * 1000);
    await ctx.db.account.upsert({
      where: { address },
      create: { address },
      update: {},
      select: { address: true },
    });
    try {
      await ctx.db.session.create({
        data: {
          id: hashSessionToken(token),
          address,
          nonce: fields.nonce,
          chainId: ctx.chain.chainId,
          expiresAt,
        },
        select: { id: true },
      });
    } catch (error) {
      // P2002 on Session.nonce: a concurrent verify of the same message won the race.
      if ((error as { code?: unknown }).code === "P2002") throw unauthorized(NONCE_USED);
      throw error;
    }
    await purgeSessions(ctx.db);
    ctx.cookies.setSession(token, expiresAt);
    return { address, expiresAt };
  }),

  /** The signed-in address and its roles, or null. */
  session: publicProcedure.query(async ({ ctx }) => {
    if (!ctx.session) return null;
    const { address } = ctx.session;
    const [patient, steward] = await Promise.all([
      ctx.hasRole(address, "patient"),
      ctx.hasRole(address, "steward"),
    ]);
    return {
      address,
      roles: { researcher: true, patient, steward },
    };
  }),

  signOut: protectedProcedure.mutation(async ({ ctx }) => {
    await ctx.db.session.updateMany({
      where: { id: ctx.session.id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    ctx.cookies.clearSession();
    return { signedOut: true };
  }),
} satisfies TRPCRouterRecord;

/** The session behind a cookie token, if it is live. */
export async function resolveSession(
  db: Db,
  token: string | undefined,
): Promise<{ id: string; address: Address } | null> {
  if (!token) return null;
  const id = hashSessionToken(token);
  const session = await db.session.findUnique({
    where: { id },
    select: { address: true, expiresAt: true, revokedAt: true },
  });
  if (!session || session.revokedAt || session.expiresAt <= new Date()) return null;
  return { id, address: session.address as Address };
}
