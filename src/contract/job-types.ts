// The job-types contract (v1.1): a registered type as GET /v1/job-types and pause/resume answer it.
import { z } from "@hono/zod-openapi";

export const JobTypeSchema = z
  .object({
    type: z.string(),
    queue: z.string().openapi({ description: "the lane the type's jobs run in" }),
    maxAttempts: z.number().int().openapi({ description: "the type's own, else the default (5)" }),
    timeoutSeconds: z.number().int().openapi({ description: "per attempt: the type's own, else the default" }),
    paused: z.boolean().openapi({
      description: "for the caller's tenant: its jobs are still accepted and wait, queued, until the type is resumed",
    }),
    inputSchema: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        "JSON Schema of the payload (from the zod schema that validates it); null when it cannot be expressed",
    }),
  })
  .openapi("JobType");

export type JobTypeEntry = z.infer<typeof JobTypeSchema>;

export const JobTypeListSchema = z.object({ data: z.array(JobTypeSchema) }).openapi("JobTypeList");

/**
 * Any name up to the longest a type may have: a well-formed name that is not registered answers 404 (with the
 * registered types), like an unknown id; only an overlong one is a validation error.
 */
export const JobTypeParam = z.object({
  type: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "type", in: "path" }, example: "send-order-confirmation" }),
});
