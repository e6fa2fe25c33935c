// Gives every test file's D1 database Edge Jobs' tables, from the same migrations wrangler applies.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
