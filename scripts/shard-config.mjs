#!/usr/bin/env node
// CLI for local shards: `node scripts/shard-config.mjs [--config wrangler.toml] [--out dir] <N>` writes the sharded
// wrangler config (see bin/shard-config.mjs, which `edge-jobs dev` and the e2e harness share) and prints its path.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { shardBindings, shardConfigText, writeShardConfig } from "../bin/shard-config.mjs";

export { shardBindings, shardConfigText, writeShardConfig };

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: "string", default: "wrangler.toml" }, out: { type: "string" } },
  });
  const shards = Number(positionals[0]);
  if (positionals.length !== 1 || !Number.isInteger(shards) || shards < 1) {
    console.error("usage: node scripts/shard-config.mjs [--config wrangler.toml] [--out dir] <shards>");
    process.exit(1);
  }
  console.log(writeShardConfig({ config: values.config, shards, outDir: values.out }).path);
}
