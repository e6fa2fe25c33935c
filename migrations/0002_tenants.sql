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
CREATE INDEX `jobs_outbox` ON `jobs` (`tenant_id`,`run_at`) WHERE outbox = 1;--> statement-breakpoint
CREATE INDEX `jobs_scheduled_tenant` ON `jobs` (`tenant_id`,`id`) WHERE status = 'scheduled';--> statement-breakpoint
INSERT OR IGNORE INTO `tenants` (`tenant_id`, `created_at`, `rescue_from`)
	SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `jobs`
	UNION SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `api_keys`
	UNION SELECT DISTINCT `tenant_id`, CAST(strftime('%s', 'now') AS integer) * 1000, NULL FROM `schedules`;
