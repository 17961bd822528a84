//! What every request handler and server function can reach.

use crate::domain::Credits;
use crate::server::config::Config;
use crate::server::crypto::password::PasswordHasher;
use crate::server::crypto::password_cipher::PasswordCiphers;
use crate::server::crypto::session_token::SessionTokens;
use crate::server::delivery::worker::Wake;
use crate::server::services::client_limits::ClientLimits;
use crate::server::services::throttle::LoginPolicy;
use crate::server::store::reads::ReadConnections;
use crate::server::store::Db;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Cloned by axum for every request that reaches a handler, so it is one `Arc`: a clone is one
/// atomic increment instead of one per field (`LeptosOptions` alone holds several `Arc`s).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// For the one-statement reads of every signed-in request (`store::reads` says why).
    pub reads: ReadConnections,
    pub hasher: PasswordHasher,
    /// Shared with the task that takes in rotated keys (`services::signing_keys`).
    pub tokens: Arc<SessionTokens>,
    /// The OpenID Connect provider's RS256 keys, shared with the task that re-reads them
    /// (`services::oidc::keys`) and with the outbox (back-channel logout tokens).
    pub oidc_keys: Arc<crate::server::crypto::oidc_keys::OidcKeys>,
    /// Decrypts passwords sent RSA- or SM2-encrypted; holds the published public keys.
    pub ciphers: PasswordCiphers,
    /// HMAC key for stored passcodes.
    pub passcode_key: Vec<u8>,
    /// Seals authenticator secrets at rest and keys recovery-code MACs
    /// (`crypto::second_factor`).
    pub factor_key: [u8; 32],
    /// The WebAuthn relying party of the public URL; `None` when that is an IP address, where
    /// browsers offer no passkeys.
    pub webauthn: Option<Box<webauthn_rs::prelude::Webauthn>>,
    /// Wakes the outbox worker after a message was queued.
    pub mail: Wake,
    pub settings: Settings,
    /// Per-client-address allowances (logins, registrations, sends, passcode checks), kept in
    /// the database.
    pub limits: ClientLimits,
}

/// Configuration resolved at start-up into the values the services use.
#[derive(Debug, Clone)]
pub struct Settings {
    pub public_url: String,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
    pub starting_credits: Credits,
    pub tos_url: String,
    pub login_policy: LoginPolicy,
    pub config: Config,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
