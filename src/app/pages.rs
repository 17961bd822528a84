//! One component per page. Forms are `ActionForm`s: hydrated they submit in the background
//! and show errors in place; without JavaScript they post normally and the server redirects
//! back with the error (or onwards on success).

use crate::api::{
    check_new_password, check_registration, ChangePassword as ChangePasswordFn, FormError,
    Login as LoginFn, Logout, Register as RegisterFn, ResendVerification, UpgradePlan,
    VerifyEmail as VerifyEmailFn,
};
use crate::app::components::{submitted_fields, FieldError, FormAlert, RequireAccount};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

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

/// What a `?notice=` after an action means, in words.
fn notice_text(notice: &str) -> Option<&'static str> {
    match notice {
        "password-changed" => Some("Your password is changed. Other devices have been signed out."),
        "upgraded" => Some("Your account is now on the paid plan."),
        "verification-sent" => Some("A new verification link is on its way to your inbox."),
        _ => None,
    }
}

#[component]
pub fn Account() -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        query
            .with(|q| q.get("notice"))
            .and_then(|n| notice_text(&n))
    };
    let logout = ServerAction::<Logout>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let resend_error = Signal::derive(move || resend.value().get().and_then(Result::err));
    view! {
        <Title text="Your account" />
        <RequireAccount signed_in=move |account| {
            view! {
                <section class="card">
                    <h1>"Your account"</h1>
                    <Show when=move || notice().is_some()>
                        <p class="notice" role="status">{notice}</p>
                    </Show>
                    <dl class="facts">
                        <dt>"Username"</dt>
                        <dd data-testid="username">{account.username.clone()}</dd>
                        <dt>"E-mail address"</dt>
                        <dd>
                            <span data-testid="email">{account.email.clone()}</span>
                            " "
                            {if account.email_verified {
                                view! { <span class="badge ok" data-testid="email-status">"verified"</span> }
                            } else {
                                view! { <span class="badge" data-testid="email-status">"not verified"</span> }
                            }}
                        </dd>
                        <dt>"Plan"</dt>
                        <dd>
                            <span data-testid="plan">{if account.paid { "Paid" } else { "Free" }}</span>
                            {(!account.paid).then(|| view! { " · " <a href="/upgrade">"Upgrade"</a> })}
                        </dd>
                        <dt>"Credits"</dt>
                        <dd data-testid="credits">{account.credits.clone()}</dd>
                    </dl>
                    {(!account.email_verified).then(|| view! {
                        <div class="verify">
                            <p class="hint">"Check your inbox for the verification link, or ask for a new one."</p>
                            <FormAlert error=resend_error />
                            <ActionForm action=resend>
                                <button type="submit" class="secondary" disabled=move || resend.pending().get()>
                                    "Send a new verification link"
                                </button>
                            </ActionForm>
                        </div>
                    })}
                    <p class="actions">
                        <a class="button secondary" href="/password">"Change password"</a>
                    </p>
                    <ActionForm action=logout>
                        <button type="submit" class="secondary">"Sign out"</button>
                    </ActionForm>
                </section>
            }
        } />
    }
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let action = ServerAction::<ChangePasswordFn>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let client_error = RwSignal::new(None::<FormError>);
    let pending = action.pending();
    let check = move |ev: SubmitEvent| {
        let fields = submitted_fields(&ev, &["new_password", "new_password_again"]);
        let problems = check_new_password(&fields[0], &fields[1]);
        if problems.is_empty() {
            client_error.set(None);
        } else {
            ev.prevent_default();
            client_error.set(Some(FormError::from_invalid(problems)));
        }
    };
    view! {
        <Title text="Change password" />
        <RequireAccount signed_in=move |_| {
            view! {
                <section class="card">
                    <h1>"Change password"</h1>
                    <FormAlert error=server_error />
                    <div on:submit:capture=check>
                        <ActionForm action=action>
                            <label for="old_password">"Current password"</label>
                            <input id="old_password" name="old_password" type="password"
                                autocomplete="current-password" required />
                            <FieldError field="old_password" server=server_error client=client_error />

                            <label for="new_password">"New password"</label>
                            <input id="new_password" name="new_password" type="password"
                                autocomplete="new-password" required minlength="8" maxlength="128" />
                            <p class="hint">"At least 8 characters. Long phrases are good."</p>
                            <FieldError field="new_password" server=server_error client=client_error />

                            <label for="new_password_again">"New password, again"</label>
                            <input id="new_password_again" name="new_password_again" type="password"
                                autocomplete="new-password" required />
                            <FieldError field="new_password_again" server=server_error client=client_error />

                            <button type="submit" disabled=move || pending.get()>
                                {move || if pending.get() { "Changing…" } else { "Change password" }}
                            </button>
                        </ActionForm>
                    </div>
                    <p class="aside"><a href="/account">"Back to your account"</a></p>
                </section>
            }
        } />
    }
}

#[component]
pub fn Upgrade() -> impl IntoView {
    let action = ServerAction::<UpgradePlan>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let no_client_error = Signal::derive(|| None::<FormError>);
    let pending = action.pending();
    view! {
        <Title text="Upgrade" />
        <RequireAccount signed_in=move |account| {
            let body = if account.paid {
                view! { <p>"Your account is already on the paid plan."</p> }.into_any()
            } else if !account.email_verified {
                view! {
                    <p class="form-alert">"Verify your e-mail address before upgrading: use the link we sent you, or ask for a new one on "<a href="/account">"your account page"</a>"."</p>
                }.into_any()
            } else {
                view! {
                    <p>"The paid plan has no limits of the free plan. "<strong>"An upgrade cannot be undone."</strong></p>
                    <FormAlert error=server_error />
                    <ActionForm action=action>
                        <label class="check">
                            <input type="checkbox" name="confirm" value="yes" required />
                            " I understand that I cannot go back to the free plan."
                        </label>
                        <FieldError field="confirm" server=server_error client=no_client_error />
                        <button type="submit" disabled=move || pending.get()>
                            {move || if pending.get() { "Upgrading…" } else { "Upgrade to paid" }}
                        </button>
                    </ActionForm>
                }.into_any()
            };
            view! {
                <section class="card">
                    <h1>"Upgrade to the paid plan"</h1>
                    {body}
                    <p class="aside"><a href="/account">"Back to your account"</a></p>
                </section>
            }
        } />
    }
}

/// Where the verification mail's link leads a browser: one click uses the token.
#[component]
pub fn VerifyEmail() -> impl IntoView {
    let params = use_params_map();
    let username = move || params.with(|p| p.get("username").unwrap_or_default());
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let action = ServerAction::<VerifyEmailFn>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();
    view! {
        <Title text="Verify your e-mail address" />
        <section class="card">
            <h1>"Verify your e-mail address"</h1>
            <p>"Confirm that this address belongs to "<strong>{username}</strong>"."</p>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <input type="hidden" name="username" value=username />
                <input type="hidden" name="token" value=token />
                <button type="submit" disabled=move || pending.get()>"Verify my e-mail address"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn EmailVerified() -> impl IntoView {
    view! {
        <Title text="E-mail address verified" />
        <section class="card">
            <h1>"E-mail address verified"</h1>
            <p>"Thank you. Your address is confirmed."</p>
            <p class="actions"><a class="button" href="/account">"Go to your account"</a></p>
        </section>
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
