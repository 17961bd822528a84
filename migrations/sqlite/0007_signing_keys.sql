-- The keys session tokens are signed with (unless LATCHKEY_JWT_SECRET configures one). Kept in
-- the database so that every process on it signs and verifies alike, and so that a rotation
-- (`latchkey keys rotate`) reaches them all: a new key is announced before it signs, old keys
-- verify until the last token they signed has expired, then they are dropped.
CREATE TABLE signing_keys (
    kid        TEXT    PRIMARY KEY,
    -- Hex of 64 random bytes.
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- Unix seconds from which it signs; the newest started key signs.
    signs_from INTEGER NOT NULL
);
