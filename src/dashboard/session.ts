// Dashboard sign-in: a random session id (stored hashed in D1, with an expiry) in a Secure, HttpOnly, SameSite=Strict cookie; every form carries a per-session CSRF token.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { findKeyByHash } from "../db/api-keys";
import { deleteSession, findLiveSession, insertSession } from "../db/sessions";
import type { AppEnv } from "../http/app-env";
import { sha256Hex } from "../http/auth";
import { enterTenantShard } from "../http/tenant-shard";

export const SESSION_COOKIE = "edge_jobs_session";
const FLASH_COOKIE = "edge_jobs_flash";
/** The cookie only travels to dashboard pages, never to /v1 (where a key must come as a header). */
const COOKIE_PATH = "/dashboard";
export const SESSION_SECONDS = 8 * 3600;
const KEY = /^[\x21-\x7e]{1,512}$/;
/** 32 random bytes, base64url: what the cookie holds. Only its SHA-256 is stored. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export type Session = { tenant: string; keyId: string; csrf: string };

export type DashboardEnv = AppEnv & { Variables: AppEnv["Variables"] & { session: Session } };

const cookieOptions = {
  path: COOKIE_PATH,
  secure: true,
  httpOnly: true,
  sameSite: "Strict",
} as const;

/** The stored form of a session id: a leaked table row cannot be replayed as a cookie. */
const sessionHash = (id: string) => sha256Hex(`session:${id}`);
/** The CSRF token is bound to this session, so it is useless in another one. */
const csrfFor = (id: string) => sha256Hex(`csrf:${id}`);

function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Answers the tenant of a valid tenant key (the admin token has no tenant, so it cannot sign in here). */
export async function tenantKey<E extends AppEnv>(
  c: Context<E>,
  key: string,
): Promise<{ tenant: string; keyId: string } | null> {
  if (!KEY.test(key)) return null;
  const row = await findKeyByHash(c.var.control, await sha256Hex(key));
  return row ? { tenant: row.tenantId, keyId: row.id } : null;
}

/** A new session for the key's owner: one row in D1, its id in the cookie. The key itself is not kept anywhere. */
export async function startSession<E extends AppEnv>(
  c: Context<E>,
  owner: { tenant: string; keyId: string },
  now = Date.now(),
) {
  const id = newSessionId();
  await insertSession(c.var.control, {
    idHash: await sessionHash(id),
    tenantId: owner.tenant,
    keyId: owner.keyId,
    createdAt: now,
    expiresAt: now + SESSION_SECONDS * 1000,
  });
  setCookie(c, SESSION_COOKIE, id, { ...cookieOptions, maxAge: SESSION_SECONDS });
}

/** Signs out: the session's row goes (so a copied cookie stops working too), then the cookie. */
export async function endSession<E extends AppEnv>(c: Context<E>) {
  const id = getCookie(c, SESSION_COOKIE);
  if (id && SESSION_ID.test(id)) await deleteSession(c.var.control, await sessionHash(id));
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/** Reads the session cookie; answers null when it is missing, malformed, expired, signed out, or its key was revoked. */
export async function readSession<E extends AppEnv>(c: Context<E>, now = Date.now()): Promise<Session | null> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id || !SESSION_ID.test(id)) return null;
  const live = await findLiveSession(c.var.control, await sessionHash(id), now);
  if (!live) return null;
  return { tenant: live.tenantId, keyId: live.keyId, csrf: await csrfFor(id) };
}

/** Pages and actions need a session; without one the browser goes to the sign-in page. */
export const requireSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const session = await readSession(c);
  if (!session) {
    if (c.req.method === "GET") return c.redirect("/dashboard/login", 303);
    return c.text("sign in again", 401);
  }
  c.set("session", session);
  c.set("log", c.var.log.child({ tenant: session.tenant }));
  await enterTenantShard(c, session.tenant);
  await next();
};

/**
 * A state-changing request must come from our own pages: the browser's Origin / Sec-Fetch-Site say
 * where it was sent from (SameSite=Strict already keeps the cookie off cross-site requests; this also
 * covers the sign-in form, which has no session yet).
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = c.req.header("origin");
  if (origin && origin !== new URL(c.req.url).origin) return false;
  return true;
}

/** Constant-time comparison of the form's token with the session's. */
export function validCsrf(session: Session, token: unknown): boolean {
  if (typeof token !== "string" || token.length !== session.csrf.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) diff |= token.charCodeAt(i) ^ session.csrf.charCodeAt(i);
  return diff === 0;
}

export type Flash = { kind: "ok" | "error"; text: string };

/** A one-time message for the next page (what an action did), kept out of the URL. */
export function setFlash(c: Context, flash: Flash) {
  setCookie(c, FLASH_COOKIE, JSON.stringify(flash), { ...cookieOptions, maxAge: 60 });
}

export function takeFlash(c: Context): Flash | null {
  const value = getCookie(c, FLASH_COOKIE);
  if (!value) return null;
  deleteCookie(c, FLASH_COOKIE, cookieOptions);
  try {
    const flash = JSON.parse(value) as Partial<Flash>;
    if ((flash.kind === "ok" || flash.kind === "error") && typeof flash.text === "string") {
      return { kind: flash.kind, text: flash.text.slice(0, 300) };
    }
  } catch {
    // a mangled cookie shows nothing
  }
  return null;
}
