// /v1/keys: API key management, admin token only. A key is shown once and stored as a hash.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { notFound } from "../../contract/errors";
import { ApiKeySchema, CreatedKeySchema, CreateKeySchema, KeyIdParam } from "../../contract/schemas";
import { configOf, shardEnvOf } from "../../core/config";
import { newId } from "../../core/ids";
import { CONTROL_DB } from "../../core/shards";
import { deleteKey, insertKey, listKeys } from "../../db/api-keys";
import { d1Of, openDb } from "../../db/client";
import type { ApiKeyRow } from "../../db/schema";
import { deleteSessionsOfKey } from "../../db/sessions";
import { tenantShard } from "../../db/tenant-shards";
import { recordTenant } from "../../db/tenants";
import type { AppEnv } from "../app-env";
import { requireAdmin, sha256Hex } from "../auth";
import { forgetKey } from "../key-cache";
import { errorResponses, jsonBody, jsonContent } from "../openapi";

const toApiKey = (row: ApiKeyRow) => ({
  id: row.id,
  tenant: row.tenantId,
  name: row.name,
  createdAt: new Date(row.createdAt).toISOString(),
});

function newSecretKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `ej_${btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")}`;
}

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/keys",
  tags: ["keys"],
  summary: "Create an API key for a tenant (admin)",
  request: { body: jsonBody(CreateKeySchema) },
  responses: { 201: jsonContent(CreatedKeySchema, "The key, shown this once"), ...errorResponses(400, 401, 403) },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/keys",
  tags: ["keys"],
  summary: "List API keys (admin)",
  responses: { 200: jsonContent(z.object({ data: z.array(ApiKeySchema) }), "All keys"), ...errorResponses(401, 403) },
});

const deleteKeyRoute = createRoute({
  method: "delete",
  path: "/v1/keys/{id}",
  tags: ["keys"],
  summary: "Revoke an API key (admin)",
  request: { params: KeyIdParam },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

export function registerKeyRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(createKeyRoute, async (c) => {
    requireAdmin(c);
    const { tenant, name } = c.req.valid("json");
    const key = newSecretKey();
    const row: ApiKeyRow = {
      id: newId("key", Date.now()),
      tenantId: tenant,
      name,
      keyHash: await sha256Hex(key),
      createdAt: Date.now(),
    };
    // The tenant is placed first (nothing to do with one shard, or when it has its shard): placement keeps a tenant
    // with a `tenants` row in DB on DB, so that row is written where its jobs will live.
    const shard = await tenantShard(d1Of(c.var.control), configOf(c.env).shards, tenant, row.createdAt);
    await insertKey(c.var.control, row, shard === CONTROL_DB);
    if (shard !== CONTROL_DB) await recordTenant(openDb(shardEnvOf(c.env, shard).DB), tenant, row.createdAt);
    c.var.log.info("api key created", { keyId: row.id, tenant });
    return c.json({ ...toApiKey(row), key }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    requireAdmin(c);
    return c.json({ data: (await listKeys(c.var.control)).map(toApiKey) }, 200);
  });

  app.openapi(deleteKeyRoute, async (c) => {
    requireAdmin(c);
    const { id } = c.req.valid("param");
    if (!(await deleteKey(c.var.control, id))) throw notFound("key");
    forgetKey(id);
    // Its dashboard sign-ins end with it (they are refused anyway once the key is gone; this drops the rows).
    await deleteSessionsOfKey(c.var.control, id);
    c.var.log.info("api key revoked", { keyId: id });
    return c.body(null, 204);
  });
}
