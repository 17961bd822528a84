//! Signing up and signing in.

use crate::api::{check_registration, Login as LoginFn, Refused, Register as RegisterFn};
use crate::app::components::{IslandForm, PasswordInput, PasswordKind};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Register() -> impl IntoView {
    view! {
        <Title text="Create an account" />
        <section class="card">
            <h1>"Create an account"</h1>
            <RegisterForm />
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}

/// The sign-up form: checked in the browser with the same domain rules the server applies,
/// before it is sent. Refused without JavaScript, it comes back with what was typed.
#[island]
fn RegisterForm() -> impl IntoView {
    let (form, refused) = IslandForm::start::<RegisterFn>();
    let check = form.check_before_sending(&["username", "email", "password"], |f| {
        check_registration(&f[0], &f[1], &f[2])
    });
    let sending = form.sending;
    view! {
        {form.alert()}
        <form method="post" action={RegisterFn::PATH} on:submit=check>
            <label for="username">"Username"</label>
            <input
                id="username"
                name="username"
                value={Refused::typed(&refused, "username")}
                autocomplete="username"
                required
                maxlength="32"
                aria-describedby="username-error"
            />
            <p class="hint">"3–32 letters, digits, dots, dashes or underscores."</p>
            {form.field_error("username")}

            <label for="email">"E-mail address"</label>
            <input
                id="email"
                name="email"
                value={Refused::typed(&refused, "email")}
                type="email"
                autocomplete="email"
                required
                maxlength="254"
                aria-describedby="email-error"
            />
            {form.field_error("email")}

            <PasswordInput name="password" label="Password" kind=PasswordKind::New form />

            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { "Creating your account…" } else { "Create account" }}
            </button>
        </form>
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let notice = move || match query.with(|q| q.get("notice")).as_deref() {
        Some("password-reset") => Some("Your password is reset. Sign in with the new one."),
        Some("signed-out-everywhere") => {
            Some("You are signed out on every device. Sign in again to continue here.")
        }
        Some("session-ended") => Some("Your session has ended. Sign in again to continue."),
        _ => None,
    };
    view! {
        <Title text="Sign in" />
        <section class="card">
            <h1>"Sign in"</h1>
            <Show when=move || notice().is_some()>
                <p class="notice" role="status">{notice}</p>
            </Show>
            <LoginForm />
            <p class="aside">
                <a href="/forgot/password">"Forgot your password?"</a>
                " · "
                <a href="/forgot/username">"Forgot your username?"</a>
            </p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a></p>
        </section>
    }
}

/// The sign-in form: says it is working while the password is checked.
#[island]
fn LoginForm() -> impl IntoView {
    let (form, refused) = IslandForm::start::<LoginFn>();
    let sending = form.sending;
    view! {
        {form.alert()}
        <form method="post" action={LoginFn::PATH} on:submit=move |_| sending.set(true)>
            <label for="identifier">"Username or e-mail address"</label>
            <input id="identifier" name="identifier" autocomplete="username" required
                value={Refused::typed(&refused, "identifier")} />
            <input type="hidden" name="next" value=next_after_sign_in() />

            <PasswordInput name="password" label="Password" kind=PasswordKind::Current form />

            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </form>
    }
}

/// Where to go once signed in: the page that sent the visitor here (`?next=`), if it is on this
/// site. Read while the server renders; in the browser the form already holds it.
fn next_after_sign_in() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_query_map()
            .with_untracked(|q| q.get("next"))
            .filter(|next| crate::server::form_origin::is_local_path(next))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
