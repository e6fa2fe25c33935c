DROP INDEX `events_recent`;--> statement-breakpoint
CREATE INDEX `events_recent` ON `events` (`tenant_id`,`name`,`key`,`received_at`);