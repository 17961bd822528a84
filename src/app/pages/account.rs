//! The signed-in account: its page, the password change, the upgrade, and the e-mail
//! verification a link leads to.

use crate::api::{
    check_new_password, page_language, AddPhone, ChangePassword as ChangePasswordFn, ConfirmPhone,
    FormError, ResendVerification, RevokeApp, SignOutEverywhere, UpgradePlan,
    VerifyEmail as VerifyEmailFn,
};
use crate::app::components::{
    breakable_address, form_error, returned_form, suggested_country_code, typed, FieldError,
    FormAlert, IslandForm, NewPasswordInputs, PageField, PasswordInput, PasswordKind,
    RequireAccount,
};
use crate::i18n::fill;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What a `?notice=` after an action means, in words.
fn notice_text(notice: &str) -> Option<&'static str> {
    let t = page_language().text();
    match notice {
        "password-changed" => Some(t.notice_password_changed),
        "upgraded" => Some(t.notice_upgraded),
        "verification-sent" => Some(t.notice_verification_sent),
        "phone-code-sent" => Some(t.notice_phone_code_sent),
        "phone-verified" => Some(t.notice_phone_verified),
        "app-revoked" => Some(t.notice_app_revoked),
        "email-changed" => Some(t.notice_email_changed),
        "kept" => Some(t.notice_kept),
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
    let language = page_language();
    let t = language.text();
    view! {
        <Title text=t.account_title />
        <RequireAccount signed_in=move |account| {
            let (country_code, number) = (country_code.clone(), number.clone());
            let add_phone_refused = number.is_some();
            let sessions_count =
                fill(t.sessions_count, &[&language.devices(account.sessions.len())]);
            view! {
                <section class="card">
                    <h1>{t.account_title}</h1>
                    <Show when=move || notice().is_some()>
                        <p class="notice" role="status">{notice}</p>
                    </Show>
                    <dl class="facts">
                        <dt>{t.username}</dt>
                        <dd data-testid="username">{account.username.clone()}</dd>
                        <dt>{t.email}</dt>
                        <dd>
                            <span data-testid="email">{breakable_address(&account.email)}</span>
                            " "
                            {if account.email_verified {
                                view! { <span class="badge ok" data-testid="email-status">{t.verified}</span> }
                            } else {
                                view! { <span class="badge" data-testid="email-status">{t.not_verified}</span> }
                            }}
                        </dd>
                        <dt>{t.phone}</dt>
                        <dd>
                            <span data-testid="phone">{account.phone.clone().unwrap_or_else(|| t.no_phone.into())}</span>
                            {account.phone.is_some().then(|| if account.phone_verified {
                                view! { " " <span class="badge ok" data-testid="phone-status">{t.verified}</span> }.into_any()
                            } else {
                                view! { " " <span class="badge" data-testid="phone-status">{t.not_verified}</span> }.into_any()
                            })}
                        </dd>
                        <dt>{t.plan}</dt>
                        <dd>
                            <span data-testid="plan">{if account.paid { t.plan_paid } else { t.plan_free }}</span>
                            {(!account.paid).then(|| view! { " · " <a href="/upgrade">{t.upgrade_link}</a> })}
                        </dd>
                        <dt>{t.second_step_title}</dt>
                        <dd>
                            {if account.two_step() {
                                view! { <span class="badge ok" data-testid="two-step">{t.two_step_on}</span> }
                            } else {
                                view! { <span class="badge" data-testid="two-step">{t.two_step_off}</span> }
                            }}
                            {account.two_step().then(|| {
                                let mut factors = Vec::new();
                                if account.authenticator_app {
                                    factors.push(t.authenticator_heading.to_owned());
                                }
                                if account.passkeys > 0 {
                                    factors.push(fill(t.passkeys_count, &[&account.passkeys.to_string()]));
                                }
                                view! { " " <span class="hint" data-testid="factors">{factors.join(" · ")}</span> }
                            })}
                            " · "
                            <a href={crate::api::SECURITY_PAGE}>{t.manage_two_step}</a>
                        </dd>
                        <dt>{t.credits}</dt>
                        <dd data-testid="credits" data-amount=account.credits.clone()>
                            {language.credits(&account.credits)}
                        </dd>
                    </dl>
                    <h2>{t.data_heading}</h2>
                    <p class="actions">
                        <a href="/account/email" data-testid="change-email">{t.email_change_title}</a>
                        <a href="/v2/account/export" download="latchkey-export.json" data-testid="export">{t.export_link}</a>
                        <a href="/account/delete" data-testid="delete-account">{t.delete_link}</a>
                    </p>
                    {account.console.then(|| view! {
                        <p><a href="/admin" data-testid="console-link">{t.console_link}</a></p>
                    })}
                    {(!account.email_verified).then(|| view! {
                        <div class="verify">
                            <p class="hint">{t.check_inbox}</p>
                            <FormAlert error=resend_error />
                            <ActionForm action=resend>
                                <button type="submit" class="secondary" disabled=move || resend.pending().get()>
                                    {t.send_new_verification}
                                </button>
                            </ActionForm>
                        </div>
                    })}
                    {(account.phone.is_some() && !account.phone_verified).then(|| view! {
                        <div class="verify">
                            <FormAlert error=confirm_phone_error />
                            <ActionForm action=confirm_phone>
                                <label for="phone-code">{t.phone_code_label}</label>
                                <input id="phone-code" name="code" inputmode="numeric" autocomplete="one-time-code" required />
                                <FieldError field="code" server=confirm_phone_error client=no_client_error />
                                <button type="submit">{t.confirm_phone}</button>
                            </ActionForm>
                        </div>
                    })}
                    {if account.email_verified {
                        view! {
                            <details class="phone" open=add_phone_refused>
                                <summary>{if account.phone.is_some() { t.change_phone } else { t.add_phone }}</summary>
                                <p class="hint">{t.phone_hint}</p>
                                <FormAlert error=add_phone_error />
                                <ActionForm action=add_phone>
                                    <label for="country_code">{t.country_code}</label>
                                    <input id="country_code" name="country_code" value=country_code
                                        inputmode="tel" autocomplete="tel-country-code" placeholder="+1" required />
                                    <label for="number">{t.phone_number}</label>
                                    <input id="number" name="number" type="tel" autocomplete="tel-national" required
                                        value=number />
                                    <FieldError field="phone" server=add_phone_error client=no_client_error />
                                    <button type="submit" class="secondary">{t.text_me_passcode}</button>
                                </ActionForm>
                            </details>
                        }.into_any()
                    } else {
                        view! {
                            <p class="hint" data-testid="phone-needs-verified-email">
                                {t.phone_needs_verified_email}
                            </p>
                        }.into_any()
                    }}
                    <p class="actions">
                        <a class="button secondary" href="/password">{t.change_password_link}</a>
                    </p>
                </section>
                <section class="card">
                    <h2>{t.sessions_heading}</h2>
                    <p class="hint" data-testid="sessions-count">{sessions_count}</p>
                    <ul class="sessions" data-testid="sessions">
                        {account.sessions.iter().map(|session| view! {
                            <li>
                                <span class="client">{session.client.clone()}</span>
                                {session.current.then(|| view! { " " <span class="badge ok">{t.this_browser}</span> })}
                                <br />
                                <span class="hint">
                                    {fill(t.session_times, &[&session.started, &session.last_seen])}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                    <ActionForm action=everywhere>
                        <button type="submit" class="secondary">{t.end_every_session}</button>
                    </ActionForm>
                </section>
                <AppsWithAccess />
            }
        } />
    }
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let t = page_language().text();
    view! {
        <Title text=t.change_password_title />
        <RequireAccount signed_in=move |_| {
            view! {
                <section class="card">
                    <h1>{t.change_password_title}</h1>
                    <ChangePasswordForm />
                    <p class="aside"><a href="/account">{t.back_to_account}</a></p>
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
    let t = page_language().text();
    let words = page_language().island_text();
    view! {
        {form.alert()}
        <form method="post" action={ChangePasswordFn::PATH} on:submit=check>
            <PasswordInput name="old_password" label=t.current_password
                kind=PasswordKind::Current form />
            <NewPasswordInputs form />
            <button type="submit" disabled=move || sending.get()>
                {move || if sending.get() { words.changing } else { words.change_password }}
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
    let t = page_language().text();
    view! {
        <Title text=t.upgrade_title />
        <RequireAccount signed_in=move |account| {
            let body = if account.paid {
                view! { <p>{t.already_paid}</p> }.into_any()
            } else if !account.email_verified {
                let (before, after) = t.verify_before_upgrade.split_once("{}").unwrap_or((t.verify_before_upgrade, ""));
                view! {
                    <p class="form-alert">{before}<a href="/account">{t.your_account_page}</a>{after}</p>
                }.into_any()
            } else {
                view! {
                    <p>{t.paid_plan_intro}" "<strong>{t.upgrade_cannot_be_undone}</strong></p>
                    <FormAlert error=server_error />
                    <ActionForm action=action>
                        <label class="check">
                            <input type="checkbox" name="confirm" value="yes" required />
                            " " {t.upgrade_confirm}
                        </label>
                        <FieldError field="confirm" server=server_error client=no_client_error />
                        <button type="submit" disabled=move || pending.get()>
                            {move || if pending.get() { t.upgrading } else { t.upgrade_to_paid }}
                        </button>
                    </ActionForm>
                }.into_any()
            };
            view! {
                <section class="card">
                    <h1>{t.upgrade_heading}</h1>
                    {body}
                    <p class="aside"><a href="/account">{t.back_to_account}</a></p>
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
    let t = page_language().text();
    let (before, after) = t
        .verify_confirm
        .split_once("{}")
        .unwrap_or((t.verify_confirm, ""));
    view! {
        <Title text=t.verify_title />
        <section class="card">
            <h1>{t.verify_title}</h1>
            <p>{before}<strong>{username}</strong>{after}</p>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <PageField />
                <input type="hidden" name="username" value=username />
                <input type="hidden" name="token" value=token />
                <button type="submit" disabled=move || pending.get()>{t.verify_button}</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn EmailVerified() -> impl IntoView {
    let t = page_language().text();
    view! {
        <Title text=t.verified_title />
        <section class="card">
            <h1>{t.verified_title}</h1>
            <p>{t.verified_text}</p>
            <p class="actions"><a class="button" href="/account">{t.go_to_account}</a></p>
        </section>
    }
}

/// The apps that sign the person in with this account, each with a button that ends its
/// access (a plain form: it works without JavaScript).
#[component]
fn AppsWithAccess() -> impl IntoView {
    let t = page_language().text();
    let apps = Resource::new(|| (), |_| crate::api::apps_with_access());
    view! {
        <section class="card">
            <h2>{t.apps_heading}</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(apps) if apps.is_empty() => view! {
                            <p class="hint" data-testid="apps-none">{t.apps_none}</p>
                        }.into_any(),
                        Ok(apps) => view! {
                            <ul class="apps" data-testid="apps">
                                {apps.into_iter().map(|app| view! {
                                    <li data-client=app.client_id.clone()>
                                        <strong>{app.name.clone()}</strong>
                                        <br />
                                        <span class="hint">
                                            {app.scopes.iter()
                                                .map(|s| super::apps::scope_words(t, s))
                                                .filter(|words| !words.is_empty())
                                                .collect::<Vec<_>>()
                                                .join(" · ")}
                                        </span>
                                        <br />
                                        <span class="hint">{fill(t.apps_allowed_on, &[&app.allowed])}</span>
                                        <form method="post" action={RevokeApp::PATH}>
                                            <input type="hidden" name="client_id" value=app.client_id.clone() />
                                            <button type="submit" class="secondary">{t.revoke_app}</button>
                                        </form>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! {
                            <p class="form-alert">{error.message}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
