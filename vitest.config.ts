import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Two projects: integration tests inside workerd (real Queues, D1, Durable Objects), and end-to-end
// tests in Node that start a real `wrangler dev` and speak HTTP to it.
export default defineConfig({
  test: {
    // Logs of passing tests are noise; a failing test still shows its Worker's JSON logs.
    silent: "passed-only",
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            main: "./test/fixtures/worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Two more local databases, for the shard tests (test/integration/shards.test.ts lists them in JOBS_DBS).
              d1Databases: ["JOBS_DB_1", "JOBS_DB_2"],
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                ALLOW_PRIVATE_TARGETS: "true",
                // The limits harness (src/limits): every invocation of the Worker under test fails on a production
                // limit break. `ENFORCE_PLATFORM_LIMITS=free npx vitest run` holds the suite to the Free plan instead.
                ENFORCE_PLATFORM_LIMITS: process.env.ENFORCE_PLATFORM_LIMITS || "standard",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workerd",
          include: ["test/integration/**/*.test.ts", "test/unit/**/*.test.ts"],
          setupFiles: ["./test/fixtures/apply-migrations.ts", "./test/fixtures/limits-setup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        // This repo's package exports resolve to src/ under the "edge-jobs-source" condition (no dist/ needed).
        ssr: { resolve: { conditions: ["edge-jobs-source", ...defaultServerConditions] } },
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
