CREATE TABLE `batches` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`status` text NOT NULL,
	`description` text,
	`callback_url` text,
	`on_success` text,
	`on_complete` text,
	`open` integer NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`dead` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`callback_state` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	PRIMARY KEY(`tenant_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `batches_status` ON `batches` (`tenant_id`,`status`,`id`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `batch_id` text;--> statement-breakpoint
CREATE INDEX `jobs_batch` ON `jobs` (`tenant_id`,`batch_id`,`id`) WHERE batch_id is not null;