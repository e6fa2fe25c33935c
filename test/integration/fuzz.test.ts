import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterD1 } from "../../src/metering/d1";
import { ADMIN_TOKEN, call, enqueue, newTenant } from "../fixtures/api";
import worker from "../fixtures/worker";

type Probe = { method: string; path: string; body?: string; headers?: Record<string, string>; token?: string };

/** Values that break naive validation: wrong types, extremes, odd unicode, deep nesting. */
const NASTY: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  -1e308,
  1e308,
  2 ** 53 + 1,
  "",
  " ",
  "x".repeat(20_000),
  "\u0000",
  "\ud800",
  "😀".repeat(500),
  "Ω≈ç√∫˜µ≤≥÷",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  [],
  [1, "a", null],
  {},
  { $gt: "" },
  nest(60),
];

function nest(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** Valid bodies per route; the fuzzer replaces one field at a time with each nasty value. */
const BASES: [string, Record<string, unknown>][] = Object.entries({
  "POST /v1/jobs": {
    type: "test-echo",
    payload: { value: 1 },
    delaySeconds: 3600,
    maxAttempts: 3,
    timeoutSeconds: 10,
    idempotencyKey: "k",
    backoff: { type: "fixed", delaySeconds: 1 },
    flow: { key: "f", concurrency: 2 },
    callbackUrl: "http://127.0.0.1:9/cb",
    metadata: { orderId: "o" },
  },
  "POST /v1/jobs/batch": { jobs: [{ type: "test-echo", payload: {}, delaySeconds: 3600 }] },
  "POST /v1/dead/retry": { type: "test-echo", ids: ["job_01M8FKYR0H4Y0BFSWRX1N0EJM3"] },
  "POST /v1/schedules": {
    name: "nightly",
    cron: "0 3 * * *",
    timezone: "Europe/Berlin",
    type: "test-echo",
    payload: {},
  },
  "PATCH /v1/schedules/{id}": { cron: "*/5 * * * *", enabled: false, timezone: "UTC" },
  "POST /v1/keys": { tenant: "fuzz", name: "k" },
});
BASES.push([
  "POST /v1/jobs",
  {
    type: "http",
    // Loopback discard port and a long delay: a fuzz input that is accepted never runs during the test.
    payload: { url: "http://127.0.0.1:9/hook", method: "POST", headers: { "x-a": "b" }, body: "x", timeoutSeconds: 5 },
    delaySeconds: 3600,
  },
]);

const RAW_BODIES = [
  "",
  "{",
  "null",
  "[]",
  "123",
  '"text"',
  '{"type":',
  "\ufeff{}",
  '{"type":"test-echo","type":"nope"}',
  `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
  `{"payload":${'{"a":'.repeat(3_000)}1${"}".repeat(3_000)}}`,
  "x".repeat(300_000),
];

const BAD_FIELD_VALUES: Record<string, unknown[]> = {
  cron: ["61 * * * *", "* * *", "@every 5s", "* * * * * * *", "0 0 30 2 *", "a b c d e"],
  timezone: ["Mars/Olympus", "UTC+25", "europe/berlin ", "../UTC"],
  callbackUrl: ["ftp://127.0.0.1", "javascript:alert(1)", "http://user:pass@127.0.0.1/", "https://"],
  runAt: ["yesterday", "2020-13-45T99:99:99Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"],
};

const HTTP_TARGETS = [
  "ftp://127.0.0.1/",
  "file:///etc/passwd",
  "http://user:pw@127.0.0.1/",
  "not a url",
  "http://",
  "https://127.0.0.1:99999/",
];

/** Every field of a body, nested ones included (array items by index). */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== "object" || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return [...(prefix.length > 0 ? [prefix] : []), ...entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]))];
}

function replaceAt(value: unknown, path: string[], replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value)) return value.map((v, i) => (String(i) === head ? replaceAt(v, rest, replacement) : v));
  const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  return { ...record, [head]: replaceAt(record[head], rest, replacement) };
}

function probes(key: string, jobId: string, scheduleId: string): Probe[] {
  const list: Probe[] = [];
  const pathOf = (route: string) => route.split(" ")[1]?.replace("{id}", scheduleId) ?? "/";
  for (const [route, base] of BASES) {
    const method = route.split(" ")[0] ?? "POST";
    const path = pathOf(route);
    const token = path.startsWith("/v1/keys") ? ADMIN_TOKEN : key;
    for (const raw of RAW_BODIES) list.push({ method, path, token, body: raw });
    for (const fieldPath of leafPaths(base)) {
      const field = fieldPath[fieldPath.length - 1] ?? "";
      for (const value of [...NASTY, ...(BAD_FIELD_VALUES[field] ?? [])]) {
        list.push({ method, path, token, body: JSON.stringify(replaceAt(base, fieldPath, value)) });
      }
    }
    list.push({ method, path, token, body: JSON.stringify({ ...base, unexpected: 1 }) });
  }
  for (const url of HTTP_TARGETS) {
    list.push({
      method: "POST",
      path: "/v1/jobs",
      token: key,
      body: JSON.stringify({ type: "http", payload: { url } }),
    });
  }
  const oddIds = ["%00", "..%2F..%2Fkeys", "x".repeat(5_000), "%F0%9F%98%80", "job_' OR 1=1", jobId.toLowerCase()];
  for (const id of oddIds) {
    for (const [method, suffix] of [
      ["GET", ""],
      ["POST", "/cancel"],
      ["POST", "/retry"],
      ["DELETE", ""],
    ] as const) {
      list.push({ method, path: `/v1/jobs/${id}${suffix}`, token: key });
    }
    list.push({ method: "GET", path: `/v1/schedules/${id}`, token: key });
    list.push({ method: "GET", path: `/v1/flows/${id}`, token: key });
  }
  const queries = [
    "limit=-1",
    "limit=1e9",
    "limit=NaN",
    "status=%00",
    "status=SUCCEEDED",
    "cursor=job_%27",
    `type=${"t".repeat(5_000)}`,
    "limit=10&limit=20",
  ];
  for (const q of queries) {
    for (const path of ["/v1/jobs", "/v1/dead", "/v1/schedules"])
      list.push({ method: "GET", path: `${path}?${q}`, token: key });
  }
  const abusiveHeaders: Record<string, string>[] = [
    { "content-type": "text/plain" },
    { "content-type": "application/json; charset=utf-16" },
    { "idempotency-key": "k".repeat(201) },
    { "idempotency-key": "" },
    { "x-padding": "p".repeat(16_000) },
  ];
  for (const headers of abusiveHeaders) {
    list.push({
      method: "POST",
      path: "/v1/jobs",
      token: key,
      headers,
      body: JSON.stringify({ type: "test-echo", idempotencyKey: "other", delaySeconds: 3600 }),
    });
  }
  return list;
}

describe("fuzzing every route", () => {
  it("never answers 5xx, always in the error shape, and a rejected request writes no row", async () => {
    const { key } = await newTenant("fuzz");
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const schedule = await call<{ id: string }>("POST", "/v1/schedules", {
      token: key,
      body: { name: "fuzz-target", cron: "0 3 * * *", type: "test-echo" },
    });
    const all = probes(key, job.id, schedule.body.id);
    expect(all.length).toBeGreaterThanOrEqual(1_000);

    const statuses: Record<string, number> = {};
    for (const probe of all) {
      const { d1, usage } = meterD1(env.DB);
      const headers: Record<string, string> = { "content-type": "application/json", ...probe.headers };
      if (probe.token) headers.authorization = `Bearer ${probe.token}`;
      const res = await worker.fetch(
        new Request(`http://fuzz.test${probe.path}`, { method: probe.method, headers, body: probe.body }),
        { ...env, DB: d1 },
        createExecutionContext(),
      );
      const where = `${probe.method} ${probe.path} ${probe.body?.slice(0, 120)}`;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      expect(res.status, where).toBeLessThan(500);
      if (res.status >= 400) {
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(typeof body.error.code, where).toBe("string");
        expect(typeof body.error.message, where).toBe("string");
        expect(usage.rowsWritten, where).toBe(0);
      } else {
        await res.arrayBuffer();
      }
    }
    console.info(JSON.stringify({ fuzzRequests: all.length, statuses }));
  });
});
