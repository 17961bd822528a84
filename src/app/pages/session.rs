//! Signing up and signing in.

use crate::api::ReturnedForm;
use crate::api::{check_registration, FormError, Login as LoginFn, Register as RegisterFn};
use crate::app::components::{
    check_before_sending, form_error, returned_form, start_island, typed, FieldError, FormAlert,
    PasswordInput, PasswordKind,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Register() -> impl IntoView {
    view! {
        <Title text="Create an account" />
        <section class="card">
            <h1>"Create an account"</h1>
            <RegisterForm returned=returned_form() />
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}

/// The sign-up form: checked in the browser with the same domain rules the server applies,
/// before it is sent. Refused without JavaScript, it comes back with what was typed.
#[island]
fn RegisterForm(returned: Option<ReturnedForm>) -> impl IntoView {
    start_island(&returned);
    let action = ServerAction::<RegisterFn>::new();
    let server_error = form_error(action);
    let client_error = RwSignal::new(None::<FormError>);
    let pending = action.pending();
    let check = check_before_sending(client_error, &["username", "email", "password"], |f| {
        check_registration(&f[0], &f[1], &f[2])
    });
    view! {
        <FormAlert error=server_error />
        <div on:submit:capture=check>
            <ActionForm action=action>
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    value={typed::<RegisterFn>(&returned, "username")}
                    autocomplete="username"
                    required
                    maxlength="32"
                    aria-describedby="username-error"
                />
                <p class="hint">"3–32 letters, digits, dots, dashes or underscores."</p>
                <FieldError field="username" server=server_error client=client_error />

                <label for="email">"E-mail address"</label>
                <input
                    id="email"
                    name="email"
                    value={typed::<RegisterFn>(&returned, "email")}
                    type="email"
                    autocomplete="email"
                    required
                    maxlength="254"
                    aria-describedby="email-error"
                />
                <FieldError field="email" server=server_error client=client_error />

                <PasswordInput name="password" label="Password" kind=PasswordKind::New
                    server=server_error client=client_error />

                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                </button>
            </ActionForm>
        </div>
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
    // Where to go once signed in: the page that sent the visitor here, if it is on this site.
    let next = query
        .with_untracked(|q| q.get("next"))
        .filter(|next| next.starts_with('/') && !next.starts_with("//"));
    view! {
        <Title text="Sign in" />
        <section class="card">
            <h1>"Sign in"</h1>
            <Show when=move || notice().is_some()>
                <p class="notice" role="status">{notice}</p>
            </Show>
            <LoginForm returned=returned_form() next />
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
fn LoginForm(returned: Option<ReturnedForm>, next: Option<String>) -> impl IntoView {
    start_island(&returned);
    let action = ServerAction::<LoginFn>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let pending = action.pending();
    view! {
        <FormAlert error=server_error />
        <ActionForm action=action>
            <label for="identifier">"Username or e-mail address"</label>
            <input id="identifier" name="identifier" autocomplete="username" required
                value={typed::<LoginFn>(&returned, "identifier")} />
            {next.map(|next| view! { <input type="hidden" name="next" value=next /> })}

            <PasswordInput name="password" label="Password" kind=PasswordKind::Current
                server=server_error client=no_client_error />

            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}
