-- Second factors (SPEC §10). An authenticator app's secret, sealed (XChaCha20-Poly1305 under a
-- key kept in `secrets`) so a copy of this table alone opens nothing; `confirmed_at` is NULL
-- while the enrolment waits for its first code. `last_step` is the 30-second step of the last
-- code accepted: a code is taken only for a later step, so each code works once.
CREATE TABLE totp_factors (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    secret_sealed TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0
);

-- Ten single-use codes per account, kept as an HMAC; a used one keeps its row (with `used_at`)
-- until the codes are made anew, so a second use fails the same way as a wrong code.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    code_mac  TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_mac)
);

-- A sign-in whose password was right and that waits for its second factor: the `mfa_token`
-- (stored as SHA-256) lives five minutes, is used once, and dies after five wrong codes.
-- `throttle_key` is the login lock the password step counted against: wrong codes count there
-- too.
CREATE TABLE second_factor_challenges (
    token_hash   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    throttle_key TEXT    NOT NULL,
    wrong_codes  INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX second_factor_challenges_expiry ON second_factor_challenges (expires_at);

-- Passkeys (WebAuthn credentials): the credential id (base64url) names the row; `passkey` is
-- the verifier's record of it (public key, signature counter) as JSON. A passkey is a second
-- factor and signs in without a password.
CREATE TABLE passkeys (
    credential_id TEXT   PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT   NOT NULL,
    passkey       TEXT   NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn ceremony between its start and its finish, which any node may serve: the
-- verifier's state as JSON, named by a random token the browser holds (stored as SHA-256).
-- `user_id` is NULL for a sign-in that does not know its account until the passkey names it.
CREATE TABLE webauthn_ceremonies (
    token_hash TEXT   PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id),
    purpose    TEXT   NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor')),
    state      TEXT   NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
