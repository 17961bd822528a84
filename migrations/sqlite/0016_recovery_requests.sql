-- Recovery step 1 asked for and answered, its message not yet queued: written in the same
-- transaction that counts the send, before the answer, so an answer that says "on its way"
-- always has its message follow, whatever happens to the process or the database after it.
-- Whoever deletes the row queues the message (or the decoy), in one transaction.
CREATE TABLE recovery_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- reset_email, reset_username, reset_phone, remind_username
    kind        TEXT    NOT NULL,
    -- The e-mail key, the username's key, or the E.164 number.
    destination TEXT    NOT NULL,
    client_addr TEXT,
    request_id  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX recovery_requests_created ON recovery_requests (created_at);
