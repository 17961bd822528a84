//! One component per page, in one module per flow (as `server/services` is): signing up and
//! in, the signed-in account, and recovery. Forms are `ActionForm`s: hydrated they submit in
//! the background and show errors in place; without JavaScript they post normally and the
//! server redirects back with the error (or onwards on success).

mod account;
mod recovery;
mod session;

pub use account::{Account, ChangePassword, EmailVerified, Upgrade, VerifyEmail};
pub use recovery::{ForgotPassword, ForgotUsername, ResetPasswordLink};
pub use session::{Login, Register};

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Welcome" />
        <section class="card hero">
            <h1>"Your account, kept simply"</h1>
            <p>
                "Sign up, sign in, see your credits, upgrade, and get back in when you forget a password."
            </p>
            <p class="actions">
                <a class="button" href="/register">"Create an account"</a>
                <a class="button secondary" href="/login">"Sign in"</a>
            </p>
        </section>
    }
}

/// Every address nothing answers: says so, and offers the ways on from here.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. If you followed a link, it may be mistyped or out of date."</p>
            <p class="actions">
                <a class="button" href="/">"Go to the start page"</a>
                <a class="button secondary" href="/account">"Your account"</a>
            </p>
            <p class="aside">"Locked out? " <a href="/forgot/password">"Reset your password"</a></p>
        </section>
    }
}
