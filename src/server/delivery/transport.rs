//! How a message leaves: e-mail over SMTP when configured, SMS through the webhook when
//! configured, otherwise a file in `data/outbox/` for each.

use crate::server::crypto::oidc_keys::{KeyAlg, OidcKeys};
use crate::server::store::outbox::QueuedMessage;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where e-mail and text messages go, and back-channel logout tokens.
pub struct Transport {
    mail: MailRoute,
    sms: SmsRoute,
    backchannel: Option<Backchannel>,
}

/// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the queued claims signed now
/// and POSTed to the app's registered address.
struct Backchannel {
    client: reqwest::Client,
    keys: Arc<OidcKeys>,
    issuer: String,
}

/// A back-channel logout token's life, from the moment it is sent.
pub const LOGOUT_TOKEN_SECONDS: i64 = 120;
/// The event a logout token carries.
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

enum MailRoute {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message: the zero-configuration default, and what a person
    /// trying Latchkey out can open with any mail program.
    Directory(PathBuf),
}

enum SmsRoute {
    /// POST `{"to", "body"}` as JSON to the operator's SMS gateway.
    Webhook {
        client: reqwest::Client,
        url: String,
    },
    /// One `.txt` file per message in the outbox directory.
    Directory(PathBuf),
}

impl Transport {
    pub fn new(
        smtp_url: Option<&str>,
        sms_webhook_url: Option<&str>,
        outbox_dir: &Path,
    ) -> Result<Self, String> {
        let mail = MailRoute::new(smtp_url, outbox_dir)?;
        let sms = match sms_webhook_url {
            Some(url) => {
                reqwest::Url::parse(url)
                    .map_err(|e| format!("LATCHKEY_SMS_WEBHOOK_URL is not a URL: {e}"))?;
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(15))
                    .build()
                    .map_err(|e| format!("SMS webhook client: {e}"))?;
                SmsRoute::Webhook {
                    client,
                    url: url.to_owned(),
                }
            }
            None => {
                create_private_dir(outbox_dir)
                    .map_err(|e| format!("cannot create {}: {e}", outbox_dir.display()))?;
                SmsRoute::Directory(outbox_dir.to_owned())
            }
        };
        Ok(Self {
            mail,
            sms,
            backchannel: None,
        })
    }

    /// Delivers back-channel logout tokens too, signed with `keys` as `issuer`.
    pub fn with_backchannel(mut self, keys: Arc<OidcKeys>, issuer: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            // An app's logout endpoint answers; it does not send us elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("back-channel logout client: {e}"))?;
        self.backchannel = Some(Backchannel {
            client,
            keys,
            issuer: issuer.to_owned(),
        });
        Ok(self)
    }

    pub async fn send(&self, from: &Mailbox, message: &QueuedMessage) -> Result<(), String> {
        match message.channel.as_str() {
            "sms" => self.sms.send(message).await,
            "backchannel_logout" => match &self.backchannel {
                Some(backchannel) => backchannel.send(message).await,
                None => Err("back-channel logout is not set up on this node".into()),
            },
            _ => self.mail.send(from, message).await,
        }
    }
}

impl Backchannel {
    async fn send(&self, message: &QueuedMessage) -> Result<(), String> {
        let mut claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&message.body_text)
                .map_err(|e| format!("a logout notice is unreadable: {e}"))?;
        let now = crate::server::store::unix_now();
        let mut jti = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti);
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + LOGOUT_TOKEN_SECONDS).into());
        claims.insert("jti".into(), hex::encode(jti).into());
        claims.insert(
            "events".into(),
            serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
        );
        // A node that has not read the keys yet (they were made on another) waits for its
        // next reload: the message is retried.
        let token = self
            .keys
            .sign(KeyAlg::Rs256, Some("logout+jwt"), &claims, now)
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(&message.recipient)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| format!("back-channel logout: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "back-channel logout answered {}",
                response.status()
            ))
        }
    }
}

impl SmsRoute {
    async fn send(&self, message: &QueuedMessage) -> Result<(), String> {
        match self {
            SmsRoute::Webhook { client, url } => {
                let response = client
                    .post(url)
                    .json(
                        &serde_json::json!({ "to": message.recipient, "body": message.body_text }),
                    )
                    .send()
                    .await
                    .map_err(|e| format!("SMS webhook: {e}"))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("SMS webhook answered {}", response.status()))
                }
            }
            SmsRoute::Directory(dir) => {
                let name = format!("{:010}-sms.txt", message.id);
                let text = format!("To: {}\n\n{}\n", message.recipient, message.body_text);
                write_atomically(dir, &name, text.as_bytes())
                    .await
                    .map_err(|e| format!("writing {name}: {e}"))
            }
        }
    }
}

impl MailRoute {
    /// `smtp_url` as lettre understands it: `smtp://host:25`, `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS).
    fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Self, String> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|builder| MailRoute::Smtp(builder.build()))
                .map_err(|e| format!("LATCHKEY_SMTP_URL is not usable: {e}")),
            None => {
                create_private_dir(outbox_dir)
                    .map_err(|e| format!("cannot create {}: {e}", outbox_dir.display()))?;
                Ok(MailRoute::Directory(outbox_dir.to_owned()))
            }
        }
    }

    async fn send(&self, from: &Mailbox, message: &QueuedMessage) -> Result<(), String> {
        let email = build_email(from, message)?;
        match self {
            MailRoute::Smtp(mailer) => mailer
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}")),
            MailRoute::Directory(dir) => {
                let name = format!("{:010}-email.eml", message.id);
                write_atomically(dir, &name, &email.formatted())
                    .await
                    .map_err(|e| format!("writing {name}: {e}"))
            }
        }
    }
}

fn build_email(from: &Mailbox, message: &QueuedMessage) -> Result<Message, String> {
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|e| format!("recipient address refused: {e}"))?;
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(message.body_text.clone());
    let body = match &message.body_html {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.clone()),
        ),
        None => MultiPart::mixed().singlepart(text),
    };
    Message::builder()
        .message_id(Some(message_id(from, message)))
        .from(from.clone())
        .to(to)
        .subject(&message.subject)
        .multipart(body)
        .map_err(|e| format!("composing the message: {e}"))
}

/// A Message-ID that is the same on every attempt to send one outbox row, whichever process
/// sends it: a receiver that sees one message twice (a send whose acknowledgement was lost)
/// can tell it is a duplicate.
fn message_id(from: &Mailbox, message: &QueuedMessage) -> String {
    let queued: String = message
        .created_at
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("<outbox.{}.{queued}@{}>", message.id, from.email.domain())
}

/// The outbox directory, owner-only like the data directory around it.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes under a temporary name and renames, so a reader never sees half a message. Owner
/// only: the messages carry live passcodes and links.
async fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let partial = dir.join(format!(".{name}.partial"));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&partial).await?;
    file.write_all(bytes).await?;
    file.flush().await?;
    drop(file);
    tokio::fs::rename(&partial, dir.join(name)).await
}
