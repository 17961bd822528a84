//! Session-token keys kept in the database, so every process on it signs and verifies alike.
//!
//! A rotation announces a new key [`ANNOUNCE_SECONDS`] before it starts signing; every server
//! re-reads the keys each [`RELOAD_SECONDS`], so all of them know the new key before any token
//! signed with it reaches them. Old keys keep verifying until the last token they signed has
//! expired, then they are dropped: nobody is signed out by a rotation.

use crate::server::crypto::session_token::{SessionTokens, SigningKey, LIFETIME_SECONDS};
use crate::server::store::{self, signing_keys, Db};
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;

/// How often a running server re-reads the keys.
pub const RELOAD_SECONDS: u64 = 60;
/// How long before it signs a rotated-in key is known: two reloads.
pub const ANNOUNCE_SECONDS: i64 = 2 * RELOAD_SECONDS as i64;
/// The `kid` of a key configured with `LATCHKEY_JWT_SECRET`.
pub const CONFIGURED_KID: &str = "configured";

/// The kid of the first key. Fixed, so that processes starting at once on an empty database,
/// each making a first key, collide on it: one key is stored, and all of them read that one
/// back (a random kid each would give each its own key, unknown to the others for a minute).
const FIRST_KID: &str = "first";

/// The keys, after dropping those whose last tokens have expired; a first key is made when
/// there is none.
pub async fn load_or_create(db: &Db) -> Result<Vec<SigningKey>, sqlx::Error> {
    let now = store::unix_now();
    // A token lives a day (plus the verifier's leeway) after the last moment its key signed.
    signing_keys::drop_superseded(db, now - LIFETIME_SECONDS - 300).await?;
    let mut rows = signing_keys::all(db).await?;
    if rows.is_empty() {
        let first = signing_keys::KeyRow {
            kid: FIRST_KID.into(),
            ..new_key(now, 0)
        };
        signing_keys::insert(db, &first).await?;
        rows = signing_keys::all(db).await?;
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(SigningKey {
                secret: hex::decode(&row.secret).ok()?,
                kid: row.kid,
                signs_from: row.signs_from,
            })
        })
        .collect())
}

/// Adds a key that starts signing [`ANNOUNCE_SECONDS`] from now; returns its kid and start.
pub async fn rotate(db: &Db) -> Result<(String, i64), sqlx::Error> {
    let now = store::unix_now();
    let key = new_key(now, now + ANNOUNCE_SECONDS);
    signing_keys::insert(db, &key).await?;
    Ok((key.kid, key.signs_from))
}

fn new_key(now: i64, signs_from: i64) -> signing_keys::KeyRow {
    let mut secret = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let mut kid = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut kid);
    signing_keys::KeyRow {
        kid: hex::encode(kid),
        secret: hex::encode(secret),
        created_at: now,
        signs_from,
    }
}

/// Re-reads the keys every [`RELOAD_SECONDS`] for as long as the server runs.
pub fn keep_current(db: Db, tokens: Arc<SessionTokens>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(RELOAD_SECONDS));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = reload(&db, &tokens).await {
                tracing::warn!("signing keys not reloaded: {e}");
            }
        }
    });
}

/// Takes in the keys as the database has them now.
pub async fn reload(db: &Db, tokens: &SessionTokens) -> Result<(), String> {
    let keys = load_or_create(db).await.map_err(|e| e.to_string())?;
    tokens.replace_keys(&keys).map_err(|e| e.to_string())
}
