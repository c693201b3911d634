import { createHash, randomBytes } from "node:crypto";
import type { Db } from "@opencohort/db";
import { siweVerifyInputSchema } from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import type { Address, Hex } from "viem";
import { generateSiweNonce, parseSiweMessage, verifySiweMessage } from "viem/siwe";
import { protectedProcedure, publicProcedure } from "../trpc";

/** How long a nonce may wait for its signature. */
const NONCE_TTL_MS = 10 * 60 * 1000;

export const hashSessionToken = (token: string) => createHash("sha256").update(token).digest("hex");

const unauthorized = (message: string) => new TRPCError({ code: "UNAUTHORIZED", message });

export const authRouter = {
  /** A fresh nonce plus what the wallet's EIP-4361 message must say. */
  nonce: publicProcedure.mutation(async ({ ctx }) => {
    const nonce = generateSiweNonce();
    const expiresAt = new Date(Date.now() + NONCE_TTL_MS);
    await ctx.db.siweNonce.create({ data: { nonce, expiresAt }, select: { nonce: true } });
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
    const valid = await verifySiweMessage(ctx.chain.client, {
      message: input.message,
      signature: input.signature as Hex,
      domain: ctx.config.siweDomain,
      nonce: fields.nonce,
    });
    if (!valid) throw unauthorized("The signature does not match the message.");

    // Consuming the nonce and checking it was unused is one conditional update: a replayed
    // signature, or two racing verifies, find it consumed.
    const consumed = await ctx.db.siweNonce.updateMany({
      where: { nonce: fields.nonce, consumedAt: null, expiresAt: { gt: new Date() } },
      data: { consumedAt: new Date() },
    });
    if (consumed.count !== 1)
      throw unauthorized("This sign-in request expired or was already used; try again.");

    const address = fields.address.toLowerCase() as Address;
    const token = randomBytes(32).toString("base64url");
    const expiresAt = new Date(Date.now() + ctx.config.sessionTtlSeconds * 1000);
    await ctx.db.account.upsert({
      where: { address },
      create: { address },
      update: {},
      select: { address: true },
    });
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
