//! The admin API (`/admin/api/…`): the console's operations as JSON, for automation. Every
//! request carries an admin API token (`Authorization: Bearer lka_…`); without a live one the
//! answer is 404, as for a path that does not exist. Errors are RFC 9457 problem details.
//! Each handler: parse → `services::admin` → map.

use super::body::{BodyError, FormOrJson};
use crate::domain::Credits;
use crate::server::http::auth::bearer_token;
use crate::server::http::request_id::{meta_from_parts, Meta};
use crate::server::services::admin::{self as service, Action, Operator};
use crate::server::services::{Account, ServiceError};
use crate::server::state::AppState;
use crate::server::store::admin::{AuditFilter, AuditRow};
use crate::server::store::audit::RequestMeta;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    super::with_envelope_errors(
        Router::new()
            .route("/admin/api/users", get(search))
            .route("/admin/api/users/{id}", get(user))
            .route("/admin/api/users/{id}/{action}", post(act))
            .route(
                "/admin/api/users/{id}/passkeys/{credential}/remove",
                post(remove_passkey),
            )
            .route("/admin/api/audit", get(audit))
            .route("/admin/api/audit.csv", get(audit_csv))
            .route("/admin/api/clients", get(clients).post(add_client))
            .route("/admin/api/clients/{client_id}", post(edit_client))
            .route(
                "/admin/api/clients/{client_id}/{action}",
                post(client_action),
            )
            .route("/admin/api/{*rest}", axum::routing::any(unknown)),
    )
}

async fn unknown() -> AdminApiError {
    ServiceError::NotFound.into()
}

/// An RFC 9457 problem: what went wrong, for a program and for a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's name (`Not Found`, `Forbidden`, …).
    pub title: String,
    pub status: u16,
    /// What was wrong with this request.
    pub detail: String,
    /// One entry per refused field, when fields were refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub detail: String,
}

/// A failed admin API request, answered as `application/problem+json`.
#[derive(Debug)]
pub struct AdminApiError {
    status: StatusCode,
    detail: String,
    errors: Vec<FieldProblem>,
    retry_after: Option<i64>,
}

impl AdminApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        AdminApiError {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for AdminApiError {
    fn from(error: ServiceError) -> Self {
        let status = error.status();
        let retry_after = error.retry_after();
        let (detail, errors) = match error {
            ServiceError::Invalid(problems) => {
                let errors: Vec<FieldProblem> = problems
                    .iter()
                    .map(|p| FieldProblem {
                        field: p.field.into(),
                        detail: p.message(),
                    })
                    .collect();
                ("the request was refused; see errors".into(), errors)
            }
            ServiceError::AlreadyDone(what) | ServiceError::NotAllowed(what) => {
                (crate::i18n::Language::English.problem(&what), Vec::new())
            }
            ServiceError::NotFound => ("no such resource".into(), Vec::new()),
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "admin API request failed");
                ("internal server error".into(), Vec::new())
            }
            other => (other.to_string(), Vec::new()),
        };
        AdminApiError {
            status,
            detail,
            errors,
            retry_after,
        }
    }
}

impl From<BodyError> for AdminApiError {
    fn from(error: BodyError) -> Self {
        AdminApiError::new(error.status(), error.message())
    }
}

impl IntoResponse for AdminApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, self.detail, self.errors, self.retry_after)
    }
}

/// A problem-details answer; also what the plumbing's refusals under `/admin/api/` become
/// (`rest::refusal`).
pub fn problem_response(
    status: StatusCode,
    detail: String,
    errors: Vec<FieldProblem>,
    retry_after: Option<i64>,
) -> Response {
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The operator the request's admin API token stands for (its use audited, with the method and
/// path); a request without a live one is answered 404, as for a path that does not exist.
pub struct ByToken(Operator);

impl FromRequestParts<AppState> for ByToken {
    type Rejection = AdminApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or(ServiceError::NotFound)?;
        let what = format!("{} {}", parts.method, parts.uri.path());
        let meta = meta_from_parts(parts);
        Ok(ByToken(
            service::operator_of_token(state, &token, &what, &meta).await?,
        ))
    }
}

/// An account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// `free` or `paid`.
    pub plan: &'static str,
    /// Exact decimal, as text.
    pub credits: String,
    pub enabled: bool,
    pub admin: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Account> for UserJson {
    fn from(account: &Account) -> Self {
        UserJson {
            id: account.id,
            username: account.username.clone(),
            email: account.email.clone(),
            email_verified: account.email_verified,
            phone: account.phone.clone(),
            phone_verified: account.phone_verified,
            plan: if account.paid { "paid" } else { "free" },
            credits: account.credits.to_string(),
            enabled: account.account_enabled,
            admin: account.admin,
            created_at: account.created_at.clone(),
            updated_at: account.updated_at.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A prefix of a username or e-mail address, a phone number (`+` and digits), or an id.
    q: Option<String>,
    /// From 0.
    page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchJson {
    pub users: Vec<UserJson>,
    pub page: i64,
    /// Whether another page follows.
    pub more: bool,
}

#[utoipa::path(get, path = "/admin/api/users", tag = "Admin",
    description = "Searches accounts by a prefix of the username or e-mail address, a phone \
                   number, or an id; 50 a page, by username.",
    params(SearchParams),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = SearchJson),
        (status = 404, description = "No live admin API token", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn search(
    State(state): State<AppState>,
    ByToken(operator): ByToken,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchJson>, AdminApiError> {
    let page = params.page.unwrap_or(0).clamp(0, 10_000);
    let found = service::search(&state, &operator, params.q.as_deref().unwrap_or(""), page).await?;
    Ok(Json(SearchJson {
        users: found.accounts.iter().map(UserJson::from).collect(),
        page,
        more: found.more,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorJson {
    /// `totp` or `passkey`.
    pub kind: &'static str,
    /// A passkey's credential id (empty for the authenticator).
    pub id: String,
    pub name: String,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionJson {
    pub started_at: i64,
    pub last_seen_at: i64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LockJson {
    /// What is locked: `user:<id>:<identifier>`, `device:…`, `devices:…`, `second-step:…`,
    /// `passcodes:…`.
    pub subject: String,
    pub attempts_this_hour: i64,
    /// Unix seconds.
    pub locked_until: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantJson {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub granted_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditJson {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
    pub reason: Option<String>,
    /// JSON text.
    pub before: Option<String>,
    /// JSON text.
    pub after: Option<String>,
}

impl From<AuditRow> for AuditJson {
    fn from(row: AuditRow) -> Self {
        AuditJson {
            id: row.id,
            at: row.at,
            event: row.event,
            user_id: row.user_id,
            username: row.username,
            actor_id: row.actor_id,
            actor: row.actor,
            client_addr: row.client_addr,
            request_id: row.request_id,
            detail: row.detail,
            reason: row.reason,
            before: row.before_state,
            after: row.after_state,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetailJson {
    pub user: UserJson,
    pub factors: Vec<FactorJson>,
    pub recovery_codes_left: i64,
    pub sessions: Vec<SessionJson>,
    pub locks: Vec<LockJson>,
    pub grants: Vec<GrantJson>,
    /// The latest audit events of the account, newest first.
    pub events: Vec<AuditJson>,
}

#[utoipa::path(get, path = "/admin/api/users/{id}", tag = "Admin",
    description = "One account: profile, verification, plan, credits, second factors (kinds \
                   and dates), sessions, login locks in force, apps with access, latest events.",
    params(("id" = i64, Path, description = "The account's id")),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = UserDetailJson),
        (status = 404, description = "No such account, or no live admin API token", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn user(
    State(state): State<AppState>,
    ByToken(operator): ByToken,
    Path(id): Path<String>,
) -> Result<Json<UserDetailJson>, AdminApiError> {
    let id = account_id(&id)?;
    let detail = service::user(&state, &operator, id).await?;
    Ok(Json(UserDetailJson {
        user: UserJson::from(&detail.account),
        factors: detail
            .factors
            .into_iter()
            .map(|f| FactorJson {
                kind: f.kind,
                id: f.id,
                name: f.name,
                added_at: f.added_at,
                last_used_at: f.last_used_at,
            })
            .collect(),
        recovery_codes_left: detail.recovery_codes_left,
        sessions: detail
            .sessions
            .into_iter()
            .map(|s| SessionJson {
                started_at: s.started_at,
                last_seen_at: s.last_seen_at,
                client_addr: s.client_addr,
                user_agent: s.user_agent,
            })
            .collect(),
        locks: detail
            .locks
            .into_iter()
            .map(|l| LockJson {
                subject: l.subject,
                attempts_this_hour: l.attempts_in_window,
                locked_until: l.locked_until,
            })
            .collect(),
        grants: detail
            .grants
            .into_iter()
            .map(|g| GrantJson {
                client_id: g.client_id,
                name: g.name,
                scopes: g.scopes,
                granted_at: g.granted_at,
            })
            .collect(),
        events: detail.events.into_iter().map(AuditJson::from).collect(),
    }))
}

fn account_id(text: &str) -> Result<i64, AdminApiError> {
    text.parse().map_err(|_| ServiceError::NotFound.into())
}

/// What every action takes: why it is done, and what some of them need besides.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionBody {
    /// Why: 1 to 500 characters, kept in the audit log.
    reason: Option<String>,
    /// `credits`: the amount to grant (positive) or deduct (negative), as a number or text.
    amount: Option<serde_json::Value>,
    /// `plan`: `paid` or `free`.
    plan: Option<String>,
}

/// Done: the account as it is now (none once it is erased).
#[derive(Debug, Serialize, ToSchema)]
pub struct DoneJson {
    pub user: Option<UserJson>,
}

#[utoipa::path(post, path = "/admin/api/users/{id}/{action}", tag = "Admin",
    description = "An action on an account, with a reason: `disable` (ends every session, \
                   grant and refresh token; every sign-in is refused), `enable`, `unlock` \
                   (lifts every login lock), `end-sessions`, `remove-totp`, `send-reset` (the \
                   password-reset mail), `credits` (with `amount`), `plan` (with `plan`), \
                   `delete` (erased now, without the grace). Needs a read-write token.",
    params(
        ("id" = i64, Path, description = "The account's id"),
        ("action" = String, Path, description = "disable, enable, unlock, end-sessions, \
            remove-totp, send-reset, credits, plan or delete"),
    ),
    request_body(content(
        (ActionBody = "application/json"),
        (ActionBody = "application/x-www-form-urlencoded"),
    )),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = DoneJson),
        (status = 400, description = "No reason, or a malformed amount or plan", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "A read-only token; an action on the operator's own \
            account that the console refuses; nothing to change", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such account or action, or no live admin API token",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn act(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ByToken(operator): ByToken,
    Path((id, action)): Path<(String, String)>,
    body: Result<FormOrJson<ActionBody>, BodyError>,
) -> Result<Json<DoneJson>, AdminApiError> {
    let id = account_id(&id)?;
    let FormOrJson(body) = body?;
    let action = match action.as_str() {
        "disable" => Action::Disable,
        "enable" => Action::Enable,
        "unlock" => Action::Unlock,
        "end-sessions" => Action::EndSessions,
        "remove-totp" => Action::RemoveTotp,
        "send-reset" => Action::SendReset,
        "delete" => Action::Delete,
        "credits" => Action::AdjustCredits(amount_of(body.amount.as_ref())?),
        "plan" => match body.plan.as_deref() {
            Some("paid") => Action::SetPlan { paid: true },
            Some("free") => Action::SetPlan { paid: false },
            _ => {
                return Err(AdminApiError::new(
                    StatusCode::BAD_REQUEST,
                    "plan must be \"paid\" or \"free\"",
                ))
            }
        },
        _ => return Err(ServiceError::NotFound.into()),
    };
    done(
        &state,
        &operator,
        id,
        &action,
        body.reason.as_deref(),
        &meta,
    )
    .await
}

#[utoipa::path(post, path = "/admin/api/users/{id}/passkeys/{credential}/remove", tag = "Admin",
    description = "Removes one passkey of an account, with a reason. Needs a read-write token.",
    params(
        ("id" = i64, Path, description = "The account's id"),
        ("credential" = String, Path, description = "The passkey's credential id"),
    ),
    request_body(content(
        (ActionBody = "application/json"),
        (ActionBody = "application/x-www-form-urlencoded"),
    )),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = DoneJson),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn remove_passkey(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ByToken(operator): ByToken,
    Path((id, credential)): Path<(String, String)>,
    body: Result<FormOrJson<ActionBody>, BodyError>,
) -> Result<Json<DoneJson>, AdminApiError> {
    let id = account_id(&id)?;
    let FormOrJson(body) = body?;
    let action = Action::RemovePasskey(credential);
    done(
        &state,
        &operator,
        id,
        &action,
        body.reason.as_deref(),
        &meta,
    )
    .await
}

async fn done(
    state: &AppState,
    operator: &Operator,
    id: i64,
    action: &Action,
    reason: Option<&str>,
    meta: &RequestMeta,
) -> Result<Json<DoneJson>, AdminApiError> {
    service::act(state, operator, id, action, reason.unwrap_or(""), meta).await?;
    if *action == Action::Delete {
        return Ok(Json(DoneJson { user: None }));
    }
    let detail = service::user(state, operator, id).await?;
    Ok(Json(DoneJson {
        user: Some(UserJson::from(&detail.account)),
    }))
}

/// An amount of credits sent as a JSON number or as text; never zero.
fn amount_of(value: Option<&serde_json::Value>) -> Result<Credits, AdminApiError> {
    let text = match value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Number(number)) => number.to_string(),
        _ => String::new(),
    };
    let refused = || {
        AdminApiError::new(
            StatusCode::BAD_REQUEST,
            "amount must be a non-zero decimal with at most six places, e.g. 12.5 or -3",
        )
    };
    let amount = Credits::parse(&text).map_err(|_| refused())?;
    if amount.micro() == 0 {
        return Err(refused());
    }
    Ok(amount)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events of this account (its username).
    user: Option<String>,
    /// Only actions of this admin (their username).
    actor: Option<String>,
    /// An event name (`admin.account_disabled`), or a prefix ending in `.` (`admin.`).
    event: Option<String>,
    /// From this time on (RFC 3339, UTC; a date alone will do).
    from: Option<String>,
    /// Before this time.
    until: Option<String>,
    /// The page after the one that ended with this id (`next_before`).
    before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageJson {
    pub entries: Vec<AuditJson>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

impl AuditParams {
    pub fn new(
        user: String,
        actor: String,
        event: String,
        from: String,
        until: String,
        before: Option<i64>,
    ) -> Self {
        AuditParams {
            user: Some(user),
            actor: Some(actor),
            event: Some(event),
            from: Some(from),
            until: Some(until),
            before,
        }
    }

    /// The audit filter the parameters name; an unknown username matches nothing.
    pub async fn filter(&self, state: &AppState) -> Result<AuditFilter, ServiceError> {
        let id_of = |name: Option<&str>| {
            let name = name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            async move {
                match name {
                    None => Ok(None),
                    Some(name) => match service::account_named(&state.db, &name).await {
                        Ok(account) => Ok(Some(account.id)),
                        // No such account: a filter nothing matches.
                        Err(ServiceError::NotFound) => Ok(Some(-1)),
                        Err(other) => Err(other),
                    },
                }
            }
        };
        let text = |value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(64).collect::<String>())
        };
        Ok(AuditFilter {
            user_id: id_of(self.user.as_deref()).await?,
            actor_id: id_of(self.actor.as_deref()).await?,
            event: text(self.event.as_deref()),
            from: text(self.from.as_deref()),
            until: text(self.until.as_deref()),
            before_id: self.before,
        })
    }
}

#[utoipa::path(get, path = "/admin/api/audit", tag = "Admin",
    description = "The audit log, newest first, 100 a page, filtered by account, actor, kind \
                   of event and time.",
    params(AuditParams),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = AuditPageJson),
        (status = 404, description = "No live admin API token", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn audit(
    State(state): State<AppState>,
    ByToken(operator): ByToken,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPageJson>, AdminApiError> {
    let filter = params.filter(&state).await?;
    let page = service::audit_log(&state, &operator, &filter).await?;
    Ok(Json(AuditPageJson {
        entries: page.entries.into_iter().map(AuditJson::from).collect(),
        next_before: page.next_before_id,
    }))
}

#[utoipa::path(get, path = "/admin/api/audit.csv", tag = "Admin",
    description = "The audit log as CSV (the same filters), every matching entry, streamed.",
    params(AuditParams),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "CSV, a header line then newest first", content_type = "text/csv"),
        (status = 404, description = "No live admin API token", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn audit_csv(
    State(state): State<AppState>,
    ByToken(operator): ByToken,
    Query(params): Query<AuditParams>,
) -> Result<Response, AdminApiError> {
    let filter = params.filter(&state).await?;
    Ok(csv_response(state, operator, filter))
}

/// `GET /admin/audit.csv`: the console's export, for a signed-in admin (reading needs no
/// step-up); 404 for anyone else.
pub async fn console_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> Response {
    let operator = async {
        let token = crate::server::http::auth::token_from_headers(&headers)
            .ok_or(ServiceError::NotFound)?;
        let signed_in = crate::server::services::sessions::resolve(&state, &token)
            .await
            .map_err(|_| ServiceError::NotFound)?;
        service::operator_of_session(&state, &signed_in).await
    };
    let filter = async {
        let operator = operator.await?;
        Ok::<_, ServiceError>((operator, params.filter(&state).await?))
    };
    match filter.await {
        Ok((operator, filter)) => csv_response(state, operator, filter),
        Err(ServiceError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(other) => other.status().into_response(),
    }
}

/// An app (OpenID Connect client) as the admin API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientJson {
    pub client_id: String,
    pub name: String,
    /// A single-page or native app: no secret, PKCE required.
    pub public: bool,
    /// Its users are not asked for consent.
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

impl From<crate::server::services::oidc_clients::Client> for ClientJson {
    fn from(client: crate::server::services::oidc_clients::Client) -> Self {
        ClientJson {
            client_id: client.client_id,
            name: client.name,
            public: client.public,
            first_party: client.first_party,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            backchannel_logout_uri: client.backchannel_logout_uri,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientsJson {
    pub clients: Vec<ClientJson>,
}

#[utoipa::path(get, path = "/admin/api/clients", tag = "Admin",
    description = "The apps that sign their users in with Latchkey (OpenID Connect clients).",
    security(("adminToken" = [])),
    responses(
        (status = 200, body = ClientsJson),
        (status = 404, description = "No live admin API token", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn clients(
    State(state): State<AppState>,
    ByToken(operator): ByToken,
) -> Result<Json<ClientsJson>, AdminApiError> {
    let clients = service::clients(&state, &operator).await?;
    Ok(Json(ClientsJson {
        clients: clients.into_iter().map(ClientJson::from).collect(),
    }))
}

/// An app to register or the new name and addresses of one, with the reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientBody {
    reason: Option<String>,
    name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// Registration only: a public client (no secret, PKCE required).
    #[serde(default)]
    public: bool,
    /// Registration only: its users are not asked for consent.
    #[serde(default)]
    first_party: bool,
}

impl ClientBody {
    fn asked(&self) -> crate::server::services::oidc_clients::NewClient {
        crate::server::services::oidc_clients::NewClient {
            name: self.name.clone().unwrap_or_default(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .clone()
                .filter(|u| !u.is_empty()),
            public: self.public,
            first_party: self.first_party,
        }
    }
}

/// An app's id, and its secret when one was made (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedJson {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[utoipa::path(post, path = "/admin/api/clients", tag = "Admin",
    description = "Registers an app, with a reason; its secret (confidential apps) is in this \
                   answer only. JSON only (the URI lists are arrays). Needs a read-write token.",
    request_body(content((ClientBody = "application/json"))),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = IssuedJson),
        (status = 400, description = "No reason, or a name or URI the registry refuses",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read-only token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No live admin API token", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn add_client(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ByToken(operator): ByToken,
    body: Result<FormOrJson<ClientBody>, BodyError>,
) -> Result<Json<IssuedJson>, AdminApiError> {
    let FormOrJson(body) = body?;
    let reason = body.reason.as_deref().unwrap_or("");
    let issued = service::add_client(&state, &operator, &body.asked(), reason, &meta).await?;
    Ok(Json(IssuedJson {
        client_id: issued.client_id,
        client_secret: issued.client_secret,
    }))
}

#[utoipa::path(post, path = "/admin/api/clients/{client_id}", tag = "Admin",
    description = "Changes an app's name and URIs (not its kind), with a reason. Needs a \
                   read-write token.",
    params(("client_id" = String, Path, description = "The app's client id")),
    request_body(content((ClientBody = "application/json"))),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = ClientsJson),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn edit_client(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ByToken(operator): ByToken,
    Path(client_id): Path<String>,
    body: Result<FormOrJson<ClientBody>, BodyError>,
) -> Result<Json<ClientsJson>, AdminApiError> {
    let FormOrJson(body) = body?;
    let reason = body.reason.as_deref().unwrap_or("");
    service::edit_client(&state, &operator, &client_id, &body.asked(), reason, &meta).await?;
    clients(State(state), ByToken(operator)).await
}

#[utoipa::path(post, path = "/admin/api/clients/{client_id}/{action}", tag = "Admin",
    description = "`rotate-secret` (a new secret, in this answer only; the old one stops at \
                   once) or `remove` (its grants, codes and refresh tokens go with it), with a \
                   reason. Needs a read-write token.",
    params(
        ("client_id" = String, Path, description = "The app's client id"),
        ("action" = String, Path, description = "rotate-secret or remove"),
    ),
    request_body(content(
        (ActionBody = "application/json"),
        (ActionBody = "application/x-www-form-urlencoded"),
    )),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = IssuedJson),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(super) async fn client_action(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ByToken(operator): ByToken,
    Path((client_id, action)): Path<(String, String)>,
    body: Result<FormOrJson<ActionBody>, BodyError>,
) -> Result<Json<IssuedJson>, AdminApiError> {
    let FormOrJson(body) = body?;
    let reason = body.reason.as_deref().unwrap_or("");
    match action.as_str() {
        "rotate-secret" => {
            let issued =
                service::rotate_client_secret(&state, &operator, &client_id, reason, &meta).await?;
            Ok(Json(IssuedJson {
                client_id: issued.client_id,
                client_secret: issued.client_secret,
            }))
        }
        "remove" => {
            service::remove_client(&state, &operator, &client_id, reason, &meta).await?;
            Ok(Json(IssuedJson {
                client_id,
                client_secret: None,
            }))
        }
        _ => Err(ServiceError::NotFound.into()),
    }
}

/// The audit log as a streamed CSV download: read a page at a time, so an export of millions
/// of entries holds one page in memory.
pub fn csv_response(state: AppState, operator: Operator, filter: AuditFilter) -> Response {
    use futures_util::StreamExt;
    const HEADER: &str = "id,at,event,user_id,username,actor_id,actor,client_addr,request_id,\
                          detail,reason,before,after\n";
    let pages = futures_util::stream::unfold(Some(filter), move |filter| {
        let state = state.clone();
        let operator = operator.clone();
        async move {
            let mut filter = filter?;
            match service::audit_log(&state, &operator, &filter).await {
                Ok(page) => {
                    let text: String = page.entries.iter().map(csv_line).collect();
                    let next = page.next_before_id.map(|before| {
                        filter.before_id = Some(before);
                        filter
                    });
                    Some((Ok::<_, std::io::Error>(text), next))
                }
                Err(e) => {
                    // The status is sent already: end the download short, logged.
                    tracing::error!("audit export stopped: {e}");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = futures_util::stream::once(async { Ok(HEADER.to_owned()) }).chain(pages);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"latchkey-audit.csv\"",
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

fn csv_line(row: &AuditRow) -> String {
    let fields = [
        row.id.to_string(),
        row.at.clone(),
        row.event.clone(),
        row.user_id.map(|v| v.to_string()).unwrap_or_default(),
        row.username.clone().unwrap_or_default(),
        row.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        row.actor.clone().unwrap_or_default(),
        row.client_addr.clone().unwrap_or_default(),
        row.request_id.clone().unwrap_or_default(),
        row.detail.clone().unwrap_or_default(),
        row.reason.clone().unwrap_or_default(),
        row.before_state.clone().unwrap_or_default(),
        row.after_state.clone().unwrap_or_default(),
    ];
    let mut line = fields
        .iter()
        .map(|field| csv_field(field))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// RFC 4180 quoting, and a leading `'` before what a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`): a reason or a user agent is whatever somebody typed.
fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn amounts_are_non_zero_decimals_as_numbers_or_text() {
        let number = serde_json::json!(12.5);
        assert_eq!(amount_of(Some(&number)).unwrap().to_string(), "12.5");
        let text = serde_json::json!("-3");
        assert_eq!(amount_of(Some(&text)).unwrap().to_string(), "-3");
        assert!(amount_of(Some(&serde_json::json!(0))).is_err());
        assert!(amount_of(Some(&serde_json::json!("1e3"))).is_err());
        assert!(amount_of(None).is_err());
    }
}
