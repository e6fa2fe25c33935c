// /v1/webhook-secret: the tenant's signing secret for callbacks and http jobs, and its rotation.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { rotateTenantSecret, tenantSecret } from "../../webhooks/secret-store";
import { ROTATION_GRACE_MS, secretView } from "../../webhooks/secrets";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

const GRACE_HOURS = ROTATION_GRACE_MS / 3_600_000;

export const WebhookSecretSchema = z
  .object({
    secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }),
    previousSecret: z
      .string()
      .nullable()
      .openapi({ description: `the secret before the last rotation, while it still signs (${GRACE_HOURS} h)` }),
    rotatedAt: z.string().nullable(),
  })
  .openapi("WebhookSecret");

const getRoute = createRoute({
  method: "get",
  path: "/v1/webhook-secret",
  tags: ["webhooks"],
  summary: "The tenant's webhook signing secret (created on first use)",
  responses: { 200: jsonContent(WebhookSecretSchema, "The secret"), ...errorResponses(401, 403) },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/v1/webhook-secret/rotate",
  tags: ["webhooks"],
  summary: `Replace the signing secret; the old one keeps signing beside it for ${GRACE_HOURS} h`,
  responses: {
    200: jsonContent(WebhookSecretSchema, "The new secret and the previous one"),
    ...errorResponses(401, 403),
  },
});

export function registerWebhookSecretRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(getRoute, async (c) => {
    const now = Date.now();
    return c.json(secretView(await tenantSecret(c.var.db, tenantOf(c), now), now), 200);
  });

  app.openapi(rotateRoute, async (c) => {
    const now = Date.now();
    const rotated = await rotateTenantSecret(c.var.db, tenantOf(c), now);
    c.var.log.info("webhook secret rotated");
    return c.json(secretView(rotated, now), 200);
  });
}
