-- Every sign-up and change of address asks whether the address is held for another account's
-- way back (`store::account_life::address_held`): by the address, not by a scan.
CREATE INDEX email_restores_address ON email_restores (old_email_key, expires_at);
