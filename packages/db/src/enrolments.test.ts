import { describe, expect, it } from "vitest";
import { ordinalsOf, toPersonOrdinals } from "./enrolments";

describe("person ordinals", () => {
  const rows = [
    { personId: 2n ** 40n + 3n, ordinal: 1 },
    { personId: 5n, ordinal: 2 },
    { personId: -(2n ** 62n), ordinal: 4 },
    { personId: 6, ordinal: 3 },
  ];

  it("sorts rows by person id, each keeping its ordinal, whatever order they come in", () => {
    const expected = {
      personIds: BigInt64Array.from([-(2n ** 62n), 5n, 6n, 2n ** 40n + 3n]),
      ordinals: Uint32Array.from([4, 2, 3, 1]),
    };
    expect(toPersonOrdinals(rows)).toEqual(expected);
    const ascending = [rows[2], rows[1], rows[3], rows[0]] as typeof rows;
    expect(toPersonOrdinals(ascending)).toEqual(expected);
    expect(toPersonOrdinals([])).toEqual({
      personIds: new BigInt64Array(0),
      ordinals: new Uint32Array(0),
    });
  });

  it("maps person ids to ordinals in the order asked, refusing a person it does not know", () => {
    const known = toPersonOrdinals(rows);
    expect([...ordinalsOf(known, [6n, 2n ** 40n + 3n, -(2n ** 62n)])]).toEqual([3, 1, 4]);
    expect(() => ordinalsOf(known, [5n, 7n])).toThrow(/no ordinal/);
    expect([...ordinalsOf(known, [5n, 7n, 6n], "skip")]).toEqual([2, 3]);
  });
});
