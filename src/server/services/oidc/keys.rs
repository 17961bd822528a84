//! The provider's RS256 keys in the database, shared by every node.
//!
//! The first key is made the first time one is needed (making one takes a moment, and most
//! installations may never use the provider), under a fixed kid so that nodes making it at
//! once store one key. A rotation (`latchkey keys rotate`) adds a key that signs only
//! [`ANNOUNCE_SECONDS`] later, by when every node has re-read the keys and
//! publishes it; a superseded key stays published until the last token it signed has expired.

use super::{ServiceError, ID_TOKEN_SECONDS};
use crate::server::crypto::oidc_keys::{self, OidcKey, OidcKeys};
use crate::server::services::signing_keys::ANNOUNCE_SECONDS;
use crate::server::state::AppState;
use crate::server::store::{self, oidc, Db};

const FIRST_KID: &str = "oidc-first";

/// Every key the database holds, after dropping those no token can need any more.
pub async fn load(db: &Db) -> Result<Vec<OidcKey>, sqlx::Error> {
    let now = store::unix_now();
    // The longest-lived token signed is an id_token; five minutes cover clocks and leeway.
    oidc::drop_superseded_keys(db, now - ID_TOKEN_SECONDS - 300).await?;
    Ok(oidc::keys(db)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(OidcKey {
                private_der: hex::decode(&row.private_der).ok()?,
                kid: row.kid,
                signs_from: row.signs_from,
            })
        })
        .collect())
}

/// Takes in the stored keys.
pub async fn reload(db: &Db, ring: &OidcKeys) -> Result<(), String> {
    let keys = load(db).await.map_err(|e| e.to_string())?;
    ring.replace(&keys).map_err(|e| e.to_string())
}

/// Makes sure the ring has a key, making the first one if the database has none.
pub async fn ensure(state: &AppState) -> Result<(), ServiceError> {
    if !state.oidc_keys.is_empty() {
        return Ok(());
    }
    let mut keys = load(&state.db).await?;
    if keys.is_empty() {
        let der = generated().await?;
        let row = oidc::KeyRow {
            kid: FIRST_KID.into(),
            private_der: hex::encode(der),
            created_at: store::unix_now(),
            signs_from: 0,
        };
        oidc::insert_key(&state.db, &row).await?;
        keys = load(&state.db).await?;
    }
    state
        .oidc_keys
        .replace(&keys)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Adds a key that starts signing [`ANNOUNCE_SECONDS`] from now; returns its kid and start.
pub async fn rotate(db: &Db) -> Result<(String, i64), ServiceError> {
    let now = store::unix_now();
    let row = oidc::KeyRow {
        kid: format!("oidc-{}", &super::random_id()[..16]),
        private_der: hex::encode(generated().await?),
        created_at: now,
        signs_from: now + ANNOUNCE_SECONDS,
    };
    oidc::insert_key(db, &row).await?;
    Ok((row.kid, row.signs_from))
}

async fn generated() -> Result<Vec<u8>, ServiceError> {
    tokio::task::spawn_blocking(oidc_keys::generate)
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Re-reads the keys every minute (as the session keys are) for as long as the server runs, so
/// a rotation made by any process is published here before it signs.
pub fn keep_current(db: Db, ring: std::sync::Arc<OidcKeys>) {
    use crate::server::services::signing_keys::RELOAD_SECONDS;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(RELOAD_SECONDS));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = reload(&db, &ring).await {
                tracing::warn!("OpenID Connect keys not reloaded: {e}");
            }
        }
    });
}
