//! The web front end: the HTML shell, the router, and the pages. UI only; every action goes
//! through a server function in `crate::api`.
//!
//! Islands: every page renders on the server, and only the `#[island]` components (forms that
//! are checked, or whose password is sealed, in the browser) hydrate; pages without one ship
//! no WASM. Every form works without JavaScript either way.

mod components;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::api::prepare_page();
    let language = crate::api::page_language();
    view! {
        <!DOCTYPE html>
        <html lang=language.html_tag()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                {ships_islands().then(|| view! { <HydrationScripts options islands=true /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Whether the page being rendered has an island, and so needs the WASM: a page without one
/// downloads no script at all. Kept beside the routes: a page that gains an island is listed
/// here (an HTTP test checks every page's markup against this).
fn ships_islands() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            page_has_islands(parts.uri.path(), parts.uri.query().unwrap_or(""))
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// The pages with islands: the forms checked or sealed in the browser before sending.
pub fn page_has_islands(path: &str, query: &str) -> bool {
    match path {
        "/register" | "/login" | "/password" => true,
        // Only the reset's last step (`?token=…`) seals the new password in the browser.
        "/forgot/password" => query
            .split('&')
            .any(|pair| pair.strip_prefix("token=").is_some_and(|v| !v.is_empty())),
        _ => false,
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css" />
        <Title formatter=|page: String| format!("{page} · Latchkey") />
        <Router>
            <components::Header />
            <main>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("") view=pages::Home />
                    <Route path=path!("/register") view=pages::Register />
                    <Route path=path!("/login") view=pages::Login />
                    <Route path=path!("/login/second-factor") view=pages::SecondFactor ssr=SsrMode::Async />
                    <Route path=path!("/account") view=pages::Account ssr=SsrMode::Async />
                    <Route path=path!("/account/security") view=pages::Security ssr=SsrMode::Async />
                    <Route path=path!("/password") view=pages::ChangePassword ssr=SsrMode::Async />
                    <Route path=path!("/upgrade") view=pages::Upgrade ssr=SsrMode::Async />
                    <Route path=path!("/verify-email/:username/:token") view=pages::VerifyEmail />
                    <Route path=path!("/email-verified") view=pages::EmailVerified />
                    <Route path=path!("/forgot/username") view=pages::ForgotUsername />
                    <Route path=path!("/forgot/password") view=pages::ForgotPassword />
                    <Route path=path!("/oauth/consent") view=pages::Consent ssr=SsrMode::Async />
                    <Route path=path!("/oauth/problem") view=pages::OAuthProblem />
                    <Route path=path!("/signed-out") view=pages::SignedOut />
                    <Route path=path!("/reset-password") view=pages::ResetPasswordLink ssr=SsrMode::Async />
                    <Route path=path!("/account/email") view=pages::ChangeEmail ssr=SsrMode::Async />
                    <Route path=path!("/account/email/confirm") view=pages::ConfirmEmailChangePage ssr=SsrMode::Async />
                    <Route path=path!("/account/email/restore") view=pages::RestoreEmail ssr=SsrMode::Async />
                    <Route path=path!("/account/delete") view=pages::DeleteAccount ssr=SsrMode::Async />
                    <Route path=path!("/account/keep") view=pages::KeepAccount />
                    <Route path=path!("/admin") view=pages::AdminHome ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=pages::AdminUser ssr=SsrMode::Async />
                    <Route path=path!("/admin/step-up") view=pages::AdminStepUp ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=pages::AdminAudit ssr=SsrMode::Async />
                    <Route path=path!("/admin/tokens") view=pages::AdminTokens ssr=SsrMode::Async />
                    <Route path=path!("/admin/clients") view=pages::AdminClients ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
