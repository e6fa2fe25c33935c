// Bearer authentication: the admin token manages keys, a tenant key scopes everything else.
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../contract/errors";
import { findKeyByHash } from "../db/api-keys";
import type { AppEnv } from "./app-env";
import { inProcessPrincipal } from "./in-process-principal";
import { cachedKey, cacheKey } from "./key-cache";
import { enterTenantShard } from "./tenant-shard";

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const b of digest) hex += HEX[b];
  return hex;
}

/** Compares hashes in constant time, so the time taken says nothing about how much of the token matched. */
function sameHash(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The admin token's hash, computed once per isolate (per token value) instead of on every request. */
let admin: { token: string; hash: string } | undefined;
async function adminTokenHash(token: string): Promise<string> {
  if (admin?.token !== token) admin = { token, hash: await sha256Hex(token) };
  return admin.hash;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * The digest of tokens that authenticated lately (a pure function of the token, so it grants nothing by
 * itself: the key behind it is still looked up and may be revoked). A token that failed is never kept.
 * Saves a SHA-256 (a native call and an await) on most requests.
 */
const MAX_HASHES = 1_000;
const hashes = new Map<string, string>();
function rememberHash(token: string, hash: string): void {
  if (hashes.size >= MAX_HASHES) hashes.delete(hashes.keys().next().value as string);
  hashes.set(token, hash);
}

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  // The dashboard's own calls: its session was checked against D1 already, and it holds no key to send.
  const inProcess = inProcessPrincipal(c.req.raw);
  if (inProcess?.role === "tenant") {
    c.set("principal", inProcess);
    c.set("log", c.var.log.child({ tenant: inProcess.tenant }));
    await enterTenantShard(c, inProcess.tenant);
    return next();
  }
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  if (!match?.[1]) throw new ApiError("unauthorized", "missing or malformed Authorization: Bearer <api key>");
  // One digest per request: the same hash is compared with the admin token's and looks up a tenant key.
  const token = match[1];
  const hash = hashes.get(token) ?? (await sha256Hex(token));
  const adminToken = c.env.ADMIN_TOKEN;
  const adminHash = adminToken && (admin?.token === adminToken ? admin.hash : await adminTokenHash(adminToken));
  if (adminHash && sameHash(hash, adminHash)) {
    c.set("principal", { role: "admin" });
    if (!hashes.has(token)) rememberHash(token, hash);
  } else {
    const now = Date.now();
    let key = cachedKey(hash, now);
    if (!key) {
      key = await findKeyByHash(c.var.control, hash);
      if (!key) throw new ApiError("unauthorized", "unknown API key");
      cacheKey(hash, key, now);
    }
    if (!hashes.has(token)) rememberHash(token, hash);
    c.set("principal", { role: "tenant", tenant: key.tenantId, keyId: key.id });
    c.set("log", c.var.log.child({ tenant: key.tenantId }));
    await enterTenantShard(c, key.tenantId);
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
