// The job page's step timeline, rendered to HTML: what a parked workflow waits for, each step's row, child links.
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { StepTimeline, type StepView } from "../../src/dashboard/pages/job-steps";

const NOW = Date.parse("2026-12-02T06:00:00.000Z");
const at = (ms: number) => new Date(NOW + ms).toISOString();

const job = (waitingFor: Job["waitingFor"]) =>
  ({ id: "job_01", type: "t", status: waitingFor ? "waiting" : "succeeded", waitingFor }) as Job;

const render = (j: Job, steps: StepView[]) => String(StepTimeline({ job: j, steps, now: NOW }) ?? "");

describe("the step timeline", () => {
  it("is left out for a plain job", () => {
    expect(render(job(null), [])).toBe("");
  });

  it("lists the steps in order with kind, status, duration, result excerpt, error and child link", () => {
    const long = { text: "x".repeat(500) };
    const html = render(job({ kind: "invoke", jobIds: ["job_child1", "job_child2"] }), [
      {
        name: "load",
        kind: "run",
        status: "succeeded",
        result: long,
        error: null,
        startedAt: at(-5000),
        finishedAt: at(-4750),
      },
      {
        name: "charge",
        kind: "invoke",
        status: "failed",
        result: null,
        error: { message: "card declined", name: "ChildJobFailedError", childStatus: "dead" },
        startedAt: at(-4000),
        finishedAt: at(-1000),
        childId: "job_child0",
      },
      {
        name: "ship",
        kind: "invoke",
        status: "waiting",
        error: null,
        startedAt: at(-500),
        finishedAt: null,
        childId: "job_child1",
      },
    ]);
    const rows = html.split('<tr data-step="').slice(1);
    expect(rows.map((r) => r.slice(0, r.indexOf('"')))).toEqual(["load", "charge", "ship"]);
    expect(rows[0]).toContain("250 ms");
    expect(rows[0]).toContain("status-succeeded");
    // A result is cut to an excerpt; the whole of it is never put in the table.
    expect(rows[0]).toContain("…");
    expect(rows[0]).not.toContain("x".repeat(200));
    expect(rows[1]).toContain("ChildJobFailedError: card declined");
    expect(rows[1]).toContain('href="/dashboard/jobs/job_child0"');
    expect(rows[1]).toContain("3.00 s");
    expect(rows[2]).toContain("status-waiting");
    expect(rows[2]).toContain('href="/dashboard/jobs/job_child1"');
    expect(html).toContain('data-testid="waiting-for"');
    expect(html).toContain("2 child jobs");
    expect(html).toContain('href="/dashboard/jobs/job_child2"');
  });

  it("says what a parked job waits for: an event with or without a key, a sleep", () => {
    const keyed = render(job({ kind: "event", event: "payment.captured", key: "o-1", until: at(3_600_000) }), []);
    expect(keyed).toContain("payment.captured");
    expect(keyed).toContain("o-1");
    expect(keyed).toContain("in 1h 0m");
    expect(keyed).toContain("No step recorded yet.");
    expect(render(job({ kind: "event", event: "e", until: at(60_000) }), [])).toContain("(any key)");
    expect(render(job({ kind: "sleep", until: at(90_000) }), [])).toContain("wakes <span");
  });

  it("escapes step names, results and errors", () => {
    const html = render(job(null), [
      {
        name: "<b>x</b>",
        kind: "run",
        status: "failed",
        result: null,
        error: { message: "<script>alert(1)</script>", name: "Error" },
        startedAt: at(0),
        finishedAt: at(1),
      },
    ]);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain("&lt;script&gt;");
  });
});
