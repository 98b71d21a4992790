-- Refused requests are audited as summaries: one row stands for `count` refusals of one tenant
-- (or, before authentication, one client address) in one interval. Plugin calls keep count = 1.
ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN client TEXT;
