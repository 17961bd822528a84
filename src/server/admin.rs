//! The operator subcommands (`latchkey credits …`): parse → service → print.

use crate::domain::Credits;
use crate::server::config::{
    AdminsAction, ClientsAction, Command, Config, CreditsAction, KeysAction,
};
use crate::server::services::oidc_clients::{self, NewClient};
use crate::server::services::{credits, oidc, signing_keys, ServiceError};
use crate::server::store::{self, audit::RequestMeta, users};

/// Runs one subcommand; the text is what to print, the error what to report on stderr.
pub async fn run(config: &Config, command: &Command) -> Result<String, String> {
    // Run first on a new machine, a tool makes the database: owner-only, as the server would.
    crate::server::startup::prepare_storage(config)
        .map_err(|e| format!("cannot prepare the data directory: {e}"))?;
    let db = store::connect(&config.database_url())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let meta = RequestMeta {
        client_addr: Some("command line".into()),
        ..RequestMeta::default()
    };
    match command {
        Command::Keys { action } => keys(config, &db, action).await,
        Command::Clients { action } => clients(&db, action, &meta).await,
        Command::Admins { action } => admins(&db, action, &meta).await,
        Command::Purge { ahead_days } => {
            if !(0..=366).contains(ahead_days) {
                return Err("--ahead-days must be 0 to 366".into());
            }
            let now = store::unix_now();
            let retention = config.audit_retention_days * 24 * 3600;
            let erase_by = now + ahead_days * 24 * 3600;
            let done = crate::server::purge_job::pass(&db, now, retention, erase_by)
                .await
                .map_err(describe)?;
            Ok(format!(
                "purged {} expired rows; told apps of {} sessions that ran out; erased {} \
                 accounts whose deletion was due",
                done.purged.total(),
                done.sessions_told,
                done.erased
            ))
        }
        Command::Credits { action } => match action {
            CreditsAction::Grant { username, amount }
            | CreditsAction::Deduct { username, amount } => {
                let amount = Credits::parse(amount).map_err(|e| e.message())?;
                if amount.micro() <= 0 {
                    return Err("the amount must be positive".into());
                }
                let delta = match action {
                    CreditsAction::Deduct { .. } => Credits::from_micro(-amount.micro()),
                    _ => amount,
                };
                let balance = credits::adjust(&db, username, delta, &meta)
                    .await
                    .map_err(describe)?;
                Ok(format!("{username}: {balance} credits"))
            }
            CreditsAction::Show { username } => {
                let account = users::find_by_username(&db, username)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("there is no account named {username:?}"))?;
                Ok(format!(
                    "{}: {} credits",
                    account.username,
                    Credits::from_micro(account.credits_micro)
                ))
            }
        },
    }
}

async fn keys(config: &Config, db: &store::Db, action: &KeysAction) -> Result<String, String> {
    let when = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| unix.to_string())
    };
    // With LATCHKEY_JWT_SECRET the session key is configured, not stored: only the OpenID
    // Connect key rotates here then.
    let configured = config.jwt_secret.is_some();
    match action {
        KeysAction::Rotate => {
            let mut said = Vec::new();
            if configured {
                said.push(
                    "session tokens: LATCHKEY_JWT_SECRET configures their key; change it there \
                     to rotate"
                        .to_owned(),
                );
            } else {
                let (kid, from) = signing_keys::rotate(db).await.map_err(|e| e.to_string())?;
                said.push(format!(
                    "new session-token key {kid}: servers sign with it from {} on; older keys \
                     verify until their tokens expire",
                    when(from)
                ));
            }
            let (kids, from) = oidc::keys::rotate(db).await.map_err(describe)?;
            said.push(format!(
                "new OpenID Connect keys {} (RS256, ES256): published now, sign from {} on; \
                 older keys stay published until their tokens expire",
                kids.join(", "),
                when(from)
            ));
            Ok(said.join("\n"))
        }
        KeysAction::List => {
            let mut lines = Vec::new();
            if !configured {
                let keys = signing_keys::load_or_create(db)
                    .await
                    .map_err(|e| e.to_string())?;
                lines.extend(
                    keys.iter()
                        .map(|k| format!("session {}  signs from {}", k.kid, when(k.signs_from))),
                );
            }
            let keys = oidc::keys::load(db).await.map_err(|e| e.to_string())?;
            lines.extend(keys.iter().map(|k| {
                let (kid, alg) = (&k.kid, k.alg.as_str());
                format!("oidc {kid} ({alg})  signs from {}", when(k.signs_from))
            }));
            Ok(lines.join("\n"))
        }
    }
}

fn describe(error: ServiceError) -> String {
    match error {
        ServiceError::Invalid(problems) => problems
            .into_iter()
            .map(|p| p.message())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// `latchkey clients …`: what is printed is JSON, for scripts to read.
async fn clients(
    db: &store::Db,
    action: &ClientsAction,
    meta: &RequestMeta,
) -> Result<String, String> {
    match action {
        ClientsAction::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            public,
            first_party,
        } => {
            let asked = NewClient {
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                backchannel_logout_uri: backchannel_logout_uri.clone(),
                public: *public,
                first_party: *first_party,
            };
            let issued = oidc_clients::register(db, &asked, meta, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json(&issued))
        }
        ClientsAction::List => {
            let all = oidc_clients::list(db).await.map_err(describe)?;
            Ok(json(&all))
        }
        ClientsAction::Remove { client_id } => {
            match oidc_clients::remove(db, client_id, meta, None)
                .await
                .map_err(describe)?
            {
                true => Ok(format!("removed client {client_id}")),
                false => Err(format!("there is no client {client_id:?}")),
            }
        }
        ClientsAction::RotateSecret { client_id } => {
            match oidc_clients::rotate_secret(db, client_id, meta, None)
                .await
                .map_err(describe)?
            {
                Some(issued) => Ok(json(&issued)),
                None => Err(format!(
                    "there is no confidential client {client_id:?} (a public client has no secret)"
                )),
            }
        }
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

async fn admins(
    db: &store::Db,
    action: &AdminsAction,
    meta: &RequestMeta,
) -> Result<String, String> {
    use crate::server::services::admin;
    match action {
        AdminsAction::Grant { username } => {
            let account = admin::grant(db, username, meta).await?;
            Ok(format!(
                "{} is an admin: the console is at /admin",
                account.username
            ))
        }
        AdminsAction::Revoke { username } => {
            let account = admin::revoke(db, username, meta).await?;
            Ok(format!(
                "{} is no longer an admin; their API tokens ended",
                account.username
            ))
        }
        AdminsAction::List => {
            let admins = admin::admins(db).await.map_err(describe)?;
            if admins.is_empty() {
                return Ok("no admins yet: `latchkey admins grant USERNAME` makes one".into());
            }
            Ok(admins
                .iter()
                .map(|account| {
                    format!(
                        "{} <{}> (id {})",
                        account.username, account.email, account.id
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        AdminsAction::Token {
            username,
            read_only,
            days,
        } => {
            if !(1..=admin::TOKEN_DAYS_MAX).contains(days) {
                return Err(format!("--days must be 1 to {}", admin::TOKEN_DAYS_MAX));
            }
            let made = admin::token_for(db, username, *read_only, *days, meta).await?;
            Ok(made.token)
        }
    }
}
