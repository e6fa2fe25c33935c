-- Orders of the checkout example. The job ids stay null until Edge Jobs accepted the follow-ups.
CREATE TABLE orders (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  items TEXT NOT NULL,
  total_cents INTEGER NOT NULL,
  status TEXT NOT NULL,
  confirmation_job_id TEXT,
  side_effects_job_id TEXT,
  created_at INTEGER NOT NULL
);
-- Only orders still waiting for their follow-ups are indexed, for the sweep.
CREATE INDEX orders_follow_ups_pending ON orders (created_at) WHERE confirmation_job_id IS NULL;
