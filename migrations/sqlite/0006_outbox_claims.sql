-- A worker claims the messages it is about to send until `claimed_until` (Unix seconds), so
-- two workers on one database (two processes, or later several nodes) never send one message
-- twice, and a message whose worker died mid-send is sent by another once the claim runs out.
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
