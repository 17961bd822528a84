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
