-- The console's step-up can be a passkey: its WebAuthn ceremony is a purpose of its own, so a
-- ceremony begun for one use can never be finished as another.
ALTER TABLE webauthn_ceremonies DROP CONSTRAINT webauthn_ceremonies_purpose_check;
ALTER TABLE webauthn_ceremonies ADD CONSTRAINT webauthn_ceremonies_purpose_check
    CHECK (purpose IN ('register', 'sign_in', 'second_factor', 'step_up'));
