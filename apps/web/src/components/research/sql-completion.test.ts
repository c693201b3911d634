import { describe, expect, it } from "vitest";
import { ALLOWED_FUNCTIONS, completionOptions } from "./sql-completion";

describe("SQL editor completion", () => {
  const tables = [
    {
      name: "person",
      columns: [
        { name: "person_id", type: "BIGINT" },
        { name: "sex", type: "VARCHAR" },
      ],
    },
    {
      name: "measurement",
      columns: [
        { name: "person_id", type: "BIGINT" },
        { name: "value_as_number", type: "DOUBLE" },
      ],
    },
  ];

  it("offers the dataset's tables, each column once with its tables, and the allowed functions", () => {
    const options = completionOptions(tables);
    expect(options.filter((o) => o.type === "type").map((o) => o.label)).toEqual([
      "person",
      "measurement",
    ]);
    const columns = options.filter((o) => o.type === "property");
    expect(columns.map((o) => o.label)).toEqual(["person_id", "sex", "value_as_number"]);
    expect(columns[0]?.detail).toBe("BIGINT · person, measurement");
    expect(options.filter((o) => o.type === "function").map((o) => o.label)).toEqual(
      ALLOWED_FUNCTIONS.map((f) => f.name),
    );
    expect(options.find((o) => o.label === "age_band")?.apply).toBe("age_band(");
  });
});
