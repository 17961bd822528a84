//! Configuration: every setting has a working default, so a plain run serves a usable
//! site at http://127.0.0.1:3000 with `data/` beside it. `latchkey --help` lists them all.

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Parser)]
#[command(name = "latchkey", version, about = "Self-hosted account service")]
pub struct Config {
    /// Directory for the database, generated secrets and the mail outbox.
    #[arg(long, env = "LATCHKEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://<file>` (the default, `sqlite://<data-dir>/latchkey.db`), or
    /// `postgres://user:password@host/database` for PostgreSQL 14 or newer, which any number of
    /// Latchkey nodes can share (docs/operations.md, "Several nodes").
    #[arg(long, env = "LATCHKEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Address to listen on. Port 0 picks a free port (tests use this).
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// A listener of its own for the operators' console (`/admin`) and its API
    /// (`/admin/api/`), e.g. `127.0.0.1:3001` for an address only operators reach. When set,
    /// the console answers 404 on the public listener.
    #[arg(long, env = "LATCHKEY_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,

    /// Connections this node keeps to PostgreSQL at most (SQLite ignores it). Every node holds
    /// this many: keep `nodes × pool size` under the server's `max_connections`.
    #[arg(long, env = "LATCHKEY_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,

    /// Public base URL that links in e-mails point at, and that cookie-authenticated requests
    /// must come from. Default: `http://<listen>`.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// HS256 secret for session tokens, at least 32 bytes. Default: keys generated on first
    /// start and kept in the database, rotated with `latchkey keys rotate`.
    #[arg(long, env = "LATCHKEY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// Credits a new account starts with (a decimal number).
    #[arg(long, env = "LATCHKEY_STARTING_CREDITS", default_value = "0")]
    pub starting_credits: String,

    /// Terms-of-service URL quoted in the Temporal user object's `Status`.
    #[arg(
        long,
        env = "LATCHKEY_TOS_URL",
        default_value = "https://latchkey.example/terms"
    )]
    pub tos_url: String,

    /// SMTP server for outgoing mail, e.g. `smtps://user:pass@mail.example.com:465` or
    /// `smtp://mail.example.com:587?tls=required`. Default: `.eml` files in `<data-dir>/outbox/`.
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "LATCHKEY_MAIL_FROM",
        default_value = "Latchkey <no-reply@latchkey.localhost>"
    )]
    pub mail_from: String,

    /// Webhook that sends SMS (POST JSON `{to, body}`). Default: files in `<data-dir>/outbox/`.
    #[arg(long, env = "LATCHKEY_SMS_WEBHOOK_URL", hide_env_values = true)]
    pub sms_webhook_url: Option<SecretString>,

    /// Password hashes computed at once; default: one per CPU core. Each holds 19 MiB.
    #[arg(long, env = "LATCHKEY_HASH_WORKERS")]
    pub hash_workers: Option<usize>,

    /// Attempts at one account (or unknown name) before each further login attempt must wait:
    /// 15 s, then twice as long each time, up to --login-lockout-max-seconds. A reset clears it.
    #[arg(long, env = "LATCHKEY_LOGIN_LOCKOUT_AFTER", default_value_t = 5,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub login_lockout_after: i64,

    /// The longest wait between login attempts at one account.
    #[arg(long, env = "LATCHKEY_LOGIN_LOCKOUT_MAX_SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub login_lockout_max_seconds: i64,

    /// Login attempts per client address per minute (0: no limit).
    #[arg(
        long,
        env = "LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE",
        default_value_t = 30
    )]
    pub logins_per_address_per_minute: u32,

    /// Registrations per client address per hour (0: no limit).
    #[arg(
        long,
        env = "LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR",
        default_value_t = 20
    )]
    pub registrations_per_address_per_hour: u32,

    /// E-mails and SMS asked for per client address per hour: recovery codes, reminders,
    /// verification resends (0: no limit). Each destination is limited apart (1/min, 10/h).
    #[arg(
        long,
        env = "LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR",
        default_value_t = 30
    )]
    pub sends_per_address_per_hour: u32,

    /// Reset-passcode checks (step 2) per client address per hour; `0` turns the limit off.
    #[arg(
        long,
        env = "LATCHKEY_PASSCODE_CHECKS_PER_ADDRESS_PER_HOUR",
        default_value_t = 60
    )]
    pub passcode_checks_per_address_per_hour: u32,

    /// The longest a session lives from its sign-in, however often it is refreshed.
    #[arg(long, env = "LATCHKEY_SESSION_MAX_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub session_max_days: i64,

    /// Days the audit log keeps an event; the purge deletes older ones.
    #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(i64).range(1..=36500))]
    pub audit_retention_days: i64,

    /// Seconds between a person asking for their account's deletion and its erasure, during
    /// which signing in on the "keep my account" page cancels it (14 days).
    #[arg(long, env = "LATCHKEY_DELETION_GRACE_SECONDS", default_value_t = 14 * 24 * 3600,
          value_parser = clap::value_parser!(i64).range(0..=366 * 24 * 3600))]
    pub deletion_grace_seconds: i64,

    /// Open connections allowed from one client address (IPv6: one /64) at once; `0` turns the
    /// cap off. Behind a reverse proxy every connection comes from the proxy: raise it or use 0.
    #[arg(long, env = "LATCHKEY_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub connections_per_address: u32,

    /// Seconds a client has to send a request's headers before its connection is closed.
    #[arg(long, env = "LATCHKEY_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_seconds: u64,

    /// Seconds a whole request (body included) may take before it is answered 408.
    #[arg(long, env = "LATCHKEY_REQUEST_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,

    /// The service's public IP addresses, comma-separated, as `GET /api/v3/system` lists them
    /// (`publicIps`) for clients that allow-list them.
    #[arg(long, env = "LATCHKEY_PUBLIC_IPS", value_delimiter = ',')]
    pub public_ips: Vec<String>,

    /// Take the client address from the last `X-Forwarded-For` entry (set this only behind a
    /// reverse proxy that appends it; otherwise clients could pick their own address).
    #[arg(long, env = "LATCHKEY_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Seconds a node holds a message it is sending before another node may send it (the
    /// sender died): longer than one delivery takes. A shorter hold sends the mail of a crashed
    /// node sooner; one shorter than a slow delivery risks sending a message twice.
    #[arg(long, env = "LATCHKEY_OUTBOX_CLAIM_SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(i64).range(1..=86400))]
    pub outbox_claim_seconds: i64,

    /// Seconds between an idle node's looks for mail queued elsewhere: the longest a message
    /// queued by a node that died right after queueing it waits (on PostgreSQL, nodes also
    /// wake each other at once).
    #[arg(long, env = "LATCHKEY_OUTBOX_POLL_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub outbox_poll_seconds: u64,

    /// Log filter in `tracing` syntax, e.g. `info` or `latchkey=debug,tower_http=info`.
    #[arg(long, env = "LATCHKEY_LOG", default_value = "info")]
    pub log: String,

    /// Directory holding the compiled front end (`pkg/`) and static files.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Without a command, Latchkey serves; with one, it runs that operator task and exits.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Operator tasks, run against the same database as the server (it may be running).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Grant, deduct or show an account's credits.
    Credits {
        #[command(subcommand)]
        action: CreditsAction,
    },
    /// Rotate or list the keys session tokens are signed with.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Register, list, remove, or rotate the secret of the apps that sign their users in
    /// with Latchkey (OpenID Connect clients).
    Clients {
        #[command(subcommand)]
        action: ClientsAction,
    },
    /// Run one purge pass now: expired codes, tokens, sessions and the like, and the accounts
    /// whose deletion's grace is over.
    Purge {
        /// Erase the accounts whose grace ends within this many days too, as if they had passed.
        #[arg(long = "ahead-days", default_value_t = 0)]
        ahead_days: i64,
    },
    /// Make an account admin of the operators' console, take that back, list the admins, or
    /// print an admin API token for automation.
    Admins {
        #[command(subcommand)]
        action: AdminsAction,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminsAction {
    /// Make an account admin (it must have a second factor).
    Grant { username: String },
    /// Take an account's admin rights back; its admin API tokens end with them.
    Revoke { username: String },
    /// List the admins.
    List,
    /// Print a new admin API token of an admin (shown this once).
    Token {
        username: String,
        /// A token that may only read.
        #[arg(long = "read-only")]
        read_only: bool,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ClientsAction {
    /// Register an app; prints `{"client_id", "client_secret"}` as JSON (the secret shown
    /// this once; a public client gets none).
    Add {
        /// What users see on the consent page.
        #[arg(long)]
        name: String,
        /// Where Latchkey may send users back, exactly (repeat for several).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where Latchkey may send users after signing out (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Where Latchkey posts a logout token when a user's session ends.
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// A single-page or native app: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Your own app: users are not asked for consent.
        #[arg(long = "first-party")]
        first_party: bool,
    },
    /// List the registered apps as JSON (never their secrets).
    List,
    /// Remove an app: its users can no longer sign in to it with Latchkey.
    Remove { client_id: String },
    /// A new secret for a confidential app, printed as JSON; the old one stops working.
    RotateSecret { client_id: String },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeysAction {
    /// Add a new signing key. Running servers take it in and start signing with it two minutes
    /// later; tokens signed with older keys keep working until they expire.
    Rotate,
    /// List the keys: kid, and from when each signs.
    List,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CreditsAction {
    /// Add credits to an account, e.g. `latchkey credits grant alice 12.5`.
    Grant { username: String, amount: String },
    /// Take credits from an account; refused if the balance would go below zero.
    Deduct { username: String, amount: String },
    /// Print an account's balance.
    Show { username: String },
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .as_ref()
            .map(|url| url.expose_secret().to_owned())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("latchkey.db").display()))
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// A configuration for tests and embedding: everything default, data in `data_dir`,
    /// listening on a free loopback port.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["latchkey"]);
        config.data_dir = data_dir.into();
        config.listen = "127.0.0.1:0".parse().expect("loopback address");
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn help_lists_every_environment_variable() {
        let help = Config::command().render_long_help().to_string();
        for var in [
            "LATCHKEY_DATA_DIR",
            "LATCHKEY_DATABASE_URL",
            "LATCHKEY_LISTEN",
            "LATCHKEY_PUBLIC_URL",
            "LATCHKEY_JWT_SECRET",
            "LATCHKEY_STARTING_CREDITS",
            "LATCHKEY_TOS_URL",
            "LATCHKEY_AUDIT_RETENTION_DAYS",
            "LATCHKEY_SMTP_URL",
            "LATCHKEY_MAIL_FROM",
            "LATCHKEY_SMS_WEBHOOK_URL",
            "LATCHKEY_LOGIN_LOCKOUT_AFTER",
            "LATCHKEY_LOGIN_LOCKOUT_MAX_SECONDS",
            "LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE",
            "LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR",
            "LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR",
            "LATCHKEY_TRUST_FORWARDED_FOR",
            "LATCHKEY_PASSCODE_CHECKS_PER_ADDRESS_PER_HOUR",
            "LATCHKEY_SESSION_MAX_DAYS",
            "LATCHKEY_CONNECTIONS_PER_ADDRESS",
            "LATCHKEY_HEADER_TIMEOUT_SECONDS",
            "LATCHKEY_REQUEST_TIMEOUT_SECONDS",
            "LATCHKEY_PUBLIC_IPS",
            "LATCHKEY_OUTBOX_CLAIM_SECONDS",
            "LATCHKEY_OUTBOX_POLL_SECONDS",
        ] {
            assert!(help.contains(var), "{var} missing from --help");
        }
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let config = Config::parse_from([
            "latchkey",
            "--jwt-secret",
            "jwt-secret-0123456789-0123456789-0123456789",
            "--smtp-url",
            "smtps://mailer:smtp-password@mail.example.com:465",
            "--database-url",
            "postgres://latchkey:db-password@db.example.com/latchkey",
            "--sms-webhook-url",
            "https://sms.example.com/send?key=webhook-key",
        ]);
        let printed = format!("{config:?}");
        for secret in ["jwt-secret", "smtp-password", "db-password", "webhook-key"] {
            assert!(!printed.contains(secret), "{secret} printed: {printed}");
        }
        assert_eq!(
            config.database_url(),
            "postgres://latchkey:db-password@db.example.com/latchkey"
        );
    }

    #[test]
    fn defaults_put_everything_under_data() {
        let config = Config::parse_from(["latchkey"]);
        assert_eq!(config.database_url(), "sqlite://data/latchkey.db");
        assert_eq!(config.public_url(config.listen), "http://127.0.0.1:3000");
    }
}
