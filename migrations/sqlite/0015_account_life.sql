-- The account's life: a change of e-mail address waiting for the new address to answer, the
-- old address's way back, and the deletion's grace.

-- When an account whose owner asked for its deletion is erased (the grace's end, Unix seconds);
-- NULL for every other account. Such an account is disabled meanwhile (`account_enabled`).
ALTER TABLE users ADD COLUMN deletion_due_at INTEGER;
CREATE INDEX users_deletion_due ON users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

-- One pending change per account: the new address, the link's SHA-256 and the code's HMAC
-- mailed there, and the wrong codes tried against it. 24 hours.
CREATE TABLE email_changes (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    new_email     TEXT    NOT NULL,
    new_email_key TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    code_mac      TEXT    NOT NULL,
    wrong_codes   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

-- After a change, the old address's "this wasn't me" link (SHA-256), for 72 hours: it puts the
-- old address back, ends every session and grant, and begins a password reset.
CREATE TABLE email_restores (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    old_email     TEXT    NOT NULL,
    old_email_key TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX email_restores_user ON email_restores (user_id);
CREATE INDEX email_restores_expiry ON email_restores (expires_at);
CREATE INDEX email_changes_expiry ON email_changes (expires_at);
