//! Start-up: resolve configuration, open the database, load secrets, start the hashing pool,
//! and assemble the router. `main` and the HTTP tests both start Latchkey through here.

use crate::app::{shell, App};
use crate::domain::Credits;
use crate::server::config::Config;
use crate::server::crypto::oidc_keys::OidcKeys;
use crate::server::crypto::password::PasswordHasher;
use crate::server::crypto::password_cipher::PasswordCiphers;
use crate::server::crypto::secrets;
use crate::server::crypto::session_token::{SessionTokens, SigningKey, TokenError};
use crate::server::delivery::transport::Transport;
use crate::server::delivery::worker::{self, Wake};
use crate::server::http::{auth, edge, no_script_forms, page_cache, BODY_LIMIT};
use crate::server::listener::{self, ConnectionLimits};
use crate::server::services::client_limits::{Allowance, ClientLimits};
use crate::server::services::throttle::LoginPolicy;
use crate::server::services::{oidc, signing_keys};
use crate::server::state::{AppState, Settings, Shared};
use crate::server::{purge_job, rest, store};
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use lettre::message::Mailbox;
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Connections for the per-request session reads (`store::reads`): one per core. On SQLite a
/// read runs on the request's own thread (tokio runs one worker per core) and holds its
/// connection only while it runs, so each worker finds one free; every connection keeps a page
/// cache of its own, so more cost memory for no gain.
fn read_connections() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get())
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot use the data directory or listen address: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot apply database migrations: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("LATCHKEY_JWT_SECRET: {0}")]
    Secret(#[from] TokenError),
    #[error("LATCHKEY_STARTING_CREDITS: {0}")]
    Credits(String),
    #[error("{0}")]
    Mail(String),
}

/// A bound, ready server: call [`Server::run`] to serve.
pub struct Server {
    pub state: AppState,
    pub addr: SocketAddr,
    listener: TcpListener,
    /// `LATCHKEY_ADMIN_LISTEN`'s address, once bound: the console's own listener.
    pub admin_addr: Option<SocketAddr>,
    admin_listener: Option<TcpListener>,
}

/// The data directory and the SQLite file, owner-only, before anything opens them: the server
/// and the command-line tools alike (whichever runs first on a new machine makes them).
pub fn prepare_storage(config: &Config) -> std::io::Result<()> {
    prepare_data_dir(&config.data_dir)?;
    prepare_database_file(&config.database_url())
}

pub async fn build(config: Config) -> Result<Server, StartupError> {
    prepare_storage(&config)?;
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let admin_listener = match config.admin_listen {
        Some(admin) => Some(TcpListener::bind(admin).await?),
        None => None,
    };
    let admin_addr = match &admin_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let public_url = config.public_url(addr);

    let (db, reads) = store::connect_with_reads(
        &config.database_url(),
        read_connections(),
        config.database_pool_size,
    )
    .await?;
    // A configured secret is the only key; otherwise the keys live in the database, where a
    // rotation reaches every process.
    let tokens = match &config.jwt_secret {
        Some(secret) => {
            let key = SigningKey {
                kid: signing_keys::CONFIGURED_KID.into(),
                secret: secret.expose_secret().as_bytes().to_vec(),
                signs_from: 0,
            };
            Arc::new(SessionTokens::new(&[key], &public_url)?)
        }
        None => {
            let keys = signing_keys::load_or_create(&db).await?;
            let tokens = Arc::new(SessionTokens::new(&keys, &public_url)?);
            signing_keys::keep_current(db.clone(), tokens.clone());
            tokens
        }
    };
    let webauthn = crate::server::services::passkeys::relying_party(&public_url).map(Box::new);
    let passcode_key = shared_secret(&db, &config.data_dir, "passcode.key", || {
        Ok(secrets::random_hex(32))
    })
    .await?;
    let passcode_key = hex::decode(passcode_key.trim()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("passcode.key: {e}"),
        )
    })?;
    // Its own key, not the passcode key: it seals what must be read back (authenticator
    // secrets), where the passcode key only ever makes MACs.
    let factor_key = shared_secret(&db, &config.data_dir, "factor.key", || {
        Ok(secrets::random_hex(32))
    })
    .await?;
    let factor_key: [u8; 32] = hex::decode(factor_key.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "factor.key: not 32 bytes of hex",
            )
        })?;
    let rsa = shared_secret(
        &db,
        &config.data_dir,
        "rsa_private.pem",
        PasswordCiphers::new_rsa_pem,
    )
    .await?;
    let sm2 = shared_secret(&db, &config.data_dir, "sm2_private.hex", || {
        Ok(PasswordCiphers::new_sm2_hex())
    })
    .await?;
    let ciphers = PasswordCiphers::from_keys(&rsa, &sm2)?;
    let starting_credits =
        Credits::parse(&config.starting_credits).map_err(|e| StartupError::Credits(e.message()))?;
    let workers = config.hash_workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let hasher = PasswordHasher::start(workers);

    if db.backend() == store::Backend::Postgres && config.smtp_url.is_none() {
        // Several nodes each deliver what they claim: as files, mail lands in whichever
        // node's data directory happened to send it.
        tracing::warn!(
            "on PostgreSQL without LATCHKEY_SMTP_URL, mail is written to this node's \
             data/outbox/ only: set an SMTP server when running several nodes"
        );
    }
    let transport = Transport::new(
        config.smtp_url.as_ref().map(|url| url.expose_secret()),
        config
            .sms_webhook_url
            .as_ref()
            .map(|url| url.expose_secret()),
        &config.data_dir.join("outbox"),
    )
    .map_err(StartupError::Mail)?;
    let sender: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| StartupError::Mail(format!("LATCHKEY_MAIL_FROM is not an address: {e}")))?;
    // The provider's keys, if any were made yet (the first is made when first needed).
    let oidc_keys = Arc::new(OidcKeys::default());
    oidc_keys
        .replace(&oidc::keys::load(&db).await?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    oidc::keys::keep_current(db.clone(), oidc_keys.clone());
    let transport = transport
        .with_backchannel(oidc_keys.clone(), &public_url)
        .map_err(StartupError::Mail)?;
    let mail = Wake::new(db.clone());
    // Delivers what an earlier run left queued, then whatever is queued from now on.
    let pace = worker::Pace {
        claim_seconds: config.outbox_claim_seconds,
        idle_poll: std::time::Duration::from_secs(config.outbox_poll_seconds),
    };
    worker::spawn(db.clone(), transport, sender, mail.clone(), pace);

    let leptos_options = LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "latchkey".into()))
        .site_root(config.site_root.clone())
        .site_pkg_dir(std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into()))
        .site_addr(addr)
        .build();

    let allowance = Allowance {
        logins_per_minute: config.logins_per_address_per_minute,
        registrations_per_hour: config.registrations_per_address_per_hour,
        sends_per_hour: config.sends_per_address_per_hour,
        passcode_checks_per_hour: config.passcode_checks_per_address_per_hour,
    };
    let limits = ClientLimits::new(allowance, db.clone());
    let settings = Settings {
        secure_cookies: public_url.starts_with("https://"),
        public_url,
        starting_credits,
        tos_url: config.tos_url.clone(),
        login_policy: LoginPolicy {
            free_attempts: config.login_lockout_after,
            max_lock_seconds: config.login_lockout_max_seconds,
        },
        config,
    };
    purge_job::spawn(db.clone(), settings.config.audit_retention_days * 24 * 3600);
    let state = AppState::new(Shared {
        leptos_options,
        db,
        reads,
        hasher,
        tokens,
        oidc_keys,
        ciphers,
        passcode_key,
        factor_key,
        webauthn,
        mail,
        settings,
        limits,
    });
    // Recovery requests answered but not yet turned into their messages (a crash, a failover)
    // are taken up on whichever node is running.
    crate::server::services::recovery::spawn_sweeper(state.clone());
    Ok(Server {
        state,
        addr,
        listener,
        admin_addr,
        admin_listener,
    })
}

impl Server {
    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        listener::raise_open_file_limit();
        let limits = connection_limits(&self.state.settings.config);
        let (public, console) = self.routers();
        let public = listener::serve(self.listener, public, limits, shutdown_signal());
        match (self.admin_listener, console) {
            (Some(admin), Some(console)) => {
                let console = listener::serve(admin, console, limits, shutdown_signal());
                tokio::join!(public, console);
            }
            _ => public.await,
        }
        Ok(())
    }

    /// Serves in the background (for tests); returns the base URL.
    pub fn spawn(self) -> String {
        let url = format!("http://{}", self.addr);
        let limits = connection_limits(&self.state.settings.config);
        let (public, console) = self.routers();
        if let (Some(admin), Some(console)) = (self.admin_listener, console) {
            tokio::spawn(listener::serve(
                admin,
                console,
                limits,
                std::future::pending(),
            ));
        }
        tokio::spawn(listener::serve(
            self.listener,
            public,
            limits,
            std::future::pending(),
        ));
        url
    }

    /// The public listener's app and, with `LATCHKEY_ADMIN_LISTEN`, the console listener's:
    /// the whole site on each (an operator signs in on the console's own address), the console
    /// hidden on the public one.
    fn routers(&self) -> (Router, Option<Router>) {
        match self.admin_listener {
            Some(_) => (
                router(self.state.clone(), Console::Hidden),
                Some(router(self.state.clone(), Console::Served)),
            ),
            None => (router(self.state.clone(), Console::Served), None),
        }
    }
}

fn connection_limits(config: &Config) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(config.header_timeout_seconds),
        per_address: config.connections_per_address,
    }
}

/// A generated secret, kept in the database (`store::secrets`) so that every process on it
/// uses the same one: the stored value; else the file an earlier version kept in the data
/// directory, imported; else a new one. Whichever process stores first wins, and everybody
/// reads back the winner.
async fn shared_secret(
    db: &store::Db,
    data_dir: &std::path::Path,
    name: &str,
    generate: impl FnOnce() -> std::io::Result<String>,
) -> Result<String, StartupError> {
    if let Some(value) = store::secrets::get(db, name).await? {
        return Ok(value);
    }
    let value = match std::fs::read_to_string(data_dir.join(name)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate()?,
        Err(e) => return Err(e.into()),
    };
    store::secrets::insert_if_absent(db, name, &value, store::unix_now()).await?;
    Ok(store::secrets::get(db, name).await?.unwrap_or(value))
}

/// The data directory, owner-only: it holds the database and the outbox, whose
/// mails carry live passcodes. A directory made by an earlier version is tightened too.
fn prepare_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// The SQLite file of `database_url` when it is one, created owner-only before SQLite opens
/// it: SQLite gives its `-wal` and `-shm` files the mode of the database file.
fn prepare_database_file(database_url: &str) -> std::io::Result<()> {
    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && *path != ":memory:")
    else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = std::path::Path::new(path);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The whole application: REST surfaces, the Leptos pages and server functions, static files,
/// and the middleware every request passes through.
/// Whether a listener serves the operators' console (`/admin`, its API and server functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Served,
    /// Answered 404, as if it did not exist: it has a listener of its own.
    Hidden,
}

/// The pages' routes, listed once per process. Listing them runs the app with resource loading
/// suspended by a flag that is global to the process (leptos_server's), and a resource that
/// first runs while it is set never finishes: the page rendering it hangs for good. A second
/// router listing them while another serves (the console's listener, the tests' many servers
/// in one process) could catch a render in that window.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState, console: Console) -> Router {
    let routes = page_routes();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        // Every page names who is signed in: the session is resolved once, before rendering.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::resolve_page_session,
        ))
        // Outside the session's resolution: a kept page is one without a session cookie.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(page_cache::PageCache::default()),
            page_cache::serve,
        ))
        // Pages carry personal data and tokens: no cache may keep them. Layered before the
        // fallback, which serves the static files (the same for everyone, and cacheable).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The front end's files go out as compressed at build time (`--precompress` writes a
        // `.br` and a `.gz` beside each), to clients that take it: the WASM is a third of its
        // size so. Never compressed per request: that cost ~23 ms of CPU per WASM download, so
        // a few dozen anonymous downloads a second filled a core. `Vary` tells caches that the
        // answer depends on `Accept-Encoding`.
        .fallback(
            leptos_axum::file_and_error_handler::<AppState, _>(shell).layer(
                ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::if_not_present(
                        header::VARY,
                        HeaderValue::from_static("accept-encoding"),
                    ))
                    .layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        auth::resolve_session_unless_file,
                    )),
            ),
        )
        // Server functions read their bodies themselves; cap them here.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));

    // One `layer` call (see `edge` for why the rest is one function). The body limit is only
    // an extension that extractors read.
    let middleware = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(edge::Edge {
                trust_forwarded_for: state.settings.config.trust_forwarded_for,
                request_timeout: Duration::from_secs(state.settings.config.request_timeout_seconds),
                forms: no_script_forms::NoScriptForms {
                    public_url: Arc::from(state.settings.public_url.as_str()),
                    key: Arc::from(state.passcode_key.as_slice()),
                    secure_cookies: state.settings.secure_cookies,
                },
                refusal: rest::refusal::answer,
            }),
            edge::around_every_request,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));

    let app = Router::new()
        .merge(rest::router())
        .merge(rest::oidc::router())
        .merge(rest::admin::router())
        .route(
            "/admin/audit.csv",
            axum::routing::get(rest::admin::console_csv),
        )
        .merge(pages);
    let app = match console {
        Console::Served => app,
        Console::Hidden => app.layer(axum::middleware::from_fn(hide_console)),
    };
    app.layer(middleware)
        // After the layers, so outside them: a bare answer for load balancers and uptime
        // checks (not logged), and the benchmarks' reference for what the machine can do.
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readiness))
        .with_state(state)
}

/// 404 for every path of the console on a listener that does not serve it, in the answer an
/// unknown path of that surface gets.
async fn hide_console(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if path == "/admin" || path.starts_with("/admin/") || path.starts_with("/rpc/admin_") {
        let id = request
            .extensions()
            .get::<crate::server::http::request_id::RequestId>()
            .copied();
        return rest::refusal::answer(StatusCode::NOT_FOUND, path, request.headers(), id);
    }
    next.run(request).await
}

/// `/readyz`: 200 only while the database answers, for load balancers that should stop
/// sending traffic to a node that cannot reach it (`/healthz` says only that the process lives).
async fn readiness(axum::extract::State(state): axum::extract::State<AppState>) -> StatusCode {
    match state.db.ping().await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::warn!("not ready: the database does not answer: {e}");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
