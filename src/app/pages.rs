//! One component per page. Forms are `ActionForm`s: hydrated they submit in the background
//! and show errors in place; without JavaScript they post normally and the server redirects
//! back with the error (or onwards on success).

use crate::api::sealed::seal_password;
use crate::api::{
    check_new_password, check_registration, password_key, AddPhone,
    ChangePassword as ChangePasswordFn, ConfirmPhone, FinishReset,
    ForgotUsername as ForgotUsernameFn, FormError, Login as LoginFn, Logout,
    Register as RegisterFn, RequestReset, ResendVerification, SignOutEverywhere, UpgradePlan,
    UseResetLink, VerifyEmail as VerifyEmailFn, VerifyResetCode,
};
use crate::app::components::{
    check_before_sending, submitted_fields, FieldError, FormAlert, PageField, RequireAccount,
};
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
    let check = check_before_sending(client_error, &["username", "email", "password"], |f| {
        check_registration(&f[0], &f[1], &f[2])
    });
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
            <p class="aside">
                <a href="/forgot/password">"Forgot your password?"</a>
                " · "
                <a href="/forgot/username">"Forgot your username?"</a>
            </p>
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
        "phone-code-sent" => {
            Some("We texted a passcode to your phone. Enter it below to confirm the number.")
        }
        "phone-verified" => Some("Your phone number is confirmed."),
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
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let resend_error = Signal::derive(move || resend.value().get().and_then(Result::err));
    let add_phone = ServerAction::<AddPhone>::new();
    let add_phone_error = Signal::derive(move || add_phone.value().get().and_then(Result::err));
    let confirm_phone = ServerAction::<ConfirmPhone>::new();
    let confirm_phone_error =
        Signal::derive(move || confirm_phone.value().get().and_then(Result::err));
    let no_client_error = Signal::derive(|| None::<FormError>);
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
                        <dt>"Phone"</dt>
                        <dd>
                            <span data-testid="phone">{account.phone.clone().unwrap_or_else(|| "none".into())}</span>
                            {account.phone.is_some().then(|| if account.phone_verified {
                                view! { " " <span class="badge ok" data-testid="phone-status">"verified"</span> }.into_any()
                            } else {
                                view! { " " <span class="badge" data-testid="phone-status">"not verified"</span> }.into_any()
                            })}
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
                    {(account.phone.is_some() && !account.phone_verified).then(|| view! {
                        <div class="verify">
                            <FormAlert error=confirm_phone_error />
                            <ActionForm action=confirm_phone>
                                <label for="phone-code">"Passcode from the text message"</label>
                                <input id="phone-code" name="code" inputmode="numeric" autocomplete="one-time-code" required />
                                <FieldError field="code" server=confirm_phone_error client=no_client_error />
                                <button type="submit">"Confirm phone number"</button>
                            </ActionForm>
                        </div>
                    })}
                    {if account.email_verified {
                        view! {
                            <details class="phone">
                                <summary>{if account.phone.is_some() { "Change phone number" } else { "Add a phone number" }}</summary>
                                <p class="hint">"A confirmed number can receive password reset passcodes."</p>
                                <FormAlert error=add_phone_error />
                                <ActionForm action=add_phone>
                                    <label for="country_code">"Country code"</label>
                                    <input id="country_code" name="country_code" value="+86" inputmode="tel" required />
                                    <label for="number">"Phone number"</label>
                                    <input id="number" name="number" type="tel" autocomplete="tel-national" required />
                                    <FieldError field="phone" server=add_phone_error client=no_client_error />
                                    <button type="submit" class="secondary">"Text me a passcode"</button>
                                </ActionForm>
                            </details>
                        }.into_any()
                    } else {
                        view! {
                            <p class="hint" data-testid="phone-needs-verified-email">
                                "Verify your e-mail address to add a phone number for password resets."
                            </p>
                        }.into_any()
                    }}
                    <p class="actions">
                        <a class="button secondary" href="/password">"Change password"</a>
                    </p>
                    <ActionForm action=logout>
                        <button type="submit" class="secondary">"Sign out"</button>
                    </ActionForm>
                </section>
                <section class="card">
                    <h2>"Where you are signed in"</h2>
                    <ul class="sessions" data-testid="sessions">
                        {account.sessions.iter().map(|session| view! {
                            <li>
                                <span class="client">{session.client.clone()}</span>
                                {session.current.then(|| view! { " " <span class="badge ok">"this browser"</span> })}
                                <br />
                                <span class="hint">
                                    "Signed in " {session.started.clone()} " · last active " {session.last_seen.clone()}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                    <ActionForm action=everywhere>
                        <button type="submit" class="secondary">"End every session"</button>
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
    let check = check_before_sending(client_error, &["new_password", "new_password_again"], |f| {
        check_new_password(&f[0], &f[1])
    });
    view! {
        <Title text="Change password" />
        <RequireAccount signed_in=move |_| {
            view! {
                <section class="card">
                    <h1>"Change password"</h1>
                    <FormAlert error=server_error />
                    <div on:submit:capture=check.clone()>
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
                <PageField />
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
pub fn ForgotUsername() -> impl IntoView {
    let action = ServerAction::<ForgotUsernameFn>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("sent")).is_some();
    view! {
        <Title text="Forgot your username" />
        <section class="card">
            <h1>"Forgot your username?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"Enter the e-mail address of your account. If it is verified, we mail the username to it."</p>
                    <FormAlert error=server_error />
                    <ActionForm action=action>
                        <label for="email">"E-mail address"</label>
                        <input id="email" name="email" type="email" autocomplete="email" required />
                        <button type="submit" disabled=move || action.pending().get()>"Mail me my username"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">
                    "If that address belongs to an account with a verified address, the username is on its way there."
                </p>
            </Show>
            <p class="aside"><a href="/login">"Back to sign in"</a></p>
        </section>
    }
}

/// The password reset as three steps. Which step is showing lives in the URL, so a reload (or
/// a form sent without JavaScript) lands on the same step:
/// no query → choose e-mail or phone; `?via=…&to=…` → enter the passcode; `?token=…` → new password.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.is_empty());
    let step = move || {
        if param("token").is_some() {
            3
        } else if param("to").is_some() {
            2
        } else {
            1
        }
    };
    view! {
        <Title text="Reset your password" />
        <section class="card">
            <h1>"Reset your password"</h1>
            <ol class="steps">
                <li class:current=move || step() == 1>"Where to send a passcode"</li>
                <li class:current=move || step() == 2>"Enter the passcode"</li>
                <li class:current=move || step() == 3>"Choose a new password"</li>
            </ol>
            {move || match step() {
                1 => view! { <ResetRequestStep /> }.into_any(),
                2 => view! {
                    <ResetCodeStep
                        via=param("via").unwrap_or_else(|| "email".into())
                        to=param("to").unwrap_or_default()
                        country_code=param("cc").unwrap_or_default()
                    />
                }.into_any(),
                _ => view! { <ResetPasswordStep token=param("token").unwrap_or_default() /> }.into_any(),
            }}
            <p class="aside"><a href="/login">"Back to sign in"</a></p>
        </section>
    }
}

#[component]
fn ResetRequestStep() -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let no_client_error = Signal::derive(|| None::<FormError>);
    view! {
        <p>"We send a six-digit passcode to the e-mail address of your account, or to its confirmed phone number."</p>
        <FormAlert error=server_error />
        <ActionForm action=action>
            <fieldset class="choice">
                <legend>"Send the passcode by"</legend>
                <label class="check"><input type="radio" name="via" value="email" checked /> " E-mail"</label>
                <label class="check"><input type="radio" name="via" value="phone" /> " Text message"</label>
            </fieldset>
            <label for="destination">"E-mail address, or phone number"</label>
            <input id="destination" name="destination" autocomplete="email" required />
            <FieldError field="email" server=server_error client=no_client_error />
            <FieldError field="phone" server=server_error client=no_client_error />
            <label for="country_code">"Country code (phone only)"</label>
            <input id="country_code" name="country_code" value="+86" inputmode="tel" />
            <button type="submit" disabled=move || action.pending().get()>"Send the passcode"</button>
        </ActionForm>
    }
}

#[component]
fn ResetCodeStep(via: String, to: String, country_code: String) -> impl IntoView {
    let action = ServerAction::<VerifyResetCode>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let no_client_error = Signal::derive(|| None::<FormError>);
    let shown = if via == "phone" {
        format!("{country_code} {to}")
    } else {
        to.clone()
    };
    view! {
        <p>"If " <strong>{shown}</strong> " belongs to an account, a passcode is on its way. It works for a few minutes."</p>
        <FormAlert error=server_error />
        <ActionForm action=action>
            <input type="hidden" name="via" value=via />
            <input type="hidden" name="destination" value=to />
            <input type="hidden" name="country_code" value=country_code />
            <label for="code">"Passcode"</label>
            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6" />
            <FieldError field="code" server=server_error client=no_client_error />
            <button type="submit" disabled=move || action.pending().get()>"Continue"</button>
        </ActionForm>
        <p class="aside"><a href="/forgot/password">"Send a new passcode"</a></p>
    }
}

#[component]
fn ResetPasswordStep(token: String) -> impl IntoView {
    let action = ServerAction::<FinishReset>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    let client_error = RwSignal::new(None::<FormError>);
    let sealing = RwSignal::new(false);
    let pending = Signal::derive(move || sealing.get() || action.pending().get());
    // Hydrated, the page checks the two fields, seals both with the server's RSA key and
    // sends them itself; without JavaScript the form posts them as typed.
    let seal_and_send = {
        let token = token.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let fields = submitted_fields(&ev, &["new_password", "new_password_again"]);
            let problems = check_new_password(&fields[0], &fields[1]);
            if !problems.is_empty() {
                client_error.set(Some(FormError::from_invalid(problems)));
                return;
            }
            client_error.set(None);
            sealing.set(true);
            let token = token.clone();
            leptos::task::spawn_local(async move {
                let sealed = match password_key().await {
                    Ok(pem) => seal_password(&pem, &fields[0]).zip(seal_password(&pem, &fields[1])),
                    Err(_) => None,
                };
                sealing.set(false);
                match sealed {
                    Some((new_password, new_password_again)) => {
                        action.dispatch(FinishReset {
                            token,
                            new_password,
                            new_password_again,
                            encryption: Some("rsa".into()),
                        });
                    }
                    None => client_error.set(Some(FormError::general(
                        "The new password could not be protected for sending. Reload the page and try again.",
                    ))),
                }
            });
        }
    };
    view! {
        <FormAlert error=server_error />
        <FormAlert error=client_error />
        <div on:submit:capture=seal_and_send>
            <ActionForm action=action>
                <PageField />
                <input type="hidden" name="token" value=token />
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password"
                    required minlength="8" maxlength="128" />
                <p class="hint">"At least 8 characters. Long phrases are good."</p>
                <FieldError field="new_password" server=server_error client=client_error />
                <label for="new_password_again">"New password, again"</label>
                <input id="new_password_again" name="new_password_again" type="password"
                    autocomplete="new-password" required />
                <FieldError field="new_password_again" server=server_error client=client_error />
                <button type="submit" disabled=move || pending.get()>"Set the new password"</button>
            </ActionForm>
        </div>
    }
}

/// Where the reset mail's link leads: one click exchanges it for the last step.
#[component]
pub fn ResetPasswordLink() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let action = ServerAction::<UseResetLink>::new();
    let server_error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Reset your password" />
        <section class="card">
            <h1>"Reset your password"</h1>
            <p>"Continue to choose a new password for your account."</p>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <PageField />
                <input type="hidden" name="token" value=token />
                <button type="submit" disabled=move || action.pending().get()>"Continue"</button>
            </ActionForm>
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
