ALTER TABLE `jobs` ADD `run_token` integer DEFAULT 0 NOT NULL;
