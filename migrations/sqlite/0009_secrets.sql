-- Secrets Latchkey generates for itself (the passcode HMAC key, the RSA and SM2 key pairs of
-- sealed passwords), kept in the database so every process on it uses the same ones: made
-- once, by whichever process starts first. Earlier versions kept them as files in the data
-- directory; the first start of this version imports those.
CREATE TABLE secrets (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
