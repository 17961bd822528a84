//! Signing in to other apps with Latchkey (OpenID Connect): the consent page's server
//! functions, and the account page's "Apps with access".

#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the consent page shows: which app asks, for which account, and what it would receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentView {
    pub app: String,
    pub username: String,
    /// The scopes asked for, each of which the page names in plain words.
    pub scopes: Vec<String>,
}

/// An app that signs the person in with their account, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// When it was allowed, as text (UTC).
    pub allowed: String,
}

/// The waiting authorization `request`, as the consent page shows it; `None` when it ran out
/// (or never was).
#[server(prefix = "/rpc", endpoint = "consent_request")]
pub async fn consent_request(request: String) -> Result<Option<ConsentView>, FormError> {
    use crate::server::services::oidc::authorize;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let Some((_, asked, client)) = authorize::waiting(&state, &request).await? else {
        return Ok(None);
    };
    Ok(Some(ConsentView {
        app: client.name,
        username: signed_in.account.username,
        scopes: asked.scopes,
    }))
}

/// The person's answer (`allow` is `yes` or `no`), then back to the authorization, which goes
/// on to the app.
#[server(prefix = "/rpc", endpoint = "answer_consent")]
pub async fn answer_consent(request: String, allow: String) -> Result<(), FormError> {
    use crate::server::services::oidc::authorize;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let allow = allow == "yes";
    authorize::answer_consent(&state, &request, signed_in.account.id, allow).await?;
    leptos_axum::redirect(&authorize::resume_path(&request));
    Ok(())
}

/// The apps signed in with this account.
#[server(prefix = "/rpc", endpoint = "apps_with_access")]
pub async fn apps_with_access() -> Result<Vec<AppView>, FormError> {
    use crate::server::store::oidc;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let rows = oidc::apps_with_access(&state.db, signed_in.account.id)
        .await
        .map_err(crate::server::services::ServiceError::from)?;
    Ok(rows
        .into_iter()
        .map(|row| AppView {
            scopes: row.scopes.split(' ').map(str::to_owned).collect(),
            allowed: ssr::utc_text(row.granted_at),
            client_id: row.client_id,
            name: row.name,
        })
        .collect())
}

/// Revokes an app's access: its grants end (it is told, if it listens), and it must ask for
/// consent again.
#[server(prefix = "/rpc", endpoint = "revoke_app")]
pub async fn revoke_app(client_id: String) -> Result<(), FormError> {
    use crate::server::services::oidc::logout;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    logout::revoke_app(&state, signed_in.account.id, &client_id).await?;
    leptos_axum::redirect("/account?notice=app-revoked");
    Ok(())
}
