import { describe, expect, it } from "vitest";
import { createLogger, describeError, loadLogEnv } from "./index";

function collect() {
  const lines: string[] = [];
  return { lines, sink: { write: (line: string) => void lines.push(line) } };
}

describe("the logger", () => {
  it("writes one JSON object per line with LOG_FORMAT=json", () => {
    const { lines, sink } = collect();
    const logger = createLogger({ name: "operator", format: "json", sink });
    logger.info({ epoch: 3 }, "epoch closed");
    logger.debug("not at the default level");
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? "");
    expect(record).toMatchObject({
      name: "operator",
      level: "info",
      msg: "epoch closed",
      epoch: 3,
    });
    expect(new Date(record.time).toISOString()).toBe(record.time);
  });

  it("writes the familiar `name: message` lines by default, extra fields after", () => {
    const { lines, sink } = collect();
    const logger = createLogger({ name: "operator", format: "human", sink });
    logger.info("stopped");
    logger.error({ rule: "query-failed", referenceId: "r-1" }, "unexpected error");
    expect(lines).toEqual([
      "operator: stopped\n",
      "operator: unexpected error rule=query-failed referenceId=r-1\n",
    ]);
  });

  it("reads LOG_FORMAT and LOG_LEVEL, naming a bad value", () => {
    expect(loadLogEnv({})).toEqual({ format: "human", level: "info" });
    expect(loadLogEnv({ LOG_FORMAT: "json", LOG_LEVEL: "debug" })).toEqual({
      format: "json",
      level: "debug",
    });
    expect(() => loadLogEnv({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT must be human or json/);
    expect(() => loadLogEnv({ LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL must be/);
  });
});

describe("describeError", () => {
  it("keeps the class, code and frames of an error, never its message", () => {
    const cast = new Error("Conversion Error: Could not convert string 'Maria Smith' to INT32");
    const described = describeError(cast);
    expect(described.type).toBe("Error");
    expect(described.code).toBe("Conversion Error");
    expect(described.frames?.[0]).toMatch(/^at /);
    expect(JSON.stringify(described)).not.toContain("Maria");

    const prisma = Object.assign(new Error("Unique constraint failed on SELECT secret"), {
      code: "P2002",
    });
    expect(describeError(prisma)).toMatchObject({ type: "Error", code: "P2002" });
    expect(JSON.stringify(describeError(prisma))).not.toContain("secret");
    expect(describeError("a string")).toEqual({ type: "string" });
  });
});
