//! The provider's signing keys (RS256 and ES256, `crypto::oidc_keys` says which signs what)
//! in the database, shared by every node.
//!
//! The first key of each algorithm is made the first time one is needed (an RSA key takes a
//! moment, and most installations may never use the provider), under a fixed kid so that
//! nodes making it at once store one key. A rotation (`latchkey keys rotate`) adds a key of
//! each that signs only [`ANNOUNCE_SECONDS`] later, by when every node has re-read the keys
//! and publishes them; a superseded key stays published until the last token it signed has
//! expired.

use super::{ServiceError, ID_TOKEN_SECONDS};
use crate::server::crypto::oidc_keys::{self, KeyAlg, OidcKey, OidcKeys};
use crate::server::services::signing_keys::ANNOUNCE_SECONDS;
use crate::server::state::AppState;
use crate::server::store::{self, oidc, Db};

/// The kid of each algorithm's first key: fixed, so nodes making it at once store one.
fn first_kid(alg: KeyAlg) -> &'static str {
    match alg {
        KeyAlg::Rs256 => "oidc-first",
        KeyAlg::Es256 => "oidc-first-es256",
    }
}

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
                alg: KeyAlg::parse(&row.alg)?,
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

/// Makes sure the ring can sign with every algorithm, making the first key of one the
/// database lacks.
pub async fn ensure(state: &AppState) -> Result<(), ServiceError> {
    if state.oidc_keys.is_ready() {
        return Ok(());
    }
    let _turn = state.oidc_keys.turn_to_make().await;
    // Another request may have made them while this one waited.
    if state.oidc_keys.is_ready() {
        return Ok(());
    }
    let mut keys = load(&state.db).await?;
    let mut made = false;
    for alg in KeyAlg::ALL {
        if keys.iter().any(|key| key.alg == alg) {
            continue;
        }
        let row = oidc::KeyRow {
            kid: first_kid(alg).into(),
            alg: alg.as_str().into(),
            private_der: hex::encode(generated(alg).await?),
            created_at: store::unix_now(),
            signs_from: 0,
        };
        oidc::insert_key(&state.db, &row).await?;
        made = true;
    }
    if made {
        keys = load(&state.db).await?;
    }
    state
        .oidc_keys
        .replace(&keys)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Adds a key of each algorithm that starts signing [`ANNOUNCE_SECONDS`] from now; returns
/// their kids and the start.
pub async fn rotate(db: &Db) -> Result<(Vec<String>, i64), ServiceError> {
    let now = store::unix_now();
    let mut kids = Vec::new();
    for alg in KeyAlg::ALL {
        let row = oidc::KeyRow {
            kid: format!("oidc-{}", &super::random_id()[..16]),
            alg: alg.as_str().into(),
            private_der: hex::encode(generated(alg).await?),
            created_at: now,
            signs_from: now + ANNOUNCE_SECONDS,
        };
        oidc::insert_key(db, &row).await?;
        kids.push(row.kid);
    }
    Ok((kids, now + ANNOUNCE_SECONDS))
}

async fn generated(alg: KeyAlg) -> Result<Vec<u8>, ServiceError> {
    tokio::task::spawn_blocking(move || oidc_keys::generate(alg))
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
