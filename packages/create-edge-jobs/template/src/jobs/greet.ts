// An example job type: replace it with yours. Its payload is checked against `input` when it is enqueued.
import { defineJob, NonRetryableError } from "edge-jobs";
import { z } from "zod";

export const greet = defineJob({
  type: "greet",
  input: z.object({ name: z.string().min(1).max(100) }),
  maxAttempts: 3,
  async run({ name }, ctx) {
    // Retrying cannot help here, so the job goes straight to `dead`; any other error is retried with backoff.
    if (name === "nobody") throw new NonRetryableError("nobody cannot be greeted");
    // ctx.env is this Worker's own Env (`wrangler types`): GREETING comes from wrangler.toml's [vars].
    const message = `${ctx.env.GREETING}, ${name}!`;
    ctx.log.info("greeted", { name });
    return { message };
  },
});
