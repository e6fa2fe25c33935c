import { defineConfig } from "drizzle-kit";

// drizzle-kit writes flat NNNN_name.sql files that both wrangler and the test setup apply.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
