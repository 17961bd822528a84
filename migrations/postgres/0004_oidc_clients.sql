-- The apps that sign their users in with Latchkey (OpenID Connect relying parties), registered
-- by an operator. A confidential client's secret (256 random bits) is kept only as its SHA-256;
-- a public client has none and must use PKCE. URIs are JSON arrays of exact strings: a
-- redirect must match one character for character.
CREATE TABLE oidc_clients (
    client_id                 TEXT    PRIMARY KEY COLLATE "C",
    name                      TEXT    NOT NULL,
    secret_hash               TEXT    COLLATE "C",
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    backchannel_logout_uri    TEXT,
    first_party               BOOLEAN NOT NULL,
    created_at                BIGINT  NOT NULL,
    updated_at                BIGINT  NOT NULL
);
