-- See ../sqlite/0017_held_addresses.sql.
CREATE INDEX email_restores_address ON email_restores (old_email_key, expires_at);
