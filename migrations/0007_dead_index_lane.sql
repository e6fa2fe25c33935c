DROP INDEX `jobs_dead`;--> statement-breakpoint
CREATE INDEX `jobs_dead_lane` ON `jobs` (`tenant_id`,`type`,`id`,`queue`) WHERE status = 'dead';