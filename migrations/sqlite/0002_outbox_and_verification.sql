-- Messages are written here first, in the same breath as the change that causes them, and a
-- background worker delivers them (SPEC §6): a mail server that is down delays a message but
-- never loses it, and never slows or fails the request.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    body_text       TEXT    NOT NULL,
    body_html       TEXT,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Unix seconds; the worker picks rows whose time has come.
    next_attempt_at INTEGER NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- E-mail verification links (SPEC §2.2): only a SHA-256 of the token is kept.
CREATE TABLE email_verifications (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    -- The address the link was sent to: a link for an address since replaced verifies nothing.
    email_key   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX email_verifications_user ON email_verifications (user_id, created_at);
