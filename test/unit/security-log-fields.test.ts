// The logger never lets job metadata or a later field forge what Edge Jobs itself writes in a line.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, SYSTEM_LOG_FIELDS, safeMetadata } from "../../src/core/logger";

type Line = Record<string, unknown>;

function capture(): Line[] {
  const lines: Line[] = [];
  const keep = (text: unknown) => lines.push(JSON.parse(String(text)) as Line);
  vi.spyOn(console, "log").mockImplementation(keep);
  vi.spyOn(console, "error").mockImplementation(keep);
  return lines;
}

afterEach(() => vi.restoreAllMocks());

const FORGED = {
  tenant: "victim",
  level: "error",
  msg: "forged",
  time: "1970-01-01T00:00:00.000Z",
  jobId: "job_forged",
  type: "forged-type",
  attempt: "99",
  status: "succeeded",
  orderId: "o-1",
};

describe("job metadata in log lines", () => {
  it("stays below every field the code writes, and reserved names are renamed", () => {
    const lines = capture();
    const job = createLogger({ requestId: "req_1" })
      .child({ jobId: "job_real", type: "send", tenant: "acme", attempt: 1 })
      .withMetadata(FORGED);
    job.info("job started", { status: "running" });
    job.warn("job failed; retrying");

    expect(lines).toHaveLength(2);
    const [started, failed] = lines as [Line, Line];
    expect(started).toMatchObject({
      level: "info",
      msg: "job started",
      jobId: "job_real",
      type: "send",
      tenant: "acme",
      attempt: 1,
      status: "running",
      requestId: "req_1",
      orderId: "o-1",
      "metadata.tenant": "victim",
      "metadata.level": "error",
      "metadata.status": "succeeded",
    });
    expect(started.time).not.toBe(FORGED.time);
    // A line without a status of its own still shows no forged one.
    expect(failed.level).toBe("warn");
    expect(failed.status).toBeUndefined();
    expect(failed["metadata.status"]).toBe("succeeded");
  });

  it("safeMetadata renames exactly the reserved keys", () => {
    const renamed = safeMetadata(Object.fromEntries(SYSTEM_LOG_FIELDS.map((k) => [k, "x"])));
    expect(Object.keys(renamed).sort()).toEqual(SYSTEM_LOG_FIELDS.map((k) => `metadata.${k}`).sort());
    expect(safeMetadata({ orderId: "o", "metadata.tenant": "t" })).toEqual({
      orderId: "o",
      "metadata.metadata.tenant": "t",
    });
  });
});

describe("fields passed by callers", () => {
  it("cannot change a line's level, message or time", () => {
    const lines = capture();
    createLogger().info("real", { level: "error", msg: "forged", time: FORGED.time });
    expect(lines[0]).toMatchObject({ level: "info", msg: "real" });
    expect(lines[0]?.time).not.toBe(FORGED.time);
    expect(Object.keys(lines[0] ?? {}).slice(0, 3)).toEqual(["level", "msg", "time"]);
  });

  it("cannot change a child's identity fields, but may add them and set a status", () => {
    const lines = capture();
    const requestLog = createLogger({ requestId: "req_1" }).child({ tenant: "acme" });
    requestLog.info("job enqueued", { tenant: "victim", jobId: "job_1", type: "send", status: "queued" });
    requestLog.child({ tenant: "victim", requestId: "req_2" }).error("boom", { status: "dead" });
    expect(lines[0]).toMatchObject({ tenant: "acme", jobId: "job_1", type: "send", status: "queued" });
    expect(lines[1]).toMatchObject({ level: "error", tenant: "acme", requestId: "req_1", status: "dead" });
  });
});
