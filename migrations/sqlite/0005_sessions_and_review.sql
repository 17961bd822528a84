-- Sessions are rows (SPEC §7): a session token names its row, so signing out, a password
-- change or a reset ends it at once, and no refresh carries it past `expires_at`, fixed at
-- sign-in (30 days by default).
CREATE TABLE sessions (
    -- 128 random bits in hex, carried in the token as `sid`.
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- The last sign-in or refresh, for the account page's list of sessions.
    last_seen_at INTEGER NOT NULL,
    client_addr  TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Passcodes may belong to nobody: a request for an address or number without an account stores
-- a decoy code, so that step 2 answers exactly as it does for a real one (five tries, then
-- "too many"). SQLite cannot relax a NOT NULL in place, and nothing references this table, so
-- it is rebuilt.
CREATE TABLE passcodes_new (
    channel      TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    destination  TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('reset_password', 'verify_phone')),
    -- NULL for a decoy.
    user_id      INTEGER REFERENCES users (id),
    code_mac     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    failed_tries INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, destination, purpose)
);
INSERT INTO passcodes_new SELECT channel, destination, purpose, user_id, code_mac, created_at,
    expires_at, failed_tries FROM passcodes;
DROP TABLE passcodes;
ALTER TABLE passcodes_new RENAME TO passcodes;
CREATE INDEX passcodes_user ON passcodes (user_id);
CREATE INDEX passcodes_expiry ON passcodes (expires_at);

-- Failed decryptions of a sealed new password with this reset token: three burn it, so a
-- token cannot serve as a padding oracle.
ALTER TABLE reset_tokens ADD COLUMN failed_decryptions INTEGER NOT NULL DEFAULT 0;

-- Only confirmed numbers are unique (`phone_e164` is filled on confirmation): an unconfirmed
-- number on one account must not block its real owner, nor tell anybody it is in use.
UPDATE users SET phone_e164 = NULL WHERE phone_verified = 0;
