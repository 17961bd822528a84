-- Browsers remembered for an account (device cookies). A cookie counts only while its row
-- exists: a password change, a reset and "End every session" delete the account's rows, and
-- an account keeps at most a few (the oldest go), so cookies collected while someone knew
-- the password neither outlive it nor multiply guesses at the next one.
CREATE TABLE remembered_devices (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    nonce      TEXT   NOT NULL COLLATE "C",
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, nonce)
);

-- The session that began an authenticator's enrolment: only it may see the waiting secret and
-- confirm it (another session of the account learning the secret would hold the factor too).
ALTER TABLE totp_factors ADD COLUMN pending_session TEXT;

-- The audit log is kept for a configured time; the purge finds old rows by this.
CREATE INDEX audit_log_at ON audit_log (at);
