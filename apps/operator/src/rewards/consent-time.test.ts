import { describe, expect, it } from "vitest";
import { type ConsentChange, consentSecondsIn, epochWindow } from "./consent-time";

// An epoch from t = 1000 to t = 1600 (unix seconds): 600 s.
const window = { start: 1_000n, end: 1_600n };
const grant = (at: number): ConsentChange => ({ at: BigInt(at), granted: true });
const revoke = (at: number): ConsentChange => ({ at: BigInt(at), granted: false });

describe("consent seconds within an epoch's window", () => {
  it("counts the whole epoch for a consent granted before it and never revoked", () => {
    expect(consentSecondsIn([grant(10)], window)).toBe(600n);
  });

  it("counts nothing without a grant, or for a consent revoked before the epoch", () => {
    expect(consentSecondsIn([], window)).toBe(0n);
    expect(consentSecondsIn([revoke(900)], window)).toBe(0n);
    expect(consentSecondsIn([grant(10), revoke(999)], window)).toBe(0n);
    expect(consentSecondsIn([grant(10), revoke(1_000)], window)).toBe(0n);
  });

  it("counts up to a revocation in the epoch, from a grant in it, and both clipped", () => {
    expect(consentSecondsIn([grant(10), revoke(1_250)], window)).toBe(250n);
    expect(consentSecondsIn([grant(1_450)], window)).toBe(150n);
    expect(consentSecondsIn([grant(1_100), revoke(1_130)], window)).toBe(30n);
  });

  it("counts every interval of an opt-in, opt-out, opt-in", () => {
    expect(consentSecondsIn([grant(500), revoke(1_100), grant(1_400)], window)).toBe(100n + 200n);
    expect(
      consentSecondsIn([grant(1_010), revoke(1_020), grant(1_030), revoke(1_050)], window),
    ).toBe(30n);
  });

  it("ignores changes after the close: late events cannot change a closed epoch", () => {
    expect(consentSecondsIn([grant(10), revoke(1_601)], window)).toBe(600n);
    expect(consentSecondsIn([grant(1_700)], window)).toBe(0n);
    expect(consentSecondsIn([grant(1_500), revoke(1_700), grant(1_800)], window)).toBe(100n);
  });

  it("treats a repeated grant as no change and a revocation of nothing as nothing", () => {
    expect(consentSecondsIn([grant(1_100), grant(1_300), revoke(1_400)], window)).toBe(300n);
    expect(consentSecondsIn([revoke(1_100), revoke(1_200), grant(1_500)], window)).toBe(100n);
  });

  it("counts changes within one block as instantaneous", () => {
    expect(consentSecondsIn([grant(1_200), revoke(1_200)], window)).toBe(0n);
    expect(consentSecondsIn([grant(1_200), revoke(1_200), grant(1_200)], window)).toBe(400n);
  });

  it("refuses changes out of chain order (timestamps going back)", () => {
    expect(() => consentSecondsIn([grant(1_300), revoke(1_200)], window)).toThrow(
      /not in chain order/,
    );
  });

  it("makes the window from the epoch's start and close, in whole seconds", () => {
    expect(
      epochWindow(new Date("2026-11-21T10:00:00.400Z"), new Date("2026-11-21T10:01:01.900Z")),
    ).toEqual({ start: 1_795_255_200n, end: 1_795_255_261n });
    expect(() =>
      epochWindow(new Date("2026-11-21T10:00:00Z"), new Date("2026-11-21T09:59:59Z")),
    ).toThrow(/cannot close .* before it started/);
  });
});
