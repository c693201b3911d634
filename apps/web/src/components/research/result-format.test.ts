import { describe, expect, it } from "vitest";
import {
  chartBars,
  isUnreliable,
  plusMinus,
  type Result,
  refusalPosition,
  resultCsv,
  uncertaintyTitle,
} from "./result-format";

const result: Result = {
  columns: [
    { name: "region", kind: "dimension" },
    { name: "count", kind: "count" },
    { name: "avg_value", kind: "avg" },
  ],
  rows: [
    ["North, upper", 120, 7.5],
    ["South", 10, null],
  ],
  uncertainty: [
    [null, { sd: 5.66, lo: 105.5, hi: 134.5 }, { sd: 0.2, lo: 7.1, hi: 7.9 }],
    [null, { sd: 5.66, lo: 0, hi: 24.5 }, null],
  ],
};

describe("uncertainty in the result view", () => {
  it("shows value ± the larger distance to an end of the 95% interval", () => {
    expect(plusMinus(120, { sd: 5.66, lo: 105.5, hi: 134.5 })).toBe("± 14.5");
    // A count's interval stops at 0: the upper side is the half-width.
    expect(plusMinus(10, { sd: 5.66, lo: 0, hi: 24.5 })).toBe("± 14.5");
    expect(plusMinus(null, null)).toBeNull();
  });

  it("flags a number whose interval is wider than the number, with a tooltip that says why", () => {
    expect(isUnreliable(120, { sd: 5.66, lo: 105.5, hi: 134.5 })).toBe(false);
    expect(isUnreliable(10, { sd: 5.66, lo: 0, hi: 24.5 })).toBe(true);
    expect(isUnreliable("F", null)).toBe(false);
    expect(uncertaintyTitle(10, { sd: 5.66, lo: 0, hi: 24.5 })).toMatch(
      /^Unreliable: the 95% interval \(0 to 24\.5\) is wider than the value/,
    );
    expect(uncertaintyTitle(120, { sd: 5.66, lo: 105.5, hi: 134.5 })).toBe(
      "95% interval 105 to 135; noise sd 5.66.",
    );
  });

  it("exports _sd, _lo and _hi columns after each noisy column, empty where there is none", () => {
    expect(resultCsv(result)).toBe(
      [
        "region,count,count_sd,count_lo,count_hi,avg_value,avg_value_sd,avg_value_lo,avg_value_hi",
        '"North, upper",120,5.66,105.5,134.5,7.5,0.2,7.1,7.9',
        "South,10,5.66,0,24.5,,,,",
        "",
      ].join("\n"),
    );
    // Results stored before uncertainty existed export as before.
    const { uncertainty: _, ...old } = result;
    expect(resultCsv(old).split("\n")[0]).toBe("region,count,avg_value");
  });

  it("gives each chart bar its interval as the error bar and marks unreliable bars", () => {
    const { measure, bars } = chartBars(result);
    expect(measure).toBe(1);
    expect(bars).toEqual([
      { label: "North, upper", value: 120, lo: 105.5, hi: 134.5, unreliable: false },
      { label: "South", value: 10, lo: 0, hi: 24.5, unreliable: true },
    ]);
  });
});

describe("where a refusal applies", () => {
  it("reads the engine's '(at line L, column C)' at the end of the message, nothing else", () => {
    expect(refusalPosition("The query could not be parsed. (at line 2, column 16)")).toEqual({
      line: 2,
      column: 16,
    });
    expect(refusalPosition("The query could not be parsed.")).toBeNull();
    expect(refusalPosition("(at line 2, column 16) and more")).toBeNull();
    expect(refusalPosition(null)).toBeNull();
  });
});
