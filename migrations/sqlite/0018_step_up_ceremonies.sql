-- The console's step-up can be a passkey: its WebAuthn ceremony is a purpose of its own, so a
-- ceremony begun for one use can never be finished as another. SQLite cannot change a CHECK
-- in place: the table is rebuilt (its rows live for minutes; they are carried over anyway).
CREATE TABLE webauthn_ceremonies_next (
    token_hash TEXT   PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id),
    purpose    TEXT   NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor', 'step_up')),
    state      TEXT   NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO webauthn_ceremonies_next (token_hash, user_id, purpose, state, expires_at)
    SELECT token_hash, user_id, purpose, state, expires_at FROM webauthn_ceremonies;
DROP TABLE webauthn_ceremonies;
ALTER TABLE webauthn_ceremonies_next RENAME TO webauthn_ceremonies;
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
