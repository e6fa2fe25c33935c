// POST /v1/events: the request and answer schemas (they validate requests and generate /openapi.json).
import { z } from "@hono/zod-openapi";

/** Names and keys are short labels: the key usually is an id of the caller's (an order, a user). */
export const MAX_EVENT_NAME_LENGTH = 200;
export const MAX_EVENT_KEY_LENGTH = 200;
/**
 * Waits one call completes at most: pages of 500 in one D1 batch (9 queries, 20 queue sends of 100), inside even
 * the Free plan's 50 queries and 50 subrequests per invocation. Past it the answer says `more` and the rest stay open.
 */
export const MAX_EVENT_WAKES_PER_CALL = 2_000;

export const SendEventSchema = z
  .object({
    name: z.string().min(1).max(MAX_EVENT_NAME_LENGTH).openapi({ example: "payment.captured" }),
    key: z.string().min(1).max(MAX_EVENT_KEY_LENGTH).optional().openapi({
      description:
        "wakes the waits that named this key and the waits that named no key; without it, only the waits that named no key",
      example: "order-1234",
    }),
    data: z
      .unknown()
      .optional()
      .openapi({
        description: "any JSON, handed to every wait this event completes (null when left out)",
        example: { amount: 4200 },
      }),
  })
  .strict()
  .openapi("SendEventRequest");

export const SentEventSchema = z
  .object({
    id: z.string().openapi({ example: "evt_01JDQ8Z3X9V5K2M4N6P8R0S2T4" }),
    matched: z.number().int().openapi({ description: "how many open waitForEvent waits this event completed" }),
    more: z.boolean().openapi({
      description: `true when this call stopped at its cap (${MAX_EVENT_WAKES_PER_CALL} waits) with more waits still matching: they stay open; send the event again to complete them`,
    }),
  })
  .openapi("SentEvent");

export type SendEventInput = z.infer<typeof SendEventSchema>;
export type SentEvent = z.infer<typeof SentEventSchema>;
