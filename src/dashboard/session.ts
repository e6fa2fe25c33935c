// Dashboard sign-in: the API key lives in a Secure, HttpOnly, SameSite=Strict cookie; every form carries a per-session CSRF token.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { findKeyByHash } from "../db/api-keys";
import type { AppEnv } from "../http/app-env";
import { sha256Hex } from "../http/auth";

export const SESSION_COOKIE = "edge_jobs_session";
const FLASH_COOKIE = "edge_jobs_flash";
/** The cookie only travels to dashboard pages, never to /v1 (where a key must come as a header). */
const COOKIE_PATH = "/dashboard";
const SESSION_SECONDS = 8 * 3600;
const KEY = /^[\x21-\x7e]{1,512}$/;

export type Session = { tenant: string; keyId: string; key: string; csrf: string };

export type DashboardEnv = AppEnv & { Variables: AppEnv["Variables"] & { session: Session } };

const cookieOptions = {
  path: COOKIE_PATH,
  secure: true,
  httpOnly: true,
  sameSite: "Strict",
} as const;

/** The CSRF token is bound to this sign-in (its nonce) and to the key, so it is useless in another session. */
const csrfFor = (nonce: string, key: string) => sha256Hex(`csrf:${nonce}:${key}`);

/** Answers the tenant of a valid tenant key (the admin token has no tenant, so it cannot sign in here). */
export async function tenantKey<E extends AppEnv>(
  c: Context<E>,
  key: string,
): Promise<{ tenant: string; keyId: string } | null> {
  if (!KEY.test(key)) return null;
  const row = await findKeyByHash(c.var.db, await sha256Hex(key));
  return row ? { tenant: row.tenantId, keyId: row.id } : null;
}

export function startSession<E extends AppEnv>(c: Context<E>, key: string) {
  const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  setCookie(c, SESSION_COOKIE, `${nonce}.${key}`, { ...cookieOptions, maxAge: SESSION_SECONDS });
}

export function endSession<E extends AppEnv>(c: Context<E>) {
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/** Reads the session cookie; answers null when it is missing, malformed, or its key no longer exists. */
export async function readSession<E extends AppEnv>(c: Context<E>): Promise<Session | null> {
  const value = getCookie(c, SESSION_COOKIE);
  const dot = value?.indexOf(".") ?? -1;
  if (!value || dot !== 32) return null;
  const nonce = value.slice(0, dot);
  const key = value.slice(dot + 1);
  const owner = await tenantKey(c, key);
  if (!owner) return null;
  return { ...owner, key, csrf: await csrfFor(nonce, key) };
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
