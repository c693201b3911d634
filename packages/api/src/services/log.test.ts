import { createLogger } from "@opencohort/log";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { RuleError } from "../trpc";
import { computeEngineLogger, logProcedureError, ReferencedFailure } from "./log";
import { refusal } from "./refusal";

function jsonLogger(level: "info" | "debug" = "info") {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: "web",
    format: "json",
    level,
    sink: { write: (line) => void records.push(JSON.parse(line)) },
  });
  return { logger, records };
}

describe("the API's log", () => {
  it("logs a refusal with its rule and code, not its message", () => {
    const { logger, records } = jsonLogger();
    logProcedureError(logger, {
      procedure: "query.submit",
      error: refusal("FORBIDDEN", "privacy-budget", "Your budget on dataset 0xabc is spent."),
    });
    expect(records).toEqual([
      expect.objectContaining({
        level: "info",
        name: "web",
        msg: "request refused",
        event: "refused",
        procedure: "query.submit",
        code: "FORBIDDEN",
        rule: "privacy-budget",
      }),
    ]);
    expect(JSON.stringify(records)).not.toContain("0xabc");
  });

  it("logs answers without a rule (sign in first, not found) at debug only", () => {
    const unauthorized = new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first." });
    const quiet = jsonLogger();
    logProcedureError(quiet.logger, { procedure: "query.budget", error: unauthorized });
    expect(quiet.records).toEqual([]);
    const verbose = jsonLogger("debug");
    logProcedureError(verbose.logger, { procedure: "query.budget", error: unauthorized });
    expect(verbose.records).toEqual([
      expect.objectContaining({ level: "debug", procedure: "query.budget", code: "UNAUTHORIZED" }),
    ]);
  });

  it("logs an unexpected error by class, code and frames, never its message", () => {
    const { logger, records } = jsonLogger();
    const prisma = Object.assign(
      new Error('Invalid `prisma.query.update()`: sql "SELECT name FROM person" value Maria'),
      { code: "P2002" },
    );
    logProcedureError(logger, {
      procedure: "dataset.list",
      error: new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: prisma }),
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: "error",
      event: "failed",
      procedure: "dataset.list",
      error: { type: "Error", code: "P2002" },
    });
    expect(JSON.stringify(records)).not.toMatch(/SELECT|Maria/);
  });

  it("logs a failure the researcher was told about by its reference id", () => {
    const { logger, records } = jsonLogger();
    logProcedureError(logger, {
      procedure: "dataset.feasibility",
      error: new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        message: "The feasibility count failed (reference ref-42).",
        cause: new ReferencedFailure("ref-42"),
      }),
    });
    expect(records[0]).toMatchObject({ level: "error", referenceId: "ref-42" });
    expect(records[0]).not.toHaveProperty("error");
  });

  it("keeps the compute engine's reference id and DuckDB's error class, not its message", () => {
    const { logger, records } = jsonLogger();
    const compute = computeEngineLogger(logger);
    compute.error("compute query failed", {
      referenceId: "ref-7",
      stage: "run",
      kind: "failed",
      detail: "Conversion Error: Could not convert string 'Jonas Berg' to INT32",
    });
    compute.warn("groups outside the declared domains were left out", { referenceId: "ref-8" });
    expect(records[0]).toMatchObject({
      level: "error",
      component: "compute",
      referenceId: "ref-7",
      stage: "run",
      detailType: "Conversion Error",
    });
    expect(records[1]).toMatchObject({ level: "warn", referenceId: "ref-8" });
    expect(JSON.stringify(records)).not.toContain("Jonas");
  });

  it("treats a rule refusal without a TRPCError around it as unexpected", () => {
    const { logger, records } = jsonLogger();
    logProcedureError(logger, { procedure: "x", error: new RuleError("r", "message") });
    expect(records[0]).toMatchObject({ level: "error", error: { type: "RuleError" } });
  });
});
