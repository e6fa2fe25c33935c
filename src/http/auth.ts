// Bearer authentication: the admin token manages keys, a tenant key scopes everything else.
import type { Context, MiddlewareHandler } from "hono";
import { findKeyByHash } from "../db/api-keys";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";
import { inProcessPrincipal } from "./in-process-principal";
import { cachedKey, cacheKey } from "./key-cache";

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares through hashes so the time taken says nothing about how much of the token matched. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256Hex(a), sha256Hex(b)]);
  let diff = 0;
  for (let i = 0; i < ha.length; i++) diff |= ha.charCodeAt(i) ^ hb.charCodeAt(i);
  return diff === 0;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  // The dashboard's own calls: its session was checked against D1 already, and it holds no key to send.
  const inProcess = inProcessPrincipal(c.req.raw);
  if (inProcess?.role === "tenant") {
    c.set("principal", inProcess);
    c.set("log", c.var.log.child({ tenant: inProcess.tenant }));
    return next();
  }
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  if (!match?.[1]) throw new ApiError("unauthorized", "missing or malformed Authorization: Bearer <api key>");
  const token = match[1];
  if (c.env.ADMIN_TOKEN && (await sameSecret(token, c.env.ADMIN_TOKEN))) {
    c.set("principal", { role: "admin" });
  } else {
    const hash = await sha256Hex(token);
    const now = Date.now();
    let key = cachedKey(hash, now);
    if (!key) {
      key = await findKeyByHash(c.var.db, hash);
      if (!key) throw new ApiError("unauthorized", "unknown API key");
      cacheKey(hash, key, now);
    }
    c.set("principal", { role: "tenant", tenant: key.tenantId, keyId: key.id });
    c.set("log", c.var.log.child({ tenant: key.tenantId }));
  }
  await next();
};

const ADMIN_ROUTES = /^\/v1\/keys(\/|$)/;

/**
 * Decides by route before any input is read, so a key on the wrong kind of route gets 403 even when
 * its body would not validate: /v1/keys is the admin token's, everything else a tenant key's.
 */
export const authorize: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (ADMIN_ROUTES.test(c.req.path)) requireAdmin(c);
  else tenantOf(c);
  await next();
};

export function requireAdmin(c: Context<AppEnv>): void {
  if (c.var.principal.role !== "admin") throw new ApiError("forbidden", "this route needs the admin token");
}

export function tenantOf(c: Context<AppEnv>): string {
  const principal = c.var.principal;
  if (principal.role !== "tenant") throw new ApiError("forbidden", "this route needs a tenant API key");
  return principal.tenant;
}
