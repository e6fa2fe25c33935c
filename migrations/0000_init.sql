CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`payload` text NOT NULL,
	`result` text,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`options` text NOT NULL,
	`progress` integer,
	`run_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`lease_until` integer,
	`idempotency_key` text,
	`callback_url` text,
	`metadata` text NOT NULL,
	`outbox` integer DEFAULT 0 NOT NULL,
	`attempt_log` text DEFAULT '[]' NOT NULL,
	`callback_state` text,
	PRIMARY KEY(`tenant_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `jobs_scheduled_due` ON `jobs` (`run_at`) WHERE status = 'scheduled';--> statement-breakpoint
CREATE INDEX `jobs_outbox` ON `jobs` (`run_at`) WHERE outbox = 1 AND status IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX `jobs_retrying` ON `jobs` (`tenant_id`,`id`) WHERE status = 'retrying';--> statement-breakpoint
CREATE INDEX `jobs_dead` ON `jobs` (`tenant_id`,`type`,`id`) WHERE status = 'dead';--> statement-breakpoint
CREATE TABLE `metrics_minute` (
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`type` text NOT NULL,
	`started` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`dead` integer DEFAULT 0 NOT NULL,
	`deferred` integer DEFAULT 0 NOT NULL,
	`duration_ms_sum` integer DEFAULT 0 NOT NULL,
	`duration_buckets` text DEFAULT '[0,0,0,0,0,0,0,0,0,0,0,0]' NOT NULL,
	PRIMARY KEY(`tenant_id`, `minute`, `type`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `schedules` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`cron` text NOT NULL,
	`timezone` text NOT NULL,
	`type` text NOT NULL,
	`payload` text NOT NULL,
	`job_options` text NOT NULL,
	`enabled` integer NOT NULL,
	`catch_up` text DEFAULT 'latest' NOT NULL,
	`next_run_at` integer,
	`last_run_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `schedules_name` ON `schedules` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `schedules_due` ON `schedules` (`next_run_at`) WHERE enabled = 1;--> statement-breakpoint
CREATE TABLE `webhook_secrets` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_expires_at` integer,
	`rotated_at` integer,
	`created_at` integer NOT NULL
);
