-- The operators' console: when a session last proved its second factor (the step-up every
-- change in the console asks for), who did what to an account and why (the audit log's actor,
-- reason, before and after), the admin API's tokens, and the indexes its searches use.

-- Unix seconds of the last second-factor check made within the session after it signed in.
-- A sign-in with a second factor counts by its own time (`created_at` with `mfa` in `amr`).
ALTER TABLE sessions ADD COLUMN stepped_up_at INTEGER;

-- An operator's action on an account: the admin who did it (NULL for the account's own
-- doings and the command line), the reason they gave, and the state before and after (JSON).
ALTER TABLE audit_log ADD COLUMN actor_id INTEGER;
ALTER TABLE audit_log ADD COLUMN reason TEXT;
ALTER TABLE audit_log ADD COLUMN before_state TEXT;
ALTER TABLE audit_log ADD COLUMN after_state TEXT;
-- The console's filters by actor and by kind of event (by time: audit_log_at, already there).
CREATE INDEX audit_log_actor ON audit_log (actor_id, at) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log (event, at);

-- Admin API tokens: shown once, kept as SHA-256. `id` is the public half the console lists
-- and the audit names; the secret half never leaves the request that made it.
CREATE TABLE admin_tokens (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    token_hash   TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    read_only    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX admin_tokens_user ON admin_tokens (user_id, created_at);

-- Search by e-mail prefix reads `email_key` (lower case, unique: already indexed), by
-- username the NOCASE unique index, by phone `phone_e164` (unique: indexed).
