-- The OpenID Connect provider: how a session was signed in, the stable subject an app knows a
-- person by, the provider's RSA keys, authorizations waiting for a sign-in or a consent, and
-- the grants, codes and refresh tokens that follow. Everything lives in the database so any
-- node serves any step of a flow another node began.

-- How the session's sign-in went, as OpenID Connect `amr` values separated by spaces.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- The `sub` every app receives: random, assigned the first time an app asks.
ALTER TABLE users ADD COLUMN oidc_subject TEXT COLLATE "C";
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;

-- Signing keys (RS256: id_tokens, logout tokens; ES256: access tokens): published before
-- they sign, kept until their last token has expired.
CREATE TABLE oidc_keys (
    kid         TEXT   PRIMARY KEY COLLATE "C",
    alg         TEXT   NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    -- The private key's DER (PKCS#1 for RS256, PKCS#8 for ES256), hex.
    private_der TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    signs_from  BIGINT NOT NULL
);

-- An authorization request waiting for a sign-in or a consent (ten minutes).
CREATE TABLE oidc_requests (
    id         TEXT    PRIMARY KEY COLLATE "C",
    client_id  TEXT    NOT NULL COLLATE "C" REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    params     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    consent    TEXT    CHECK (consent IN ('given', 'refused')),
    answered_by BIGINT  REFERENCES users (id)
);
CREATE INDEX oidc_requests_expiry ON oidc_requests (expires_at);

-- What a person agreed an app may receive.
CREATE TABLE oidc_consents (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    client_id  TEXT   NOT NULL COLLATE "C" REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    scopes     TEXT   NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- One authorization, which its code, access tokens and refresh tokens hang off.
CREATE TABLE oidc_grants (
    id            TEXT   PRIMARY KEY COLLATE "C",
    user_id       BIGINT NOT NULL REFERENCES users (id),
    client_id     TEXT   NOT NULL COLLATE "C" REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    session_id    TEXT   NOT NULL COLLATE "C",
    scopes        TEXT   NOT NULL,
    nonce         TEXT,
    auth_time     BIGINT NOT NULL,
    amr           TEXT   NOT NULL,
    token_version BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_session ON oidc_grants (session_id);

-- Authorization codes: SHA-256 of the code, 60 seconds, one use.
CREATE TABLE oidc_codes (
    code_hash      TEXT   PRIMARY KEY COLLATE "C",
    grant_id       TEXT   NOT NULL COLLATE "C" REFERENCES oidc_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT   NOT NULL,
    code_challenge TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

-- Refresh tokens: SHA-256 of the token, rotated at every use.
CREATE TABLE oidc_refresh_tokens (
    token_hash  TEXT   PRIMARY KEY COLLATE "C",
    grant_id    TEXT   NOT NULL COLLATE "C" REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    replaced_at BIGINT
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);

-- Back-channel logout tokens go out through the outbox like mail.
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check
    CHECK (channel IN ('email', 'sms', 'backchannel_logout'));
