//! The apps that sign their users in with Latchkey (OpenID Connect relying parties): an
//! operator registers each one, with the exact addresses Latchkey may send its users back to.
//!
//! A confidential client gets a secret of 256 random bits, shown once and kept only as its
//! SHA-256 (high entropy needs no slow hash); a public client (a single-page or native app) has
//! none and must prove itself with PKCE. Redirect URIs are compared character for character
//! when used, so they are checked strictly here: absolute, no fragment, no credentials, and
//! plain `http` only for the machine itself (`localhost`, loopback addresses).

use super::ServiceError;
use crate::server::crypto::link_token;
use crate::server::store::audit::{self, ByOperator, Event, RequestMeta};
use crate::server::store::oidc_clients::{self, ClientRow};
use crate::server::store::{self, Db};
use url::{Host, Url};

/// Why a client cannot be registered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientRefused {
    #[error("a client needs a name of 1 to 100 characters")]
    Name,
    #[error("a client needs at least one redirect URI")]
    NoRedirectUri,
    #[error("{0:?} is not a usable redirect URI: {1}")]
    Uri(String, &'static str),
}

/// A redirect (or logout) URI as registered: an absolute `https` address, or `http` on this
/// machine; no fragment (OAuth 2.0 forbids one) and no user name or password in it.
pub fn check_uri(uri: &str) -> Result<String, ClientRefused> {
    let refused = |why| ClientRefused::Uri(uri.to_owned(), why);
    if uri.len() > 2000 || uri.chars().any(char::is_whitespace) {
        return Err(refused("it is too long or holds spaces"));
    }
    let parsed = Url::parse(uri).map_err(|_| refused("it is not an absolute URL"))?;
    if parsed.fragment().is_some() {
        return Err(refused("it has a fragment (#…)"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refused("it carries credentials"));
    }
    let loopback = match parsed.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(uri.to_owned()),
        "http" if loopback => Ok(uri.to_owned()),
        "http" => Err(refused(
            "plain http is only for localhost and loopback addresses",
        )),
        _ => Err(refused("only https (or http on this machine) is accepted")),
    }
}

/// What an operator asks to register.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// A public client: no secret, PKCE required.
    pub public: bool,
    /// Latchkey's own app: its users are not asked for consent.
    pub first_party: bool,
}

/// A registered client as an operator sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

impl From<ClientRow> for Client {
    fn from(row: ClientRow) -> Self {
        let list = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
        Client {
            public: row.secret_hash.is_none(),
            redirect_uris: list(&row.redirect_uris),
            post_logout_redirect_uris: list(&row.post_logout_redirect_uris),
            client_id: row.client_id,
            name: row.name,
            first_party: row.first_party,
            backchannel_logout_uri: row.backchannel_logout_uri,
        }
    }
}

/// A client just registered, or its new secret: the secret is shown this once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issued {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Checks every URI of `asked` and the name; all of them, so the operator sees what to fix.
fn checked(asked: &NewClient) -> Result<NewClient, ClientRefused> {
    let name = asked.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClientRefused::Name);
    }
    if asked.redirect_uris.is_empty() {
        return Err(ClientRefused::NoRedirectUri);
    }
    let all = |uris: &[String]| {
        uris.iter()
            .map(|u| check_uri(u))
            .collect::<Result<Vec<_>, _>>()
    };
    let mut redirect_uris = all(&asked.redirect_uris)?;
    redirect_uris.dedup();
    Ok(NewClient {
        name: name.to_owned(),
        redirect_uris,
        post_logout_redirect_uris: all(&asked.post_logout_redirect_uris)?,
        backchannel_logout_uri: asked
            .backchannel_logout_uri
            .as_deref()
            .map(check_uri)
            .transpose()?,
        public: asked.public,
        first_party: asked.first_party,
    })
}

/// Registers a client; its id and, for a confidential client, its secret.
pub async fn register(
    db: &Db,
    asked: &NewClient,
    meta: &RequestMeta,
    by: Option<&ByOperator<'_>>,
) -> Result<Issued, RegisterError> {
    let client = checked(asked)?;
    let (client_id, _) = link_token::generate();
    let client_id: String = client_id.chars().take(22).collect();
    let secret = (!client.public).then(link_token::generate);
    let now = store::unix_now();
    let json = |uris: &[String]| serde_json::to_string(uris).unwrap_or_else(|_| "[]".into());
    let row = ClientRow {
        client_id: client_id.clone(),
        name: client.name.clone(),
        secret_hash: secret.as_ref().map(|(_, hash)| hash.clone()),
        redirect_uris: json(&client.redirect_uris),
        post_logout_redirect_uris: json(&client.post_logout_redirect_uris),
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        first_party: client.first_party,
        created_at: now,
        updated_at: now,
    };
    super::write_tx!(*db, |tx| {
        oidc_clients::insert(&mut *tx, &row).await?;
        let detail = Some(client_id.as_str());
        audit::record_as(&mut *tx, Event::ClientAdded, None, meta, detail, by).await?;
        Ok(())
    })?;
    Ok(Issued {
        client_id,
        client_secret: secret.map(|(secret, _)| secret),
    })
}

/// Every registered client.
pub async fn list(db: &Db) -> Result<Vec<Client>, ServiceError> {
    let rows = oidc_clients::all(db).await?;
    Ok(rows.into_iter().map(Client::from).collect())
}

/// Removes a client; whether there was one.
pub async fn remove(
    db: &Db,
    client_id: &str,
    meta: &RequestMeta,
    by: Option<&ByOperator<'_>>,
) -> Result<bool, ServiceError> {
    super::write_tx!(*db, |tx| {
        let removed = oidc_clients::remove(&mut *tx, client_id).await?;
        if removed {
            let detail = Some(client_id);
            audit::record_as(&mut *tx, Event::ClientRemoved, None, meta, detail, by).await?;
        }
        Ok(removed)
    })
}

/// A new secret for a confidential client (the old one stops working at once); `None` when
/// there is no such confidential client.
pub async fn rotate_secret(
    db: &Db,
    client_id: &str,
    meta: &RequestMeta,
    by: Option<&ByOperator<'_>>,
) -> Result<Option<Issued>, ServiceError> {
    let (secret, hash) = link_token::generate();
    let now = store::unix_now();
    let rotated = super::write_tx!(*db, |tx| {
        let rotated = oidc_clients::replace_secret_hash(&mut *tx, client_id, &hash, now).await?;
        if rotated {
            let detail = Some(client_id);
            let event = Event::ClientSecretRotated;
            audit::record_as(&mut *tx, event, None, meta, detail, by).await?;
        }
        Ok(rotated)
    })?;
    Ok(rotated.then(|| Issued {
        client_id: client_id.to_owned(),
        client_secret: Some(secret),
    }))
}

/// Changes a client's name and addresses (its kind, secret and consent setting stay); `false`
/// when there is no such client. Checked as a registration is.
pub async fn update(
    db: &Db,
    client_id: &str,
    asked: &NewClient,
    meta: &RequestMeta,
    by: Option<&ByOperator<'_>>,
) -> Result<bool, RegisterError> {
    let client = checked(asked)?;
    let json = |uris: &[String]| serde_json::to_string(uris).unwrap_or_else(|_| "[]".into());
    let now = store::unix_now();
    let updated = super::write_tx!(*db, |tx| {
        let before = oidc_clients::find(&mut *tx, client_id).await?;
        let Some(before) = before else {
            return Ok(false);
        };
        let after = ClientRow {
            name: client.name.clone(),
            redirect_uris: json(&client.redirect_uris),
            post_logout_redirect_uris: json(&client.post_logout_redirect_uris),
            backchannel_logout_uri: client.backchannel_logout_uri.clone(),
            updated_at: now,
            ..before.clone()
        };
        oidc_clients::update(&mut *tx, &after).await?;
        let describe = |row: &ClientRow| {
            serde_json::json!({
                "name": row.name,
                "redirect_uris": row.redirect_uris,
                "post_logout_redirect_uris": row.post_logout_redirect_uris,
                "backchannel_logout_uri": row.backchannel_logout_uri,
            })
            .to_string()
        };
        let (was, is) = (describe(&before), describe(&after));
        let by = by.map(|by| ByOperator {
            before: Some(&was),
            after: Some(&is),
            ..*by
        });
        let detail = Some(client_id);
        audit::record_as(
            &mut *tx,
            Event::ClientEdited,
            None,
            meta,
            detail,
            by.as_ref(),
        )
        .await?;
        Ok(true)
    })?;
    Ok(updated)
}

/// A registration that failed: the operator's input, or the database.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    Refused(#[from] ClientRefused),
    #[error("{0}")]
    Service(#[from] ServiceError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_this_machine_absolute_and_plain() {
        for good in [
            "https://grafana.example.com/login/generic_oauth",
            "https://app.example/cb?x=1",
            "http://localhost:3000/callback",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9/cb",
        ] {
            assert_eq!(check_uri(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "http://grafana.example.com/cb",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/cb",
            "/relative/cb",
            "javascript:alert(1)",
            "custom-scheme:/cb",
            "https://app.example/c b",
            "",
        ] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_registration_needs_a_name_and_a_redirect_uri() {
        let asked = NewClient {
            name: "Grafana".into(),
            redirect_uris: vec!["https://g.example/cb".into()],
            ..NewClient::default()
        };
        assert!(checked(&asked).is_ok());
        let unnamed = NewClient {
            name: "  ".into(),
            ..asked.clone()
        };
        assert_eq!(checked(&unnamed).unwrap_err(), ClientRefused::Name);
        let nowhere = NewClient {
            redirect_uris: vec![],
            ..asked.clone()
        };
        assert_eq!(checked(&nowhere).unwrap_err(), ClientRefused::NoRedirectUri);
        let bad_logout = NewClient {
            backchannel_logout_uri: Some("http://rp.example/logout".into()),
            ..asked
        };
        assert!(matches!(checked(&bad_logout), Err(ClientRefused::Uri(..))));
    }
}
