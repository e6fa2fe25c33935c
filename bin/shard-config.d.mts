// Types of shard-config.mjs for the TypeScript that imports it (the e2e harness).
export function shardBindings(shards: number): string[];
export function shardConfigText(text: string, shards: number, sourceDir: string): string;
export function writeShardConfig(options: { config?: string; shards: number; outDir?: string }): {
  path: string;
  bindings: string[];
};
