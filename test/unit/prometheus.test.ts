// The Prometheus text rendering, read back by a strict parser of the exposition format (text 0.0.4).
import { describe, expect, it } from "vitest";
import { renderFamilies, renderSnapshot } from "../../src/metrics/prometheus";
import { buildSnapshot, type MinuteRow } from "../../src/metrics/snapshot";
import { zeroCounters } from "../../src/metrics/tally";

type ParsedSample = { name: string; labels: Record<string, string>; value: number };
type ParsedFamily = { name: string; type: string; help: string | null; samples: ParsedSample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseValue(text: string, line: number): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!FLOAT.test(text)) throw new Error(`line ${line}: bad value "${text}"`);
  return Number(text);
}

/** Unescapes a HELP text; only \\ and \n are escapes there. */
function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`line ${line}: bad escape in HELP`);
  });
}

/** Reads `{name="value",...}` from position `at`; answers the labels and where they end. */
function parseLabels(text: string, at: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!nameMatch) throw new Error(`line ${line}: bad label name at ${i}`);
    const name = nameMatch[0];
    if (name.startsWith("__")) throw new Error(`line ${line}: reserved label name ${name}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    i += name.length;
    if (text[i] !== "=" || text[i + 1] !== '"') throw new Error(`line ${line}: expected =" after ${name}`);
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === "\n") throw new Error(`line ${line}: raw newline in label value`);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`line ${line}: bad escape in label value`);
        i += 2;
        continue;
      }
      value += c;
      i += 1;
    }
    labels[name] = value;
    i += 1;
    if (text[i] === ",") i += 1;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } after a label`);
  }
}

/**
 * A strict reader of the text format: every line must be a HELP, a TYPE, a comment or a sample; a
 * family's TYPE and HELP come once and before its samples; a family's samples are one group; no
 * series repeats; the text ends with a newline.
 */
function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  let current: string | null = null;
  const family = (name: string, line: number): ParsedFamily => {
    if (closed.has(name)) throw new Error(`line ${line}: ${name} appears again after another family`);
    if (current !== name && current !== null) closed.add(current);
    current = name;
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!meta) return; // a plain comment
      const [, kind, name, rest = ""] = meta as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      const f = family(name, line);
      if (kind === "HELP") {
        if (f.help !== null) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, line);
      } else {
        if (!TYPES.has(rest)) throw new Error(`line ${line}: bad TYPE ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        if (typed.has(name)) throw new Error(`line ${line}: second TYPE for ${name}`);
        typed.add(name);
        f.type = rest;
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nameMatch) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === "{") ({ labels, end: i } = parseLabels(raw, i, line));
    const rest = raw.slice(i);
    const parts = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    if (!parts) throw new Error(`line ${line}: bad value part "${rest}"`);
    for (const labelName of Object.keys(labels)) {
      if (!LABEL_NAME.test(labelName)) throw new Error(`line ${line}: bad label ${labelName}`);
    }
    const f = family(name, line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seriesSeen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seriesSeen.add(key);
    f.samples.push({ name, labels, value: parseValue(parts[1] as string, line) });
  });
  return families;
}

describe("the strict exposition parser (checked on known-bad input first)", () => {
  const bad = {
    "no final newline": "a 1",
    "bad metric name": "1a 1\n",
    "bad value": "a one\n",
    "unknown escape": 'a{l="x\\t"} 1\n',
    "unterminated label": 'a{l="x} 1\n',
    "duplicate series": 'a{l="x"} 1\na{l="x"} 2\n',
    "split family": "a 1\nb 1\na 2\n",
    "TYPE after samples": "a 1\n# TYPE a gauge\n",
    "bad TYPE": "# TYPE a meter\na 1\n",
    "second TYPE": "# TYPE a gauge\n# TYPE a gauge\na 1\n",
    "second HELP": "# HELP a x\n# HELP a y\na 1\n",
    "reserved label": 'a{__name__="x"} 1\n',
    "duplicate label": 'a{l="x",l="y"} 1\n',
  };
  for (const [what, text] of Object.entries(bad)) {
    it(`refuses ${what}`, () => {
      expect(() => parseExposition(text)).toThrow();
    });
  }
  it("accepts the format's own example shapes", () => {
    const families = parseExposition(
      '# HELP http_requests_total The total.\n# TYPE http_requests_total counter\nhttp_requests_total{method="post",code="200"} 1027 1395066363000\nhttp_requests_total{method="post",code="400",} 3\n# a comment\nmetric_without_labels 12.47\nm_inf +Inf\nm_nan NaN\nm_exp 1.458255915e9\n',
    );
    expect(families.get("http_requests_total")?.samples).toHaveLength(2);
    expect(families.get("m_inf")?.samples[0]?.value).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("Prometheus rendering", () => {
  it("escapes label values and help text so any job type name survives the round trip", () => {
    const odd = 'quote " backslash \\ newline \n end';
    const text = renderFamilies([
      {
        name: "x_total",
        help: "help with \\ and \n newline",
        type: "counter",
        samples: [{ labels: { type: odd }, value: 2 }],
      },
      {
        name: "y",
        help: "values",
        type: "gauge",
        samples: [
          { labels: {}, value: 0.125 },
          { labels: { a: "b" }, value: Number.NaN },
        ],
      },
    ]);
    const families = parseExposition(text);
    expect(families.get("x_total")).toMatchObject({ type: "counter", help: "help with \\ and \n newline" });
    expect(families.get("x_total")?.samples[0]).toEqual({ name: "x_total", labels: { type: odd }, value: 2 });
    expect(families.get("y")?.samples.map((s) => s.value)).toEqual([0.125, Number.NaN]);
  });

  it("refuses an invalid metric or label name rather than print a broken exposition", () => {
    expect(() => renderFamilies([{ name: "bad-name", help: "", type: "gauge", samples: [] }])).toThrow();
    expect(() =>
      renderFamilies([{ name: "ok", help: "", type: "gauge", samples: [{ labels: { "bad-label": "x" }, value: 1 }] }]),
    ).toThrow();
  });

  it("renders a snapshot that parses strictly and carries its numbers", () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 30);
    const minute = Math.floor(now / 60_000);
    const row = (type: string, m: number, counts: Partial<MinuteRow>): MinuteRow => ({
      minute: m,
      type,
      ...zeroCounters(),
      ...counts,
    });
    const snapshot = buildSnapshot({
      now,
      windowMinutes: 15,
      states: [
        { type: "send-email", state: "ready", count: 4, oldestAt: now - 90_000 },
        { type: "send-email", state: "dead", count: 2, oldestAt: null },
        { type: 'we"ird\\type', state: "running", count: 1, oldestAt: null },
        { type: "send-email", state: "waiting", count: 3, oldestAt: null },
      ],
      minutes: [
        row("send-email", minute, {
          started: 10,
          succeeded: 8,
          failed: 1,
          dead: 1,
          buckets: [8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        }),
        row('we"ird\\type', minute - 1, { started: 2, succeeded: 2, buckets: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] }),
      ],
      queue: { messages: 7, oldestAt: now - 5_000 },
    });
    const families = parseExposition(renderSnapshot(snapshot, "acme"));
    const value = (name: string, labels: Record<string, string>) =>
      families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

    for (const f of families.values()) {
      expect(f.type, f.name).toBe(f.name.includes("duration") ? "summary" : "gauge");
      expect(f.help, f.name).not.toBeNull();
    }
    expect(value("edge_jobs_depth", { tenant: "acme" })).toBe(4);
    expect(value("edge_jobs_oldest_age_seconds", { tenant: "acme" })).toBe(90);
    expect(value("edge_jobs_dead", { tenant: "acme" })).toBe(2);
    expect(value("edge_jobs_running", { tenant: "acme" })).toBe(1);
    expect(value("edge_jobs_waiting", { tenant: "acme" })).toBe(3);
    expect(value("edge_jobs_type_waiting", { tenant: "acme", type: "send-email" })).toBe(3);
    expect(value("edge_jobs_type_waiting", { tenant: "acme", type: 'we"ird\\type' })).toBe(0);
    expect(value("edge_jobs_window_events", { tenant: "acme", event: "succeeded" })).toBe(10);
    expect(value("edge_jobs_retry_rate", { tenant: "acme" })).toBe(snapshot.retryRate);
    expect(value("edge_jobs_type_running", { tenant: "acme", type: 'we"ird\\type' })).toBe(1);
    // Durations are in seconds here (Prometheus' base unit), milliseconds in the JSON.
    expect(value("edge_jobs_type_attempt_duration_seconds", { type: "send-email", quantile: "0.5" })).toBe(
      (snapshot.byType["send-email"]?.durationMs.p50 as number) / 1000,
    );
    expect(value("edge_jobs_queue_backlog_messages", {})).toBe(7);
    expect(value("edge_jobs_queue_oldest_age_seconds", {})).toBe(5);
    // Totals and per-type series live in separate families, so sum() over one never double counts.
    expect(families.get("edge_jobs_depth")?.samples.every((s) => !("type" in s.labels))).toBe(true);
  });

  it("leaves out what is unknown: no percentiles without attempts, no queue family without a backlog reading", () => {
    const snapshot = buildSnapshot({ now: 0, windowMinutes: 15, states: [], minutes: [], queue: null });
    const families = parseExposition(renderSnapshot(snapshot, "empty"));
    expect(families.has("edge_jobs_attempt_duration_seconds")).toBe(false);
    expect(families.has("edge_jobs_queue_backlog_messages")).toBe(false);
    expect(families.get("edge_jobs_depth")?.samples).toEqual([
      { name: "edge_jobs_depth", labels: { tenant: "empty" }, value: 0 },
    ]);
  });
});
