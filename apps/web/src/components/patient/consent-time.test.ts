import { describe, expect, it } from "vitest";
import { formatConsentTime } from "./consent-time";

describe("consent time in the patient's rewards table", () => {
  it("names the non-zero units, largest first", () => {
    expect(formatConsentTime(250)).toBe("4 min 10 s");
    expect(formatConsentTime(300)).toBe("5 min");
    expect(formatConsentTime(3_605)).toBe("1 h 5 s");
    expect(formatConsentTime(2 * 86_400 + 3 * 3_600 + 60)).toBe("2 d 3 h 1 min");
    expect(formatConsentTime(0)).toBe("0 s");
  });

  it("refuses what is not a whole, non-negative number of seconds", () => {
    expect(() => formatConsentTime(-1)).toThrow(RangeError);
    expect(() => formatConsentTime(1.5)).toThrow(RangeError);
  });
});
