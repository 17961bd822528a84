-- Login throttling per account (SPEC §7, issue 5). One row per subject: `user:<id>` for a real
-- account, `name:<identifier>` for a name or address that matches none, so a lockout looks the
-- same whether or not the account exists. Attempts are counted before the password is checked
-- (and forgotten on success), so parallel guesses cannot slip past the limit.
CREATE TABLE login_throttle (
    subject            TEXT    PRIMARY KEY,
    -- Attempts since the last success.
    attempts           INTEGER NOT NULL,
    -- Unix seconds; no attempt is admitted before it.
    locked_until       INTEGER NOT NULL DEFAULT 0,
    -- A fixed one-hour window for the hourly cap (ASVS: at most 100 failures an hour).
    window_started     INTEGER NOT NULL,
    attempts_in_window INTEGER NOT NULL,
    last_attempt_at    INTEGER NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_attempt_at);

-- For the purge job: finds what has expired without scanning the tables.
CREATE INDEX passcodes_expiry ON passcodes (expires_at);
CREATE INDEX reset_tokens_expiry ON reset_tokens (expires_at);
CREATE INDEX email_verifications_expiry ON email_verifications (expires_at);
CREATE INDEX send_log_age ON send_log (sent_at);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
