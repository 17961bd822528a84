//! The operators' console's server functions: what its pages show (search, an account, the
//! audit log, API tokens, apps) and the actions their forms send. Every one of them answers 404
//! to anyone but an admin with a second factor (`services::admin`), and every endpoint's name
//! starts with `admin_`, so the console's own listener can keep them off the public one.

#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who is at the console, and whether changes are open (step-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleHeader {
    pub admin: String,
    /// Until when changes are open, as text; `None` when a second-factor check is due first.
    pub changes_open_until: Option<String>,
}

/// An account as a search lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRowView {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub phone: Option<String>,
    pub paid: bool,
    pub enabled: bool,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchView {
    pub header: ConsoleHeader,
    pub accounts: Vec<AccountRowView>,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorRowView {
    /// `totp` or `passkey`.
    pub kind: String,
    /// A passkey's credential id (empty for the authenticator app).
    pub id: String,
    pub name: String,
    pub added: String,
    pub last_used: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRowView {
    pub client: String,
    pub started: String,
    pub last_seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockView {
    pub subject: String,
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRowView {
    pub app: String,
    pub scopes: String,
    pub since: String,
}

/// An audit log entry as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRowView {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub account: Option<String>,
    pub account_id: Option<i64>,
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// `before → after`, when the entry records a change.
    pub change: Option<String>,
    pub detail: Option<String>,
    pub client_addr: Option<String>,
}

/// Everything an account's page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub header: ConsoleHeader,
    pub id: i64,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub paid: bool,
    pub credits: String,
    pub enabled: bool,
    pub admin: bool,
    pub created: String,
    pub updated: String,
    pub factors: Vec<FactorRowView>,
    pub recovery_codes_left: i64,
    pub sessions: Vec<SessionRowView>,
    pub locks: Vec<LockView>,
    pub grants: Vec<GrantRowView>,
    pub events: Vec<EventRowView>,
    /// The admin's own account: the console refuses some actions on it.
    pub yourself: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditView {
    pub header: ConsoleHeader,
    pub events: Vec<EventRowView>,
    /// The id to continue from for the next page, when there is one.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRowView {
    pub id: String,
    pub name: String,
    pub read_only: bool,
    pub created: String,
    pub expires: String,
    /// `live`, `revoked` or `expired`.
    pub state: String,
    pub last_used: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokensView {
    pub header: ConsoleHeader,
    pub tokens: Vec<TokenRowView>,
    /// A token made just now, shown this once.
    pub shown: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientsView {
    pub header: ConsoleHeader,
    pub clients: Vec<ClientView>,
    /// A client id and secret made just now (`id secret`), shown this once.
    pub shown: Option<String>,
}

#[cfg(feature = "ssr")]
mod views {
    use super::*;
    use crate::server::services::admin::Operator;
    use crate::server::store::admin::AuditRow;

    pub fn header(operator: &Operator) -> ConsoleHeader {
        let now = crate::server::store::unix_now();
        ConsoleHeader {
            admin: operator.account.username.clone(),
            changes_open_until: operator.changes_open_until(now).map(ssr::utc_text),
        }
    }

    /// An RFC 3339 time from the database as people read it: to the second, UTC.
    pub fn moment(at: &str) -> String {
        at.get(..19).unwrap_or(at).replace('T', " ")
    }

    pub fn event(row: AuditRow) -> EventRowView {
        let change = match (&row.before_state, &row.after_state) {
            (Some(before), Some(after)) => Some(format!("{before} → {after}")),
            (None, Some(after)) => Some(after.clone()),
            _ => None,
        };
        EventRowView {
            id: row.id,
            at: moment(&row.at),
            event: row.event,
            account: row.username,
            account_id: row.user_id,
            actor: row.actor,
            reason: row.reason.filter(|r| !r.is_empty()),
            change,
            detail: row.detail,
            client_addr: row.client_addr,
        }
    }

    /// URIs typed one per line (or separated by spaces).
    pub fn uri_list(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }
}

/// Who is at the console (404 for anyone but an admin): for pages that show nothing else.
#[server(prefix = "/rpc", endpoint = "admin_header")]
pub async fn admin_header() -> Result<ConsoleHeader, FormError> {
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    Ok(views::header(&operator))
}

/// One page of accounts matching what was typed (all accounts, by name, when nothing was).
#[server(prefix = "/rpc", endpoint = "admin_search")]
pub async fn admin_search(q: String, page: i64) -> Result<SearchView, FormError> {
    use crate::server::services::admin;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let found = admin::search(&state, &operator, &q, page.clamp(0, 10_000)).await?;
    Ok(SearchView {
        header: views::header(&operator),
        accounts: found
            .accounts
            .into_iter()
            .map(|account| AccountRowView {
                id: account.id,
                username: account.username,
                email: account.email,
                phone: account.phone,
                paid: account.paid,
                enabled: account.account_enabled,
                created: views::moment(&account.created_at),
            })
            .collect(),
        more: found.more,
    })
}

/// An account's page.
#[server(prefix = "/rpc", endpoint = "admin_user")]
pub async fn admin_user(id: i64) -> Result<UserView, FormError> {
    use crate::server::services::admin;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let detail = admin::user(&state, &operator, id).await?;
    let account = detail.account;
    Ok(UserView {
        header: views::header(&operator),
        yourself: account.id == operator.account.id,
        id: account.id,
        username: account.username,
        email: account.email,
        email_verified: account.email_verified,
        phone: account.phone,
        phone_verified: account.phone_verified,
        paid: account.paid,
        credits: account.credits.to_string(),
        enabled: account.account_enabled,
        admin: account.admin,
        created: views::moment(&account.created_at),
        updated: views::moment(&account.updated_at),
        factors: detail
            .factors
            .into_iter()
            .map(|factor| FactorRowView {
                kind: factor.kind.into(),
                id: factor.id,
                name: factor.name,
                added: factor.added_at.map(ssr::utc_text).unwrap_or_default(),
                last_used: factor.last_used_at.map(ssr::utc_text),
            })
            .collect(),
        recovery_codes_left: detail.recovery_codes_left,
        sessions: detail
            .sessions
            .into_iter()
            .map(|session| SessionRowView {
                client: ssr::client_text(
                    session.user_agent.as_deref(),
                    session.client_addr.as_deref(),
                ),
                started: ssr::utc_text(session.started_at),
                last_seen: ssr::utc_text(session.last_seen_at),
            })
            .collect(),
        locks: detail
            .locks
            .into_iter()
            .map(|lock| LockView {
                subject: lock.subject,
                until: ssr::utc_text(lock.locked_until),
            })
            .collect(),
        grants: detail
            .grants
            .into_iter()
            .map(|grant| GrantRowView {
                app: grant.name,
                scopes: grant.scopes,
                since: ssr::utc_text(grant.granted_at),
            })
            .collect(),
        events: detail.events.into_iter().map(views::event).collect(),
    })
}

/// An action on account `id` (`action`: disable, enable, unlock, end-sessions, remove-totp,
/// remove-passkey with `passkey`, send-reset, credits with `amount`, plan with `plan`), with a
/// reason; then back to the account's page, which says it was done.
#[server(prefix = "/rpc", endpoint = "admin_act")]
pub async fn admin_act(
    id: i64,
    action: String,
    reason: String,
    amount: Option<String>,
    plan: Option<String>,
    passkey: Option<String>,
) -> Result<(), FormError> {
    use crate::domain::Credits;
    use crate::server::services::admin::{self, Action};
    use crate::server::services::ServiceError;
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let action = match action.as_str() {
        "disable" => Action::Disable,
        "enable" => Action::Enable,
        "unlock" => Action::Unlock,
        "end-sessions" => Action::EndSessions,
        "remove-totp" => Action::RemoveTotp,
        "remove-passkey" => Action::RemovePasskey(passkey.unwrap_or_default()),
        "send-reset" => Action::SendReset,
        "delete" => Action::Delete,
        "credits" => {
            let amount = Credits::parse(amount.as_deref().unwrap_or("")).map_err(|e| {
                ServiceError::from(crate::domain::Invalid::new("amount", e.problem))
            })?;
            Action::AdjustCredits(amount)
        }
        "plan" => Action::SetPlan {
            paid: plan.as_deref() == Some("paid"),
        },
        _ => return Err(ServiceError::NotFound.into()),
    };
    admin::act(&state, &operator, id, &action, &reason, &meta).await?;
    if action == Action::Delete {
        leptos_axum::redirect("/admin?done=deleted");
        return Ok(());
    }
    leptos_axum::redirect(&format!("/admin/users/{id}?done={}", action_name(&action)));
    Ok(())
}

#[cfg(feature = "ssr")]
fn action_name(action: &crate::server::services::admin::Action) -> &'static str {
    use crate::server::services::admin::Action;
    match action {
        Action::Disable => "disable",
        Action::Enable => "enable",
        Action::Unlock => "unlock",
        Action::EndSessions => "end-sessions",
        Action::RemoveTotp => "remove-totp",
        Action::RemovePasskey(_) => "remove-passkey",
        Action::SendReset => "send-reset",
        Action::AdjustCredits(_) => "credits",
        Action::SetPlan { .. } => "plan",
        Action::Delete => "delete",
    }
}

/// The console's second-factor check: a code from the admin's authenticator opens changes for
/// ten minutes; then on to `next` (a console page).
#[server(prefix = "/rpc", endpoint = "admin_step_up")]
pub async fn admin_step_up(code: String, next: String) -> Result<(), FormError> {
    use crate::server::services::admin::{self, StepUpProof};
    let (state, meta) = ssr::context()?;
    ssr::operator(&state).await?;
    let signed_in = ssr::signed_in(&state).await?;
    admin::step_up(&state, &signed_in, StepUpProof::Code(&code), &meta).await?;
    leptos_axum::redirect(&console_page(next));
    Ok(())
}

/// Starts the step-up with one of the admin's passkeys (`public/passkeys.js` runs it).
#[server(prefix = "/rpc", endpoint = "admin_step_up_passkey_start")]
pub async fn admin_step_up_passkey_start() -> Result<super::PasskeyCeremony, FormError> {
    use crate::server::services::passkeys;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let ceremony = passkeys::begin_step_up(&state, operator.account.id).await?;
    Ok(ceremony.into())
}

/// Finishes the step-up with a passkey: the console page to go on to.
#[server(prefix = "/rpc", endpoint = "admin_step_up_passkey_finish")]
pub async fn admin_step_up_passkey_finish(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, FormError> {
    use crate::server::services::admin::{self, StepUpProof};
    let (state, meta) = ssr::context()?;
    ssr::operator(&state).await?;
    let signed_in = ssr::signed_in(&state).await?;
    let proof = StepUpProof::Passkey {
        ceremony: &ceremony,
        credential: &credential,
    };
    admin::step_up(&state, &signed_in, proof, &meta).await?;
    Ok(console_page(next.unwrap_or_default()))
}

/// `next` when it is a page of the console, else the console's first page: the forms' `next`
/// is whatever was posted, and a step-up leads only back into the console.
#[cfg(feature = "ssr")]
fn console_page(next: String) -> String {
    let into_console =
        next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?");
    if into_console && crate::domain::is_site_page(&next) {
        next
    } else {
        "/admin".to_owned()
    }
}

/// The audit log, filtered: by account and actor (usernames), kind of event (a name, or a
/// prefix ending in `.`), time (`from`, `until`: RFC 3339 or a date), newest first.
#[server(prefix = "/rpc", endpoint = "admin_audit")]
pub async fn admin_audit(
    user: String,
    actor: String,
    event: String,
    from: String,
    until: String,
    before: Option<i64>,
) -> Result<AuditView, FormError> {
    use crate::server::services::admin;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let params =
        crate::server::rest::admin::AuditParams::new(user, actor, event, from, until, before);
    let filter = params.filter(&state).await?;
    let page = admin::audit_log(&state, &operator, &filter).await?;
    Ok(AuditView {
        header: views::header(&operator),
        events: page.entries.into_iter().map(views::event).collect(),
        next_before: page.next_before_id,
    })
}

/// The admin API tokens, and one made just now (shown this once).
#[server(prefix = "/rpc", endpoint = "admin_tokens")]
pub async fn admin_tokens() -> Result<TokensView, FormError> {
    use crate::server::services::admin;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let now = crate::server::store::unix_now();
    let tokens = admin::tokens(&state, &operator)
        .await?
        .into_iter()
        .map(|token| TokenRowView {
            state: if token.revoked_at.is_some() {
                "revoked"
            } else if token.expires_at <= now {
                "expired"
            } else {
                "live"
            }
            .into(),
            id: token.id,
            name: token.name,
            read_only: token.read_only,
            created: ssr::utc_text(token.created_at),
            expires: ssr::utc_text(token.expires_at),
            last_used: token.last_used_at.map(ssr::utc_text),
        })
        .collect();
    Ok(TokensView {
        header: views::header(&operator),
        tokens,
        shown: ssr::take_shown_console_secret(&state, operator.account.id),
    })
}

/// Makes an admin API token (`access`: `read` or `write`), valid `days` days; the page shows it
/// once.
#[server(prefix = "/rpc", endpoint = "admin_create_token")]
pub async fn admin_create_token(name: String, access: String, days: i64) -> Result<(), FormError> {
    use crate::server::services::admin;
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let read_only = access != "write";
    let made = admin::create_token(&state, &operator, &name, read_only, days, &meta).await?;
    ssr::show_console_secret_once(&state, operator.account.id, &made.token);
    leptos_axum::redirect("/admin/tokens?done=token-made");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin_revoke_token")]
pub async fn admin_revoke_token(id: String) -> Result<(), FormError> {
    use crate::server::services::admin;
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    admin::revoke_token(&state, &operator, &id, &meta).await?;
    leptos_axum::redirect("/admin/tokens?done=token-revoked");
    Ok(())
}

/// The registered apps, and a secret made just now (shown this once).
#[server(prefix = "/rpc", endpoint = "admin_clients")]
pub async fn admin_clients() -> Result<ClientsView, FormError> {
    use crate::server::services::admin;
    let (state, _) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let clients = admin::clients(&state, &operator)
        .await?
        .into_iter()
        .map(|client| ClientView {
            client_id: client.client_id,
            name: client.name,
            public: client.public,
            first_party: client.first_party,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            backchannel_logout_uri: client.backchannel_logout_uri,
        })
        .collect();
    Ok(ClientsView {
        header: views::header(&operator),
        clients,
        shown: ssr::take_shown_console_secret(&state, operator.account.id),
    })
}

/// Registers an app (`kind`: `confidential` or `public`; `first_party` checked: no consent
/// asked). URIs one per line.
#[server(prefix = "/rpc", endpoint = "admin_add_client")]
pub async fn admin_add_client(
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    kind: String,
    first_party: Option<String>,
    reason: String,
) -> Result<(), FormError> {
    use crate::server::services::{admin, oidc_clients::NewClient};
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let asked = NewClient {
        name,
        redirect_uris: views::uri_list(&redirect_uris),
        post_logout_redirect_uris: views::uri_list(&post_logout_redirect_uris),
        backchannel_logout_uri: Some(backchannel_logout_uri.trim().to_owned())
            .filter(|uri| !uri.is_empty()),
        public: kind == "public",
        first_party: first_party.is_some(),
    };
    let issued = admin::add_client(&state, &operator, &asked, &reason, &meta).await?;
    let shown = match &issued.client_secret {
        Some(secret) => format!("{} {secret}", issued.client_id),
        None => issued.client_id.clone(),
    };
    ssr::show_console_secret_once(&state, operator.account.id, &shown);
    leptos_axum::redirect("/admin/clients?done=client-added");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin_edit_client")]
pub async fn admin_edit_client(
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    reason: String,
) -> Result<(), FormError> {
    use crate::server::services::{admin, oidc_clients::NewClient};
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let asked = NewClient {
        name,
        redirect_uris: views::uri_list(&redirect_uris),
        post_logout_redirect_uris: views::uri_list(&post_logout_redirect_uris),
        backchannel_logout_uri: Some(backchannel_logout_uri.trim().to_owned())
            .filter(|uri| !uri.is_empty()),
        ..NewClient::default()
    };
    admin::edit_client(&state, &operator, &client_id, &asked, &reason, &meta).await?;
    leptos_axum::redirect("/admin/clients?done=client-edited");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin_rotate_client_secret")]
pub async fn admin_rotate_client_secret(
    client_id: String,
    reason: String,
) -> Result<(), FormError> {
    use crate::server::services::admin;
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    let issued = admin::rotate_client_secret(&state, &operator, &client_id, &reason, &meta).await?;
    let secret = issued.client_secret.unwrap_or_default();
    ssr::show_console_secret_once(
        &state,
        operator.account.id,
        &format!("{client_id} {secret}"),
    );
    leptos_axum::redirect("/admin/clients?done=secret-rotated");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "admin_remove_client")]
pub async fn admin_remove_client(client_id: String, reason: String) -> Result<(), FormError> {
    use crate::server::services::admin;
    let (state, meta) = ssr::context()?;
    let operator = ssr::operator(&state).await?;
    admin::remove_client(&state, &operator, &client_id, &reason, &meta).await?;
    leptos_axum::redirect("/admin/clients?done=client-removed");
    Ok(())
}
