import { describe, expect, it } from "vitest";
import { configOf, DEFAULT_PAYLOAD_LIMIT_BYTES, parseConfig } from "../../src/core/config";

describe("config parsed from Env vars", () => {
  it("reads every var the deployment sets", () => {
    expect(
      parseConfig({
        PAYLOAD_LIMIT_BYTES: "1024",
        ALLOW_PRIVATE_TARGETS: "true",
        OUTBOX_GRACE_SECONDS: "60",
        RETENTION_DAYS: "2",
        DEAD_RETENTION_DAYS: "15",
        LOG_LEVEL: "warn",
        LANES: "default, critical,bulk",
        JOBS_DBS: "DB,JOBS_DB_1",
      }),
    ).toEqual({
      payloadLimitBytes: 1024,
      allowPrivateTargets: true,
      outboxGraceMs: 60_000,
      retentionDays: { finished: 2, dead: 15 },
      logLevel: "warn",
      lanes: ["default", "critical", "bulk"],
      shards: ["DB", "JOBS_DB_1"],
    });
  });

  it("falls back to the defaults for unset, empty or unusable values; only the exact string true allows private targets", () => {
    const config = parseConfig({ PAYLOAD_LIMIT_BYTES: "", ALLOW_PRIVATE_TARGETS: "TRUE", RETENTION_DAYS: "-3" });
    expect(config).toEqual({
      payloadLimitBytes: DEFAULT_PAYLOAD_LIMIT_BYTES,
      allowPrivateTargets: false,
      outboxGraceMs: 300_000,
      retentionDays: { finished: 7, dead: 30 },
      logLevel: undefined,
      lanes: ["default"],
      shards: ["DB"],
    });
  });

  it("parses one Env object once, and another Env object on its own", () => {
    const env = { PAYLOAD_LIMIT_BYTES: "2048" };
    expect(configOf(env)).toBe(configOf(env));
    expect(configOf({ ...env, PAYLOAD_LIMIT_BYTES: "4096" }).payloadLimitBytes).toBe(4096);
  });
});
