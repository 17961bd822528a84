//! The web front end: the HTML shell, the router, and the pages. UI only; every action goes
//! through a server function in `crate::api`.

mod components;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::page_headers::set_for_current_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: the mark tells tests (and anyone
    // debugging) that the WASM app has taken over the page.
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
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
                    <Route path=path!("/account") view=pages::Account ssr=SsrMode::Async />
                    <Route path=path!("/password") view=pages::ChangePassword ssr=SsrMode::Async />
                    <Route path=path!("/upgrade") view=pages::Upgrade ssr=SsrMode::Async />
                    <Route path=path!("/verify-email/:username/:token") view=pages::VerifyEmail />
                    <Route path=path!("/email-verified") view=pages::EmailVerified />
                    <Route path=path!("/forgot/username") view=pages::ForgotUsername />
                    <Route path=path!("/forgot/password") view=pages::ForgotPassword />
                    <Route path=path!("/reset-password") view=pages::ResetPasswordLink />
                </Routes>
            </main>
        </Router>
    }
}
