//! Signing up and signing in.

use crate::api::{
    check_registration, page_language, Login as LoginFn, Refused, Register as RegisterFn,
};
use crate::app::components::{
    passkeys_offered, IslandForm, PasskeyButton, PasskeyScript, PasswordInput, PasswordKind,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Register() -> impl IntoView {
    let t = page_language().text();
    view! {
        <Title text=t.register_title />
        <section class="card">
            <h1>{t.register_title}</h1>
            <RegisterForm />
            <p class="aside">{t.have_account}" " <a href="/login">{page_language().island_text().sign_in}</a></p>
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
    let t = page_language().text();
    let words = page_language().island_text();
    view! {
        {form.alert()}
        <form method="post" action={RegisterFn::PATH} on:submit=check>
            <label for="username">{t.username}</label>
            <input
                id="username"
                name="username"
                value={Refused::typed(&refused, "username")}
                autocomplete="username"
                required
                maxlength="32"
                aria-describedby="username-error"
            />
            <p class="hint">{t.username_hint}</p>
            {form.field_error("username")}

            <label for="email">{t.email}</label>
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

            <PasswordInput name="password" label=t.password kind=PasswordKind::New form />

            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { words.creating_account } else { words.create_account }}
            </button>
        </form>
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let t = page_language().text();
    let notice = move || match query.with(|q| q.get("notice")).as_deref() {
        Some("password-reset") => Some(t.notice_password_reset),
        Some("signed-out-everywhere") => Some(t.notice_signed_out_everywhere),
        Some("session-ended") => Some(t.notice_session_ended),
        Some("email-changed") => Some(t.notice_email_changed),
        Some("email-restored") => Some(t.notice_email_restored),
        Some("deletion-requested") => Some(t.notice_deletion_requested),
        _ => None,
    };
    view! {
        <Title text=t.sign_in_title />
        <section class="card">
            <h1>{t.sign_in_title}</h1>
            <Show when=move || notice().is_some()>
                <p class="notice" role="status">{notice}</p>
            </Show>
            <LoginForm />
            {passkeys_offered().then(|| view! {
                <PasskeyButton kind="sign-in" label=t.sign_in_with_passkey />
                <PasskeyScript />
            })}
            <p class="aside">
                <a href="/forgot/password">{t.forgot_password_link}</a>
                " · "
                <a href="/forgot/username">{t.forgot_username_link}</a>
            </p>
            <p class="aside">{t.new_here}" " <a href="/register">{t.nav_register}</a></p>
        </section>
    }
}

/// The sign-in form: says it is working while the password is checked.
#[island]
fn LoginForm() -> impl IntoView {
    let (form, refused) = IslandForm::start::<LoginFn>();
    let sending = form.sending;
    let t = page_language().text();
    let words = page_language().island_text();
    view! {
        {form.alert()}
        <form method="post" action={LoginFn::PATH} on:submit=move |_| sending.set(true)>
            <label for="identifier">{t.username_or_email}</label>
            <input id="identifier" name="identifier" autocomplete="username" required
                value={Refused::typed(&refused, "identifier").or_else(login_hint)} />
            <input type="hidden" name="next" value=next_after_sign_in() />

            <PasswordInput name="password" label=t.password kind=PasswordKind::Current form />

            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { words.signing_in } else { words.sign_in }}
            </button>
        </form>
    }
}

/// The name an app that sent the person here suggested (OpenID Connect `login_hint`).
fn login_hint() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_query_map().with_untracked(|q| q.get("login_hint"))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Where to go once signed in: the page that sent the visitor here (`?next=`), if it is on this
/// site. Read while the server renders; in the browser the form already holds it.
fn next_after_sign_in() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_query_map()
            .with_untracked(|q| q.get("next"))
            .filter(|next| crate::domain::is_site_page(next))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
