// /v1/webhook-secret: the tenant's signing secrets (one for callbacks, one for http jobs), and their rotation.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { rotateTenantSecret, tenantSecret } from "../../webhooks/secret-store";
import { ROTATION_GRACE_MS, secretView } from "../../webhooks/secrets";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

const GRACE_HOURS = ROTATION_GRACE_MS / 3_600_000;

export const WebhookSecretSchema = z
  .object({
    secret: z.string().openapi({
      description: "verifies completion and batch callbacks; never signs an http job's request",
      example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }),
    previousSecret: z
      .string()
      .nullable()
      .openapi({
        description: `the callback secret before the last rotation, while it still signs (${GRACE_HOURS} h)`,
      }),
    rotatedAt: z.string().nullable(),
    httpJobSecret: z.string().openapi({
      description: "verifies the requests of `http` jobs; never signs a callback",
      example: "whsec_3vN0c2Zq1mB8sVhJtX6yKpRwLdE4aGfU",
    }),
    previousHttpJobSecret: z
      .string()
      .nullable()
      .openapi({
        description: `the http job secret before the last rotation, while it still signs (${GRACE_HOURS} h)`,
      }),
  })
  .openapi("WebhookSecret");

const getRoute = createRoute({
  method: "get",
  path: "/v1/webhook-secret",
  tags: ["webhooks"],
  summary: "The tenant's webhook signing secrets: callbacks and http jobs (created on first use)",
  responses: { 200: jsonContent(WebhookSecretSchema, "The secret"), ...errorResponses(401, 403) },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/v1/webhook-secret/rotate",
  tags: ["webhooks"],
  summary: `Replace both signing secrets; the old ones keep signing beside them for ${GRACE_HOURS} h`,
  responses: {
    200: jsonContent(WebhookSecretSchema, "The new secrets and the previous ones"),
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
