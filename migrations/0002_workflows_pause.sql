CREATE TABLE `events` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`key` text,
	`data` text,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `events_recent` ON `events` (`tenant_id`,`name`,`received_at`);--> statement-breakpoint
CREATE TABLE `job_steps` (
	`tenant_id` text NOT NULL,
	`job_id` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`result` text,
	`error` text,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`wake_at` integer,
	`event_name` text,
	`event_key` text,
	`child_id` text,
	PRIMARY KEY(`tenant_id`, `job_id`, `name`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `job_steps_waiting_events` ON `job_steps` (`tenant_id`,`event_name`,`event_key`) WHERE status = 'waiting' and kind = 'event';--> statement-breakpoint
CREATE TABLE `paused_types` (
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`paused_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `type`)
) WITHOUT ROWID;
--> statement-breakpoint
ALTER TABLE `jobs` ADD `parent_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `waiting_for` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `paused` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_waiting_due` ON `jobs` (`run_at`) WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX `jobs_waiting_tenant` ON `jobs` (`tenant_id`,`id`) WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX `jobs_children` ON `jobs` (`tenant_id`,`parent_id`) WHERE parent_id is not null;--> statement-breakpoint
CREATE INDEX `jobs_paused` ON `jobs` (`tenant_id`,`type`,`id`) WHERE paused = 1;