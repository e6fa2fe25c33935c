CREATE TABLE `dashboard_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`key_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_key` ON `dashboard_sessions` (`key_id`);--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `http_secret` text;--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `previous_http_secret` text;
