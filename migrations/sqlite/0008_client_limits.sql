-- Per-client-address allowances (logins, registrations, sends, passcode checks), shared by
-- every process on the database, so a limit of N is N for the whole service. One row per
-- action and address (an IPv6 client by its /64): GCRA's theoretical arrival time, in Unix
-- milliseconds. A row whose time has passed holds a full allowance and may be purged.
CREATE TABLE client_limits (
    key TEXT    PRIMARY KEY,
    tat INTEGER NOT NULL
);
CREATE INDEX client_limits_tat ON client_limits (tat);
