//! One component per page. Forms are `ActionForm`s: hydrated they submit in the background
//! and show errors in place; without JavaScript they post normally and the server redirects
//! back with the error (or onwards on success).

use crate::api::{
    check_registration, current_account, FormError, Login as LoginFn, Logout,
    Register as RegisterFn,
};
use crate::app::components::{submitted_fields, FieldError, FormAlert};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

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

#[component]
pub fn Register() -> impl IntoView {
    let action = ServerAction::<RegisterFn>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let client_error = RwSignal::new(None::<FormError>);
    let pending = action.pending();
    // Check in the browser with the same domain rules the server applies, before sending.
    let check = move |ev: SubmitEvent| {
        let fields = submitted_fields(&ev, &["username", "email", "password"]);
        let problems = check_registration(&fields[0], &fields[1], &fields[2]);
        if problems.is_empty() {
            client_error.set(None);
        } else {
            ev.prevent_default();
            client_error.set(Some(FormError::from_invalid(problems)));
        }
    };
    view! {
        <Title text="Create an account" />
        <section class="card">
            <h1>"Create an account"</h1>
            <FormAlert error=server_error />
            <div on:submit:capture=check>
                <ActionForm action=action>
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        minlength="3"
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

                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        required
                        minlength="8"
                        maxlength="128"
                        aria-describedby="password-error"
                    />
                    <p class="hint">"At least 8 characters. Long phrases are good."</p>
                    <FieldError field="password" server=server_error client=client_error />

                    <button type="submit" disabled=move || pending.get()>
                        {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                    </button>
                </ActionForm>
            </div>
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();
    view! {
        <Title text="Sign in" />
        <section class="card">
            <h1>"Sign in"</h1>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <label for="identifier">"Username or e-mail address"</label>
                <input id="identifier" name="identifier" autocomplete="username" required />

                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />

                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn Account() -> impl IntoView {
    let account = Resource::new(|| (), |_| current_account());
    let logout = ServerAction::<Logout>::new();
    view! {
        <Title text="Your account" />
        <Suspense fallback=|| view! { <p class="card">"Loading your account…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(account)) => {
                        view! {
                            <section class="card">
                                <h1>"Your account"</h1>
                                <dl class="facts">
                                    <dt>"Username"</dt>
                                    <dd data-testid="username">{account.username}</dd>
                                    <dt>"E-mail address"</dt>
                                    <dd>
                                        <span data-testid="email">{account.email}</span>
                                        " "
                                        {if account.email_verified {
                                            view! { <span class="badge ok">"verified"</span> }
                                        } else {
                                            view! { <span class="badge">"not verified"</span> }
                                        }}
                                    </dd>
                                    <dt>"Plan"</dt>
                                    <dd data-testid="plan">{if account.paid { "Paid" } else { "Free" }}</dd>
                                    <dt>"Credits"</dt>
                                    <dd data-testid="credits">{account.credits}</dd>
                                </dl>
                                <ActionForm action=logout>
                                    <button type="submit" class="secondary">"Sign out"</button>
                                </ActionForm>
                            </section>
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! { <p class="card form-alert">{error.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the start page"</a></p>
        </section>
    }
}
