//! How a message leaves: SMTP when configured, otherwise an `.eml` file in `data/outbox/`.

use crate::server::store::outbox::QueuedMessage;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message: the zero-configuration default, and what a person
    /// trying Latchkey out can open with any mail program.
    Directory(PathBuf),
}

impl Transport {
    /// `smtp_url` as lettre understands it: `smtp://host:25`, `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS).
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Self, String> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|builder| Transport::Smtp(builder.build()))
                .map_err(|e| format!("LATCHKEY_SMTP_URL is not usable: {e}")),
            None => {
                std::fs::create_dir_all(outbox_dir)
                    .map_err(|e| format!("cannot create {}: {e}", outbox_dir.display()))?;
                Ok(Transport::Directory(outbox_dir.to_owned()))
            }
        }
    }

    pub async fn send(&self, from: &Mailbox, message: &QueuedMessage) -> Result<(), String> {
        let email = build_email(from, message)?;
        match self {
            Transport::Smtp(mailer) => mailer
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}")),
            Transport::Directory(dir) => {
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
        .from(from.clone())
        .to(to)
        .subject(&message.subject)
        .multipart(body)
        .map_err(|e| format!("composing the message: {e}"))
}

/// Writes under a temporary name and renames, so a reader never sees half a message.
async fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await
}
