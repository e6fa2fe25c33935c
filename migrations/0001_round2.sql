CREATE TABLE `dashboard_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`key_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_key` ON `dashboard_sessions` (`key_id`);--> statement-breakpoint
CREATE TABLE `sweep_cursors` (
	`sweep` text PRIMARY KEY NOT NULL,
	`after` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`rescue_from` text
);
--> statement-breakpoint
DROP INDEX `jobs_outbox`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `run_token` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_scheduled_tenant` ON `jobs` (`tenant_id`,`id`) WHERE status = 'scheduled';--> statement-breakpoint
CREATE INDEX `jobs_outbox` ON `jobs` (`tenant_id`,`run_at`) WHERE outbox = 1;--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `http_secret` text;--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `previous_http_secret` text;--> statement-breakpoint
-- Backfill (hand-written): every tenant that already has jobs, keys or schedules is walked by the paged sweeps.
INSERT OR IGNORE INTO `tenants` (`tenant_id`, `created_at`, `rescue_from`)
	SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `jobs`
	UNION SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `api_keys`
	UNION SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `schedules`;
