//! The `oidc_clients` table: the apps registered to sign their users in with Latchkey.

use super::{on_backend, Exec};
use sqlx::FromRow;

/// A registered client as stored; the URI lists are JSON arrays.
#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub first_party: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
                       backchannel_logout_uri, first_party, created_at, updated_at";

pub async fn insert(db: impl Into<Exec<'_>>, client: &ClientRow) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_clients (client_id, name, secret_hash, redirect_uris, \
         post_logout_redirect_uris, backchannel_logout_uri, first_party, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&client.client_id)
    .bind(&client.name)
    .bind(&client.secret_hash)
    .bind(&client.redirect_uris)
    .bind(&client.post_logout_redirect_uris)
    .bind(&client.backchannel_logout_uri)
    .bind(client.first_party)
    .bind(client.created_at)
    .bind(client.updated_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Every registered client, oldest first.
pub async fn all(db: impl Into<Exec<'_>>) -> Result<Vec<ClientRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_clients ORDER BY created_at, client_id");
    on_backend!(db, e => sqlx::query_as(&sql).fetch_all(e).await)
}

pub async fn find(
    db: impl Into<Exec<'_>>,
    client_id: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_clients WHERE client_id = $1");
    on_backend!(db, e => sqlx::query_as(&sql).bind(client_id).fetch_optional(e).await)
}

/// Removes a client; whether there was one.
pub async fn remove(db: impl Into<Exec<'_>>, client_id: &str) -> Result<bool, sqlx::Error> {
    let removed = on_backend!(db, e => sqlx::query("DELETE FROM oidc_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(removed == 1)
}

/// Replaces a confidential client's secret hash; `false` when there is no such confidential
/// client (a public client has no secret to rotate).
pub async fn replace_secret_hash(
    db: impl Into<Exec<'_>>,
    client_id: &str,
    secret_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE oidc_clients SET secret_hash = $1, updated_at = $2 \
         WHERE client_id = $3 AND secret_hash IS NOT NULL",
    )
    .bind(secret_hash)
    .bind(now)
    .bind(client_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

/// Writes a client's name and addresses.
pub async fn update(db: impl Into<Exec<'_>>, client: &ClientRow) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE oidc_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
         backchannel_logout_uri = $4, updated_at = $5 WHERE client_id = $6",
    )
    .bind(&client.name)
    .bind(&client.redirect_uris)
    .bind(&client.post_logout_redirect_uris)
    .bind(&client.backchannel_logout_uri)
    .bind(client.updated_at)
    .bind(&client.client_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
