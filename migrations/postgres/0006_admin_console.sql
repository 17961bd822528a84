-- The operators' console; see ../sqlite/0014_admin_console.sql for what each part is for.

ALTER TABLE sessions ADD COLUMN stepped_up_at BIGINT;

ALTER TABLE audit_log ADD COLUMN actor_id BIGINT;
ALTER TABLE audit_log ADD COLUMN reason TEXT;
ALTER TABLE audit_log ADD COLUMN before_state TEXT;
ALTER TABLE audit_log ADD COLUMN after_state TEXT;
CREATE INDEX audit_log_actor ON audit_log (actor_id, at) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log (event, at);

CREATE TABLE admin_tokens (
    id           TEXT    PRIMARY KEY COLLATE "C",
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    token_hash   TEXT    NOT NULL COLLATE "C" UNIQUE,
    name         TEXT    NOT NULL,
    read_only    BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX admin_tokens_user ON admin_tokens (user_id, created_at);

-- Username prefix search: the column's ICU collation is nondeterministic (case-blind), which
-- PostgreSQL's LIKE and range scans cannot use; a byte-ordered index of the lower-cased name
-- can (usernames are ASCII, so lower() is exact).
CREATE INDEX users_username_search ON users ((lower(username) COLLATE "C"));
