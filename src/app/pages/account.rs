//! The signed-in account: its page, the password change, the upgrade, and the e-mail
//! verification a link leads to.

use crate::api::{
    check_new_password, AddPhone, ChangePassword as ChangePasswordFn, ConfirmPhone, FormError,
    ResendVerification, SignOutEverywhere, UpgradePlan, VerifyEmail as VerifyEmailFn,
};
use crate::app::components::{
    breakable_address, form_error, returned_form, suggested_country_code, typed, FieldError,
    FormAlert, IslandForm, NewPasswordInputs, PageField, PasswordInput, PasswordKind,
    RequireAccount,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

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
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let resend_error = form_error(resend);
    let add_phone = ServerAction::<AddPhone>::new();
    let add_phone_error = form_error(add_phone);
    let confirm_phone = ServerAction::<ConfirmPhone>::new();
    let confirm_phone_error = form_error(confirm_phone);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let returned = returned_form();
    let country_code = typed::<AddPhone>(&returned, "country_code").or_else(suggested_country_code);
    let number = typed::<AddPhone>(&returned, "number");
    view! {
        <Title text="Your account" />
        <RequireAccount signed_in=move |account| {
            let (country_code, number) = (country_code.clone(), number.clone());
            let add_phone_refused = number.is_some();
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
                            <span data-testid="email">{breakable_address(&account.email)}</span>
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
                            <details class="phone" open=add_phone_refused>
                                <summary>{if account.phone.is_some() { "Change phone number" } else { "Add a phone number" }}</summary>
                                <p class="hint">"A confirmed number can receive password reset passcodes."</p>
                                <FormAlert error=add_phone_error />
                                <ActionForm action=add_phone>
                                    <label for="country_code">"Country code"</label>
                                    <input id="country_code" name="country_code" value=country_code
                                        inputmode="tel" autocomplete="tel-country-code" placeholder="+1" required />
                                    <label for="number">"Phone number"</label>
                                    <input id="number" name="number" type="tel" autocomplete="tel-national" required
                                        value=number />
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
    view! {
        <Title text="Change password" />
        <RequireAccount signed_in=move |_| {
            view! {
                <section class="card">
                    <h1>"Change password"</h1>
                    <ChangePasswordForm />
                    <p class="aside"><a href="/account">"Back to your account"</a></p>
                </section>
            }
        } />
    }
}

/// The password change: the two new passwords are compared in the browser before sending.
#[island]
fn ChangePasswordForm() -> impl IntoView {
    let (form, _) = IslandForm::start::<ChangePasswordFn>();
    let check = form.check_before_sending(&["new_password", "new_password_again"], |f| {
        check_new_password(&f[0], &f[1])
    });
    let sending = form.sending;
    view! {
        {form.alert()}
        <form method="post" action={ChangePasswordFn::PATH} on:submit=check>
            <PasswordInput name="old_password" label="Current password"
                kind=PasswordKind::Current form />
            <NewPasswordInputs form />
            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
    }
}

#[component]
pub fn Upgrade() -> impl IntoView {
    let action = ServerAction::<UpgradePlan>::new();
    let server_error = form_error(action);
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
    let server_error = form_error(action);
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
