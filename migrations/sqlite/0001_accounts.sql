-- Accounts (SPEC §1). Every column exists from the start, even those later features fill.
CREATE TABLE users (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Usernames are ASCII (see domain::Username), so NOCASE is exact case-insensitivity.
    username           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email              TEXT    NOT NULL,
    -- Lower-cased address, the form compared and kept unique.
    email_key          TEXT    NOT NULL UNIQUE,
    email_verified     INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    phone_country_code TEXT,
    phone_number       TEXT,
    -- E.164 form of the two columns above; unique when present.
    phone_e164         TEXT UNIQUE,
    phone_verified     INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    -- argon2id PHC string; never leaves the server.
    password_hash      TEXT    NOT NULL,
    plan               TEXT    NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'paid')),
    -- Exact credits in millionths, so sums never drift the way floating point does.
    credits_micro      INTEGER NOT NULL DEFAULT 0,
    account_enabled    INTEGER NOT NULL DEFAULT 1 CHECK (account_enabled IN (0, 1)),
    admin              INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    -- Carried in every JWT; bumping it revokes every token issued before.
    token_version      INTEGER NOT NULL DEFAULT 0,
    preferred_language TEXT    NOT NULL DEFAULT 'en',
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    deleted_at         TEXT
);

-- Security-relevant events (SPEC §7): who, what, from where, under which request id.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    client_addr TEXT,
    request_id  TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
