-- Passcodes (SPEC §2.11, §7): six digits, kept only as an HMAC, one live code per
-- destination and purpose (a new code replaces the old), burned after five wrong tries.
CREATE TABLE passcodes (
    channel      TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    -- Lower-cased e-mail address or E.164 phone number.
    destination  TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('reset_password', 'verify_phone')),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    code_mac     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    failed_tries INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, destination, purpose)
);
CREATE INDEX passcodes_user ON passcodes (user_id);

-- One-time tokens of the reset flow, stored as SHA-256: `link` rides in the e-mail and is
-- exchanged for a `reset` token, as a passcode is; a `reset` token sets the new password.
CREATE TABLE reset_tokens (
    token_hash TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('link', 'reset')),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX reset_tokens_user ON reset_tokens (user_id);

-- Every recovery send asked for, known account or not, for the per-destination limits
-- (1 a minute, 10 an hour), so the limit itself reveals nothing.
CREATE TABLE send_log (
    channel     TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL
);
CREATE INDEX send_log_destination ON send_log (channel, destination, sent_at);
