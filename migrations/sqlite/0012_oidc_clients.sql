-- The apps that sign their users in with Latchkey (OpenID Connect relying parties), registered
-- by an operator. A confidential client's secret (256 random bits) is kept only as its SHA-256;
-- a public client has none and must use PKCE. URIs are JSON arrays of exact strings: a
-- redirect must match one character for character.
CREATE TABLE oidc_clients (
    client_id                 TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    backchannel_logout_uri    TEXT,
    first_party               INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
