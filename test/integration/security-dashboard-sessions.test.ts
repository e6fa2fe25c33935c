// Dashboard sessions: the cookie holds a random id (stored hashed, with an expiry), never the key; sign-out and key revocation end it.
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client";
import { pruneExpiredSessions } from "../../src/db/sessions";
import { meterD1 } from "../../src/metering/d1";
import { ADMIN_TOKEN, call, enqueue, newTenant } from "../fixtures/api";
import worker from "../fixtures/worker";

const ORIGIN = "http://edge-jobs.test";
type SessionRow = { id_hash: string; tenant_id: string; key_id: string; created_at: number; expires_at: number };

const page = (path: string, cookie: string) =>
  exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { cookie }, redirect: "manual" }));

async function signIn(key: string): Promise<{ cookie: string; id: string }> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/dashboard/login`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key }),
      redirect: "manual",
    }),
  );
  expect(res.status).toBe(303);
  const setCookie = res.headers.get("set-cookie") ?? "";
  const id = /edge_jobs_session=([^;]*)/.exec(setCookie)?.[1] ?? "";
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/Secure/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  return { cookie: `edge_jobs_session=${id}`, id };
}

async function csrfOf(cookie: string): Promise<string> {
  const html = await (await page("/dashboard", cookie)).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  expect(token).toBeTruthy();
  return token ?? "";
}

async function post(path: string, cookie: string, form: Record<string, string>) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { origin: ORIGIN, cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
      redirect: "manual",
    }),
  );
}

async function sessionsOf(keyId: string): Promise<SessionRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM dashboard_sessions WHERE key_id = ?").bind(keyId).all();
  return results as SessionRow[];
}

/** A signed-in page answers 200; a dead session is sent to the sign-in page. */
async function signedIn(cookie: string): Promise<boolean> {
  const res = await page("/dashboard/jobs", cookie);
  if (res.status === 303) {
    expect(res.headers.get("location")).toBe("/dashboard/login");
    return false;
  }
  expect(res.status).toBe(200);
  return true;
}

describe("dashboard sessions", () => {
  it("the cookie holds a random session id, not the key; D1 keeps only its hash, with an expiry", async () => {
    const { tenant, key, keyId } = await newTenant("dash");
    const before = Date.now();
    const { cookie, id } = await signIn(key);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id.includes(key) || key.includes(id)).toBe(false);
    const rows = await sessionsOf(keyId);
    expect(rows).toHaveLength(1);
    const [row] = rows as [SessionRow];
    expect(row.tenant_id).toBe(tenant);
    expect(row.id_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.id_hash.includes(id)).toBe(false);
    expect(row.expires_at - row.created_at).toBe(8 * 3600 * 1000);
    expect(row.created_at).toBeGreaterThanOrEqual(before);

    // Pages and actions work through the session alone: the dashboard calls the API as the tenant.
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const list = await page("/dashboard/jobs", cookie);
    expect(await list.text()).toContain(job.id);
    const cancel = await post(`/dashboard/jobs/${job.id}/cancel`, cookie, { _csrf: await csrfOf(cookie) });
    expect(cancel.status).toBe(303);
    expect((await call<{ status: string }>("GET", `/v1/jobs/${job.id}`, { token: key })).body.status).toBe("cancelled");
    // Two sign-ins are two sessions, each with its own CSRF token.
    const second = await signIn(key);
    expect(second.id).not.toBe(id);
    expect(await csrfOf(second.cookie)).not.toBe(await csrfOf(cookie));
    const stale = await post(`/dashboard/jobs/${job.id}/retry`, second.cookie, { _csrf: await csrfOf(cookie) });
    expect(stale.status).toBe(403);
  });

  it("sign-out revokes the session: the same cookie replayed afterwards is refused", async () => {
    const { key, keyId } = await newTenant("dash");
    const { cookie } = await signIn(key);
    const other = await signIn(key);
    expect(await signedIn(cookie)).toBe(true);
    const out = await post("/dashboard/logout", cookie, { _csrf: await csrfOf(cookie) });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/edge_jobs_session=;/);
    expect(await signedIn(cookie)).toBe(false);
    expect((await post("/dashboard/dead/retry-all", cookie, { _csrf: "x" })).status).toBe(401);
    // Only that session ended.
    expect(await signedIn(other.cookie)).toBe(true);
    expect(await sessionsOf(keyId)).toHaveLength(1);
  });

  it("revoking the API key ends every session signed in with it", async () => {
    const { key, keyId } = await newTenant("dash");
    const bystander = await newTenant("dash");
    const sessions = [await signIn(key), await signIn(key)];
    const kept = await signIn(bystander.key);
    expect(await sessionsOf(keyId)).toHaveLength(2);
    expect((await call("DELETE", `/v1/keys/${keyId}`, { token: ADMIN_TOKEN })).status).toBe(204);
    expect(await sessionsOf(keyId)).toHaveLength(0);
    for (const { cookie } of sessions) expect(await signedIn(cookie)).toBe(false);
    expect(await signedIn(kept.cookie)).toBe(true);
  });

  it("refuses a session whose key is gone even if its row remains, and an expired one", async () => {
    const gone = await newTenant("dash");
    const { cookie } = await signIn(gone.key);
    await env.DB.prepare("DELETE FROM api_keys WHERE id = ?").bind(gone.keyId).run();
    expect(await signedIn(cookie)).toBe(false);

    const old = await newTenant("dash");
    const expiring = await signIn(old.key);
    expect(await signedIn(expiring.cookie)).toBe(true);
    await env.DB.prepare("UPDATE dashboard_sessions SET expires_at = ? WHERE key_id = ?")
      .bind(Date.now() - 1, old.keyId)
      .run();
    expect(await signedIn(expiring.cookie)).toBe(false);
    // Signing in again drops the expired row.
    await signIn(old.key);
    expect(await sessionsOf(old.keyId)).toHaveLength(1);
  });

  it("housekeeping prunes expired sessions in bounded steps and keeps live ones", async () => {
    const { key, keyId } = await newTenant("dash");
    const live = await signIn(key);
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO dashboard_sessions (id_hash, tenant_id, key_id, created_at, expires_at) VALUES (?, 'x', ?, ?, ?)",
    );
    await env.DB.batch(
      Array.from({ length: 7 }, (_, i) => insert.bind(`expired-${keyId}-${i}`, keyId, now - 10_000, now - 1)),
    );
    const db = openDb(env.DB);
    expect(await pruneExpiredSessions(db, now, 5)).toBe(5);
    expect(await pruneExpiredSessions(db, now, 5)).toBeGreaterThanOrEqual(2);
    expect(await sessionsOf(keyId)).toHaveLength(1);
    expect(await signedIn(live.cookie)).toBe(true);
  });

  it("costs: a sign-in writes the session row and its index entries; a page view writes nothing", async () => {
    const { key } = await newTenant("dash");
    const metered = async (request: Parameters<typeof worker.fetch>[0]) => {
      const { d1, usage } = meterD1(env.DB);
      const res = await worker.fetch(request, { ...env, DB: d1 }, createExecutionContext());
      await res.arrayBuffer();
      return { res, usage };
    };
    const login = await metered(
      new Request(`${ORIGIN}/dashboard/login`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ key }),
        redirect: "manual",
      }),
    );
    expect(login.res.status).toBe(303);
    expect(login.usage.rowsWritten).toBe(3);
    const cookie = (login.res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const view = await metered(new Request(`${ORIGIN}/dashboard/jobs`, { headers: { cookie } }));
    expect(view.res.status).toBe(200);
    expect(view.usage.rowsWritten).toBe(0);
    console.info(JSON.stringify({ signInRowsWritten: login.usage.rowsWritten, pageStatements: view.usage.statements }));
  });

  it("the old cookie format (nonce.key) and a session cookie on /v1 authenticate nothing", async () => {
    const { key } = await newTenant("dash");
    const legacy = `edge_jobs_session=${"a".repeat(32)}.${key}`;
    expect(await signedIn(legacy)).toBe(false);
    const { cookie } = await signIn(key);
    const api = await call<{ error: { code: string } }>("GET", "/v1/jobs", { headers: { cookie } });
    expect(api.status).toBe(401);
  });
});
