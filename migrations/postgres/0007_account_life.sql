-- The account's life; see ../sqlite/0015_account_life.sql for what each part is for.

ALTER TABLE users ADD COLUMN deletion_due_at BIGINT;
CREATE INDEX users_deletion_due ON users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

CREATE TABLE email_changes (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    new_email     TEXT   NOT NULL,
    new_email_key TEXT   NOT NULL COLLATE "C",
    token_hash    TEXT   NOT NULL COLLATE "C" UNIQUE,
    code_mac      TEXT   NOT NULL,
    wrong_codes   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE TABLE email_restores (
    token_hash    TEXT   PRIMARY KEY COLLATE "C",
    user_id       BIGINT NOT NULL REFERENCES users (id),
    old_email     TEXT   NOT NULL,
    old_email_key TEXT   NOT NULL COLLATE "C",
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX email_restores_user ON email_restores (user_id);
CREATE INDEX email_restores_expiry ON email_restores (expires_at);
CREATE INDEX email_changes_expiry ON email_changes (expires_at);
