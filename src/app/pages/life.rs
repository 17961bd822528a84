//! The account's life: changing the e-mail address (and the pages its mails' links open),
//! deleting the account, and keeping it during the grace. Plain server-rendered forms: all of
//! it works without JavaScript, and these pages ship none.

use crate::api::{
    email_change_link_state, email_restore_link_state, page_language, pending_email_change,
    ChangeEmail as ChangeEmailFn, ConfirmEmailChange, ConfirmEmailChangeLink,
    DeleteAccount as DeleteAccountFn, FormError, KeepAccount as KeepAccountFn,
    RestoreEmail as RestoreEmailFn,
};
use crate::app::components::{
    breakable_address, form_error, FieldError, FormAlert, RequireAccount,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A sentence with an address in it (`{}`), the address free to wrap between its parts.
fn address_in(sentence: &'static str, address: &str) -> impl IntoView {
    let (before, after) = sentence.split_once("{}").unwrap_or((sentence, ""));
    view! { {before}{breakable_address(address)}{after} }
}

/// The code field of a form that asks for the second factor where one is enrolled.
fn code_field(id: &'static str, server: Signal<Option<FormError>>) -> impl IntoView {
    let t = page_language().text();
    let none = Signal::derive(|| None::<FormError>);
    view! {
        <label for=id>{t.code_if_two_step}</label>
        <input id=id name="code" autocomplete="one-time-code" maxlength="32"
            aria-describedby="code-error" />
        <FieldError field="code" server=server client=none />
    }
}

fn password_field(id: &'static str, server: Signal<Option<FormError>>) -> impl IntoView {
    let t = page_language().text();
    let none = Signal::derive(|| None::<FormError>);
    view! {
        <label for=id>{t.current_password}</label>
        <input id=id name="password" type="password" autocomplete="current-password" required
            aria-describedby="password-error" />
        <FieldError field="password" server=server client=none />
    }
}

/// `/account/email`: the pending change's code, and a new change.
#[component]
pub fn ChangeEmail() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("notice")).as_deref() == Some("code-sent");
    let pending = Resource::new(move || query.get(), |_| pending_email_change());
    let change = ServerAction::<ChangeEmailFn>::new();
    let change_error = form_error(change);
    let confirm = ServerAction::<ConfirmEmailChange>::new();
    let confirm_error = form_error(confirm);
    let none = Signal::derive(|| None::<FormError>);
    view! {
        <Title text=t.email_change_title />
        <RequireAccount signed_in=move |account| view! {
            <section class="card">
                <h1>{t.email_change_title}</h1>
                <Show when=sent>
                    <p class="notice" role="status">{t.notice_code_sent}</p>
                </Show>
                <p data-testid="current-email">{address_in(t.email_change_current, &account.email)}</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        pending.await.ok().flatten().map(|new_email| view! {
                            <div class="verify" data-testid="pending-change">
                                <p>{address_in(t.email_change_pending, &new_email)}</p>
                                <FormAlert error=confirm_error />
                                <ActionForm action=confirm>
                                    <label for="change-code">{t.email_change_code_label}</label>
                                    <input id="change-code" name="code" inputmode="numeric"
                                        autocomplete="one-time-code" required maxlength="16"
                                        aria-describedby="code-error" />
                                    <FieldError field="code" server=confirm_error client=none />
                                    <button type="submit">{t.email_change_confirm_button}</button>
                                </ActionForm>
                            </div>
                        })
                    })}
                </Suspense>
                <p class="hint">{t.email_change_hint}</p>
                <FormAlert error=change_error />
                <ActionForm action=change>
                    <label for="new-email">{t.new_email_label}</label>
                    <input id="new-email" name="new_email" type="email" autocomplete="email" required
                        maxlength="254" aria-describedby="new_email-error" />
                    <FieldError field="new_email" server=change_error client=none />
                    {password_field("change-password", change_error)}
                    {account.two_step().then(|| code_field("change-second-factor", change_error))}
                    <button type="submit">{t.email_change_button}</button>
                </ActionForm>
                <p class="aside"><a href="/account">{t.back_to_account}</a></p>
            </section>
        } />
    }
}

/// What a page a mailed link opens says when the link is dead (used, expired, or never made).
fn dead_link() -> impl IntoView {
    let t = page_language().text();
    view! { <p class="form-alert" role="alert" data-testid="link-dead">{t.link_invalid}</p> }
}

/// A page a mailed link opens: it says what the link does and asks for a click (mail scanners
/// open links too); `form` is the form that posts the token. A dead link says so instead.
fn link_page(
    title: &'static str,
    intro: &'static str,
    live: Resource<Result<bool, FormError>>,
    error: Signal<Option<FormError>>,
    form: impl Fn() -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <Title text=title />
        <section class="card">
            <h1>{title}</h1>
            <Suspense fallback=|| ()>
                {move || {
                    let form = form.clone();
                    Suspend::new(async move {
                        if !live.await.unwrap_or(false) {
                            return dead_link().into_any();
                        }
                        view! {
                            <p>{intro}</p>
                            <FormAlert error=error />
                            {form()}
                        }
                        .into_any()
                    })
                }}
            </Suspense>
        </section>
    }
}

/// `/account/email/confirm?token=…`: the new address's link.
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let t = page_language().text();
    let token = use_query_map()
        .with_untracked(|q| q.get("token"))
        .unwrap_or_default();
    let asked = token.clone();
    let live = Resource::new(move || asked.clone(), email_change_link_state);
    let action = ServerAction::<ConfirmEmailChangeLink>::new();
    let form = move || {
        let token = token.clone();
        view! {
            <ActionForm action=action>
                <input type="hidden" name="token" value=token />
                <button type="submit">{t.confirm_email_change_button}</button>
            </ActionForm>
        }
        .into_any()
    };
    let (title, intro) = (t.confirm_email_change_title, t.confirm_email_change_intro);
    link_page(title, intro, live, form_error(action), form)
}

/// `/account/email/restore?token=…`: the old address's "this wasn't me".
#[component]
pub fn RestoreEmail() -> impl IntoView {
    let t = page_language().text();
    let token = use_query_map()
        .with_untracked(|q| q.get("token"))
        .unwrap_or_default();
    let asked = token.clone();
    let live = Resource::new(move || asked.clone(), email_restore_link_state);
    let action = ServerAction::<RestoreEmailFn>::new();
    let form = move || {
        let token = token.clone();
        view! {
            <ActionForm action=action>
                <input type="hidden" name="token" value=token />
                <button type="submit">{t.restore_email_button}</button>
            </ActionForm>
        }
        .into_any()
    };
    link_page(
        t.restore_email_title,
        t.restore_email_intro,
        live,
        form_error(action),
        form,
    )
}

/// `/account/delete`: the password (and the second factor), and an "I understand".
#[component]
pub fn DeleteAccount() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<DeleteAccountFn>::new();
    let error = form_error(action);
    let none = Signal::derive(|| None::<FormError>);
    view! {
        <Title text=t.delete_title />
        <RequireAccount signed_in=move |account| view! {
            <section class="card">
                <h1>{t.delete_title}</h1>
                <p>{t.delete_hint}</p>
                <FormAlert error=error />
                <ActionForm action=action>
                    {password_field("delete-password", error)}
                    {account.two_step().then(|| code_field("delete-second-factor", error))}
                    <label class="check">
                        <input type="checkbox" name="confirm" value="yes" required />
                        " "{t.delete_confirm_label}
                    </label>
                    <FieldError field="confirm" server=error client=none />
                    <button type="submit" class="danger">{t.delete_button}</button>
                </ActionForm>
                <p class="aside"><a href="/account">{t.back_to_account}</a></p>
            </section>
        } />
    }
}

/// `/account/keep`: signing in during the grace keeps the account.
#[component]
pub fn KeepAccount() -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<KeepAccountFn>::new();
    let error = form_error(action);
    view! {
        <Title text=t.keep_title />
        <section class="card">
            <h1>{t.keep_title}</h1>
            <p>{t.keep_intro}</p>
            <FormAlert error=error />
            <ActionForm action=action>
                <label for="keep-identifier">{t.identifier_label}</label>
                <input id="keep-identifier" name="identifier" autocomplete="username" required
                    maxlength="320" />
                {password_field("keep-password", error)}
                {code_field("keep-second-factor", error)}
                <button type="submit">{t.keep_button}</button>
            </ActionForm>
        </section>
    }
}
