//! Second factors: the security page (adding and removing an authenticator app, recovery
//! codes) and the sign-in's second step. Plain server-rendered forms: everything here works
//! without JavaScript, and the pages ship none.

use crate::api::{
    page_language, BeginTotp, ConfirmTotp, DisableTotp, FormError, LoginSecondFactor, PasskeyView,
    RemovePasskey, RenewRecoveryCodes, SecurityView,
};
use crate::app::components::{
    form_error, FieldError, FormAlert, PasskeyButton, PasskeyScript, RequireAccount,
};
use crate::i18n::fill;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The second step of a sign-in whose account has an authenticator: a code from the app, or a
/// recovery code. The sign-in it continues is in an HttpOnly cookie.
#[component]
pub fn SecondFactor() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<LoginSecondFactor>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let step = Resource::new(|| (), |_| crate::api::second_step_state());
    let next = move || use_query_map().with_untracked(|q| q.get("next"));
    view! {
        <Title text=t.second_step_title />
        <section class="card">
            <h1>{t.second_step_title}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let step = step.await.ok().filter(|step| step.pending);
                    if let Some(step) = step {
                        view! {
                            <p>{t.second_step_intro}</p>
                            <FormAlert error=server_error />
                            <ActionForm action=action>
                                <label for="code">{t.second_factor_code}</label>
                                <input id="code" name="code" autocomplete="one-time-code"
                                    autocapitalize="off" spellcheck="false" required autofocus
                                    maxlength="32" aria-describedby="code-error" />
                                <FieldError field="code" server=server_error client=no_client_error />
                                <input type="hidden" name="next" value=next() />
                                <button type="submit">{t.continue_button}</button>
                            </ActionForm>
                            {step.passkeys.then(|| view! {
                                <PasskeyButton kind="second-factor" label=t.use_passkey />
                                <PasskeyScript />
                            })}
                        }
                        .into_any()
                    } else {
                        view! {
                            <FormAlert error=server_error />
                            <p data-testid="no-second-step">{t.no_pending_sign_in}</p>
                        }
                        .into_any()
                    }
                })}
            </Suspense>
            <p class="aside"><a href="/login">{t.back_to_sign_in}</a></p>
        </section>
    }
}

/// What a `?notice=` on the security page means.
fn notice_text(notice: &str) -> Option<&'static str> {
    let t = page_language().text();
    match notice {
        "two-step-on" => Some(t.notice_totp_on),
        "two-step-off" => Some(t.notice_totp_off),
        "codes-renewed" => Some(t.notice_codes_renewed),
        "passkey-added" => Some(t.notice_passkey_added),
        "passkey-removed" => Some(t.notice_passkey_removed),
        _ => None,
    }
}

#[component]
pub fn Security() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let notice = move || {
        query
            .with(|q| q.get("notice"))
            .and_then(|n| notice_text(&n))
    };
    let details = Resource::new(move || query.get(), |_| crate::api::security_overview());
    view! {
        <Title text=t.second_step_title />
        <RequireAccount signed_in=move |account| {
            let on = account.two_step();
            let (app_on, left) = (account.authenticator_app, account.recovery_codes_left);
            view! {
                <section class="card">
                    <h1>
                        {t.second_step_title}" "
                        {if on {
                            view! { <span class="badge ok" data-testid="two-step-status">{t.two_step_on}</span> }
                        } else {
                            view! { <span class="badge" data-testid="two-step-status">{t.two_step_off}</span> }
                        }}
                    </h1>
                    <Show when=move || notice().is_some()>
                        <p class="notice" role="status">{notice}</p>
                    </Show>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match details.await {
                                Ok(view) => factor_forms(app_on, left, view).into_any(),
                                Err(error) => view! {
                                    <p class="form-alert">{error.message}</p>
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                    <p class="aside"><a href="/account">{t.back_to_account}</a></p>
                </section>
            }
        } />
    }
}

/// The forms for where the account stands: the authenticator app off (begin), begun (confirm)
/// or on (turn off); the recovery codes while any second factor is on (renew), and those made
/// just now, shown this once; the passkeys.
fn factor_forms(app_on: bool, left: i64, view: SecurityView) -> impl IntoView {
    let t = page_language().text();
    let shown = (!view.new_recovery_codes.is_empty()).then(|| {
        view! {
            <div class="recovery-codes" role="status">
                <h2>{t.recovery_codes_heading}</h2>
                <p>{t.recovery_codes_intro}</p>
                <ol data-testid="recovery-codes">
                    {view.new_recovery_codes.iter().map(|code| view! {
                        <li><code>{code.clone()}</code></li>
                    }).collect_view()}
                </ol>
            </div>
        }
    });
    let any_factor = app_on || !view.passkeys.is_empty();
    let app = if app_on {
        view! { <TurnOffForm /> }.into_any()
    } else if let Some(pending) = view.pending {
        view! { <ConfirmForm secret=pending.secret qr_svg=pending.qr_svg /> }.into_any()
    } else {
        view! { <BeginForm /> }.into_any()
    };
    let recovery = any_factor.then(|| {
        view! {
            <h2>{t.recovery_heading}</h2>
            <p class="hint" data-testid="recovery-codes-left">
                {fill(t.recovery_codes_left, &[&left.to_string()])}
            </p>
            <RenewCodesForm />
        }
    });
    let passkeys = passkeys_section(view.passkeys, view.passkeys_offered);
    view! {
        {shown}
        <h2>{t.authenticator_heading}</h2>
        {app}
        {recovery}
        {passkeys}
    }
}

/// The account's passkeys, each removable after the password, and the form that adds one
/// (shown by the page's passkey script where the browser can run it).
fn passkeys_section(passkeys: Vec<PasskeyView>, offered: bool) -> impl IntoView {
    let t = page_language().text();
    let listed = if passkeys.is_empty() {
        view! { <p class="hint" data-testid="no-passkeys">{t.no_passkeys}</p> }.into_any()
    } else {
        view! {
            <ul class="passkeys" data-testid="passkeys">
                {passkeys.into_iter().map(|passkey| view! { <PasskeyItem passkey /> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <h2>{t.passkeys_heading}</h2>
        <p>{t.passkeys_intro}</p>
        {listed}
        {offered.then(|| view! {
            <form class="add-passkey" data-passkey="add" data-failed=t.passkey_browser_failed hidden>
                <label for="passkey-name">{t.passkey_name}</label>
                <input id="passkey-name" name="name" required maxlength="64" autocomplete="off" />
                <label for="passkey-password">{t.current_password}</label>
                <input id="passkey-password" name="password" type="password"
                    autocomplete="current-password" required />
                <button type="submit">{t.add_passkey}</button>
                <p class="passkey-alert" role="alert" hidden></p>
            </form>
            <noscript><p class="hint">{t.passkeys_need_javascript}</p></noscript>
            <PasskeyScript />
        })}
    }
}

#[component]
fn PasskeyItem(passkey: PasskeyView) -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<RemovePasskey>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let field = format!("remove-{}", passkey.id);
    let code_field = format!("remove-code-{}", passkey.id);
    view! {
        <li>
            <strong class="passkey-name">{passkey.name.clone()}</strong>
            " "
            <span class="hint">{fill(t.passkey_added_on, &[&passkey.added])}</span>
            <details>
                <summary>{t.remove_passkey}</summary>
                <p class="hint">{t.remove_passkey_hint}</p>
                <FormAlert error=server_error />
                <ActionForm action=action>
                    <input type="hidden" name="id" value=passkey.id.clone() />
                    <label for=field.clone()>{t.current_password}</label>
                    <input id=field name="password" type="password" autocomplete="current-password" required />
                    <FieldError field="password" server=server_error client=no_client_error />
                    <label for=code_field.clone()>{t.second_factor_code}</label>
                    <input id=code_field name="code" autocomplete="one-time-code" required
                        maxlength="32" />
                    <FieldError field="code" server=server_error client=no_client_error />
                    <button type="submit" class="secondary">{t.remove_passkey}</button>
                </ActionForm>
            </details>
        </li>
    }
}

#[component]
fn BeginForm() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<BeginTotp>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    view! {
        <p>{t.two_step_intro}</p>
        <FormAlert error=server_error />
        <ActionForm action=action>
            <label for="password">{t.current_password}</label>
            <input id="password" name="password" type="password" autocomplete="current-password"
                required aria-describedby="password-error" />
            <p class="hint">{t.set_up_totp_hint}</p>
            <FieldError field="password" server=server_error client=no_client_error />
            <button type="submit">{t.set_up_totp}</button>
        </ActionForm>
    }
}

#[component]
fn ConfirmForm(secret: String, qr_svg: String) -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<ConfirmTotp>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    view! {
        <h2>{t.scan_heading}</h2>
        <div class="qr" data-testid="totp-qr" inner_html=qr_svg></div>
        <p>{t.or_type_key}</p>
        <p><code class="secret" data-testid="totp-secret">{secret}</code></p>
        <FormAlert error=server_error />
        <ActionForm action=action>
            <label for="totp-code">{t.enter_code_to_finish}</label>
            <input id="totp-code" name="code" inputmode="numeric" autocomplete="one-time-code"
                required maxlength="16" aria-describedby="code-error" />
            <FieldError field="code" server=server_error client=no_client_error />
            <button type="submit">{t.turn_on}</button>
        </ActionForm>
    }
}

#[component]
fn RenewCodesForm() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<RenewRecoveryCodes>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    view! {
        <details class="renew-codes">
            <summary>{t.renew_codes_heading}</summary>
            <p class="hint">{t.renew_codes_hint}</p>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <label for="renew-code">{t.second_factor_code}</label>
                <input id="renew-code" name="code" autocomplete="one-time-code" required
                    maxlength="32" aria-describedby="code-error" />
                <FieldError field="code" server=server_error client=no_client_error />
                <button type="submit" class="secondary">{t.renew_codes_button}</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn TurnOffForm() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<DisableTotp>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    view! {
        <details class="turn-off">
            <summary>{t.turn_off_heading}</summary>
            <p class="hint">{t.turn_off_hint}</p>
            <FormAlert error=server_error />
            <ActionForm action=action>
                <label for="off-password">{t.current_password}</label>
                <input id="off-password" name="password" type="password"
                    autocomplete="current-password" required aria-describedby="password-error" />
                <FieldError field="password" server=server_error client=no_client_error />
                <label for="off-code">{t.second_factor_code}</label>
                <input id="off-code" name="code" autocomplete="one-time-code" required
                    maxlength="32" aria-describedby="code-error" />
                <FieldError field="code" server=server_error client=no_client_error />
                <button type="submit" class="secondary">{t.turn_off_button}</button>
            </ActionForm>
        </details>
    }
}
