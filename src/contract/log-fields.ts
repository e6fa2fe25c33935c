// The log and metadata field names Edge Jobs owns: the logger renames them in metadata, the enqueue schema refuses them.

/**
 * Fields whose meaning Edge Jobs owns. Job metadata may not use these names (the enqueue schema
 * refuses them); in a log line a metadata key with one of them is renamed, never written as is.
 */
export const SYSTEM_LOG_FIELDS = [
  "level",
  "msg",
  "time",
  "jobId",
  "type",
  "tenant",
  "attempt",
  "attempts",
  "status",
  "requestId",
  "durationMs",
  "error",
  "reason",
  "queue",
  "keyId",
  "webhookId",
  "event",
] as const;
