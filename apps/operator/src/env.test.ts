import { describe, expect, it } from "vitest";
import { loadOperatorEnv } from "./env";

const base = { DATABASE_URL: "file:/tmp/oc-operator-env-test.db" };

describe("the operator's environment", () => {
  it("closes epochs every 300 s and waits up to 60 s for running queries by default", () => {
    const env = loadOperatorEnv(base);
    expect(env.epochSeconds).toBe(300);
    expect(env.epochSettleSeconds).toBe(60);
    expect(env.pollIntervalMs).toBe(1_000);
    expect(env.healthPort).toBeNull();
    expect(env.log).toEqual({ format: "human", level: "info" });
  });

  it("serves health on OPERATOR_HEALTH_PORT and logs JSON with LOG_FORMAT=json", () => {
    const env = loadOperatorEnv({ ...base, OPERATOR_HEALTH_PORT: "9464", LOG_FORMAT: "json" });
    expect(env.healthPort).toBe(9464);
    expect(env.log.format).toBe("json");
    expect(() => loadOperatorEnv({ ...base, OPERATOR_HEALTH_PORT: "70000" })).toThrow(
      /OPERATOR_HEALTH_PORT must be between 1 and 65535/,
    );
    expect(() => loadOperatorEnv({ ...base, OPERATOR_HEALTH_PORT: "web" })).toThrow(
      /OPERATOR_HEALTH_PORT must be a port number/,
    );
    expect(() => loadOperatorEnv({ ...base, LOG_FORMAT: "yaml" })).toThrow(
      /LOG_FORMAT must be human or json/,
    );
  });

  it("takes shorter epochs for the dev stack", () => {
    const env = loadOperatorEnv({
      ...base,
      OPERATOR_EPOCH_SECONDS: "5",
      OPERATOR_EPOCH_SETTLE_SECONDS: "0",
    });
    expect(env.epochSeconds).toBe(5);
    expect(env.epochSettleSeconds).toBe(0);
  });

  it("names the variable when a value is unusable", () => {
    expect(() => loadOperatorEnv({ ...base, OPERATOR_EPOCH_SECONDS: "0" })).toThrow(
      /OPERATOR_EPOCH_SECONDS must be at least 1/,
    );
    expect(() => loadOperatorEnv({ ...base, OPERATOR_EPOCH_SECONDS: "often" })).toThrow(
      /OPERATOR_EPOCH_SECONDS must be a number of seconds/,
    );
    expect(() => loadOperatorEnv({ ...base, OPERATOR_EPOCH_SETTLE_SECONDS: "-1" })).toThrow(
      /OPERATOR_EPOCH_SETTLE_SECONDS must not be negative/,
    );
  });
});
