-- The OpenID Connect provider: how a session was signed in, the stable subject an app knows a
-- person by, the provider's RSA keys, authorizations waiting for a sign-in or a consent, and
-- the grants, codes and refresh tokens that follow. Everything lives in the database so any
-- node serves any step of a flow another node began.

-- How the session's sign-in went, as OpenID Connect `amr` values separated by spaces (`pwd`,
-- `otp`, `hwk`, `mfa`). Sessions opened before this knew only passwords.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- The `sub` every app receives: random, assigned the first time an app asks, never the row id
-- or the username (which a person may reveal or an operator may change).
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;

-- Signing keys: RS256 for id_tokens and logout tokens, ES256 for access tokens. Like the
-- session keys: a new key is published in the JWKS before it signs, and a superseded one stays
-- published until every token it signed has expired.
CREATE TABLE oidc_keys (
    kid         TEXT    PRIMARY KEY,
    alg         TEXT    NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    -- The private key's DER (PKCS#1 for RS256, PKCS#8 for ES256), hex.
    private_der TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    signs_from  INTEGER NOT NULL
);

-- An authorization request waiting for the person to sign in or to consent: its checked
-- parameters as JSON, under a random id the pages carry. Ten minutes, then purged.
CREATE TABLE oidc_requests (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    params     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- The person's answer on the consent page: the app hears `access_denied` when refused.
    consent    TEXT    CHECK (consent IN ('given', 'refused')),
    answered_by INTEGER REFERENCES users (id)
);
CREATE INDEX oidc_requests_expiry ON oidc_requests (expires_at);

-- What a person agreed an app may receive: asked again only for a scope not yet agreed to.
CREATE TABLE oidc_consents (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    client_id  TEXT    NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    -- Space-separated scopes.
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- One authorization: the person, the app, the session it was given in, what it may see, and
-- how the person signed in. Its code, access tokens and refresh tokens all hang off it, so
-- ending it (revoked, a reused code, a refresh replayed, the session or the password changed)
-- ends them all.
CREATE TABLE oidc_grants (
    id            TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    client_id     TEXT    NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    session_id    TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    nonce         TEXT,
    auth_time     INTEGER NOT NULL,
    amr           TEXT    NOT NULL,
    -- The account's token version when granted: a password change or reset bumps it.
    token_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_session ON oidc_grants (session_id);

-- Authorization codes: SHA-256 of the code, 60 seconds, one use.
CREATE TABLE oidc_codes (
    code_hash      TEXT    PRIMARY KEY,
    grant_id       TEXT    NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

-- Refresh tokens: SHA-256 of the token. Rotated at every use; the one replaced is accepted
-- again only for a few seconds (two tabs refreshing at once), and a later replay ends the grant.
CREATE TABLE oidc_refresh_tokens (
    token_hash  TEXT    PRIMARY KEY,
    grant_id    TEXT    NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    replaced_at INTEGER
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);

-- Back-channel logout tokens go out through the outbox like mail (durable, retried): the
-- channel's CHECK grows a value, which SQLite can only do by rebuilding the table.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'sms', 'backchannel_logout')),
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    body_text       TEXT    NOT NULL,
    body_html       TEXT,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         TEXT,
    last_error      TEXT,
    claimed_until   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_new (id, channel, recipient, subject, body_text, body_html, created_at,
                        attempts, next_attempt_at, sent_at, last_error, claimed_until)
    SELECT id, channel, recipient, subject, body_text, body_html, created_at, attempts,
           next_attempt_at, sent_at, last_error, claimed_until FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
