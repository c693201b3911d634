import { devAccountKey } from "@opencohort/chain";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSystem, type TestSystem } from "../testing/harness";

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(async () => {
  await system?.stop();
});

async function signedMessage(
  index: 4 | 5,
  overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {},
) {
  const account = privateKeyToAccount(devAccountKey(31337, index));
  const request = await system.anonymous().auth.nonce();
  const message = createSiweMessage({
    address: account.address,
    chainId: request.chainId,
    domain: request.domain,
    uri: request.uri,
    nonce: request.nonce,
    version: "1",
    ...overrides,
  });
  return { message, signature: await account.signMessage({ message }), account };
}

describe("auth (Sign-In with Ethereum)", () => {
  it("signs in, reports the session with roles, and signs out", async () => {
    const { caller, address, token } = await system.signIn(4);
    expect(token).toHaveLength(43);
    expect(await caller.auth.session()).toEqual({
      address,
      roles: { researcher: true, patient: false, steward: false },
    });
    await caller.auth.signOut();
    expect(await system.services.db.session.count({ where: { address, revokedAt: null } })).toBe(0);
  });

  it("knows a steward from the StewardBadge mirrored by the indexer", async () => {
    await system.services.chain.indexer.syncOnce();
    const { caller } = await system.signIn(1);
    expect((await caller.auth.session())?.roles.steward).toBe(true);
  });

  it("refuses a replayed signature", async () => {
    const { message, signature } = await signedMessage(5);
    await system.anonymous().auth.verify({ message, signature });
    await expect(system.anonymous().auth.verify({ message, signature })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: "This sign-in request expired or was already used; try again.",
    });
  });

  it("refuses a message signed for another site or chain", async () => {
    const otherSite = await signedMessage(5, { domain: "evil.example" });
    await expect(system.anonymous().auth.verify(otherSite)).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    const otherChain = await signedMessage(5, { chainId: 1 });
    await expect(system.anonymous().auth.verify(otherChain)).rejects.toMatchObject({
      message: "The message was signed for another chain.",
    });
  });

  it("refuses a signature by another key", async () => {
    const { message } = await signedMessage(5);
    const intruder = privateKeyToAccount(devAccountKey(31337, 4));
    const signature = await intruder.signMessage({ message });
    await expect(system.anonymous().auth.verify({ message, signature })).rejects.toMatchObject({
      message: "The signature does not match the message.",
    });
  });

  it("names the malformed field of a bad input", async () => {
    await expect(
      system.anonymous().auth.verify({ message: "hello", signature: "nothex" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "signature: must be a 0x-prefixed hex signature",
    });
  });

  it("is UNAUTHORIZED, not an empty answer, for a protected procedure without a session", async () => {
    await expect(system.anonymous().auth.signOut()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(await system.anonymous().auth.session()).toBeNull();
  });
});
