-- Second factors (SPEC §10); see migrations/sqlite/0010_second_factors.sql for what each
-- column is for.
CREATE TABLE totp_factors (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    secret_sealed TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id),
    code_mac  TEXT   NOT NULL COLLATE "C",
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_mac)
);

CREATE TABLE second_factor_challenges (
    token_hash   TEXT   PRIMARY KEY COLLATE "C",
    user_id      BIGINT NOT NULL REFERENCES users (id),
    throttle_key TEXT   NOT NULL COLLATE "C",
    wrong_codes  BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX second_factor_challenges_expiry ON second_factor_challenges (expires_at);

-- Passkeys (WebAuthn credentials): the credential id (base64url) names the row; `passkey` is
-- the verifier's record of it (public key, signature counter) as JSON. A passkey is a second
-- factor and signs in without a password.
CREATE TABLE passkeys (
    credential_id TEXT   PRIMARY KEY COLLATE "C",
    user_id       BIGINT NOT NULL REFERENCES users (id),
    name          TEXT   NOT NULL,
    passkey       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn ceremony between its start and its finish, which any node may serve: the
-- verifier's state as JSON, named by a random token the browser holds (stored as SHA-256).
-- `user_id` is NULL for a sign-in that does not know its account until the passkey names it.
CREATE TABLE webauthn_ceremonies (
    token_hash TEXT   PRIMARY KEY COLLATE "C",
    user_id    BIGINT REFERENCES users (id),
    purpose    TEXT   NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor')),
    state      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
