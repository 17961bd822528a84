//! Signing up and signing in.

use crate::api::{check_registration, FormError, Login as LoginFn, Register as RegisterFn};
use crate::app::components::{
    check_before_sending, form_error, start_island, FieldError, FormAlert, PasswordInput,
    PasswordKind,
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
            <RegisterForm />
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}

/// The sign-up form: checked in the browser with the same domain rules the server applies,
/// before it is sent.
#[island]
fn RegisterForm() -> impl IntoView {
    start_island();
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
    start_island();
    let action = ServerAction::<LoginFn>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let pending = action.pending();
    view! {
        <FormAlert error=server_error />
        <ActionForm action=action>
            <label for="identifier">"Username or e-mail address"</label>
            <input id="identifier" name="identifier" autocomplete="username" required />

            <PasswordInput name="password" label="Password" kind=PasswordKind::Current
                server=server_error client=no_client_error />

            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}
