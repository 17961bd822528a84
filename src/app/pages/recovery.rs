//! Getting back in: the forgotten username, and the password reset by passcode or link.

use crate::api::seal::seal_password;
use crate::api::{
    check_new_password, page_language, reset_link_is_live, FinishReset,
    ForgotUsername as ForgotUsernameFn, FormError, RequestReset, UseResetLink, VerifyResetCode,
};
use crate::app::components::{
    form_error, returned_form, submitted_fields, suggested_country_code, typed, FieldError,
    FormAlert, IslandForm, NewPasswordInputs, PageField,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ForgotUsername() -> impl IntoView {
    let action = ServerAction::<ForgotUsernameFn>::new();
    let server_error = form_error(action);
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("sent")).is_some();
    let t = page_language().text();
    view! {
        <Title text=t.forgot_username_title />
        <section class="card">
            <h1>{t.forgot_username_heading}</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>{t.forgot_username_intro}</p>
                    <FormAlert error=server_error />
                    <ActionForm action=action>
                        <label for="email">{t.email}</label>
                        <input id="email" name="email" type="email" autocomplete="email" required
                            value={typed::<ForgotUsernameFn>(&returned_form(), "email")} />
                        <FieldError field="email" server=server_error client=Signal::derive(|| None::<FormError>) />
                        <button type="submit">{t.mail_my_username}</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">{t.username_on_its_way}</p>
            </Show>
            <p class="aside"><a href="/login">{t.back_to_sign_in}</a></p>
        </section>
    }
}

/// The password reset as three steps. Which step is showing lives in the URL, so a reload (or
/// a form sent without JavaScript) lands on the same step: no query → choose e-mail or phone;
/// `?step=code` → enter the passcode (where it went is kept in a cookie, not in the address);
/// `?token=…` → new password.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.is_empty());
    let step = move || {
        if param("token").is_some() {
            3
        } else if param("step").as_deref() == Some("code") {
            2
        } else {
            1
        }
    };
    let t = page_language().text();
    view! {
        <Title text=t.reset_title />
        <section class="card">
            <h1>{t.reset_title}</h1>
            <ol class="steps">
                <li class:current=move || step() == 1>{t.step_where}</li>
                <li class:current=move || step() == 2>{t.step_passcode}</li>
                <li class:current=move || step() == 3>{t.step_new_password}</li>
            </ol>
            {move || match step() {
                1 => view! { <ResetRequestStep /> }.into_any(),
                2 => view! { <ResetCodeStep /> }.into_any(),
                _ => view! {
                    <ResetPasswordStep />
                }.into_any(),
            }}
            <p class="aside"><a href="/login">{t.back_to_sign_in}</a></p>
        </section>
    }
}

/// Two forms, one per way of receiving the passcode, each whole on its own (without
/// JavaScript, and without style, both show); the radio buttons above them only choose which
/// one shows, in CSS, so the page needs no script.
#[component]
fn ResetRequestStep() -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let returned = returned_form();
    let by_phone = typed::<RequestReset>(&returned, "via").as_deref() == Some("phone");
    let typed_destination = typed::<RequestReset>(&returned, "destination");
    let (typed_email, typed_number) = if by_phone {
        (None, typed_destination)
    } else {
        (typed_destination, None)
    };
    let country_code =
        typed::<RequestReset>(&returned, "country_code").or_else(suggested_country_code);
    let t = page_language().text();
    view! {
        <div class="reset-request">
            <p>{t.reset_intro}</p>
            <FormAlert error=server_error />
            <fieldset class="choice">
                <legend>{t.send_passcode_by}</legend>
                <label class="check">
                    <input type="radio" name="send-by" id="send-by-email" checked=!by_phone />
                    " " {t.by_email}
                </label>
                <label class="check">
                    <input type="radio" name="send-by" id="send-by-phone" checked=by_phone />
                    " " {t.by_text}
                </label>
            </fieldset>
            <div class="by-email">
                <ActionForm action=action>
                    <input type="hidden" name="via" value="email" />
                    <label for="reset-email">{t.email}</label>
                    <input id="reset-email" name="destination" type="email" autocomplete="email"
                        required value=typed_email aria-describedby="email-error" />
                    <FieldError field="email" server=server_error client=no_client_error />
                    <button type="submit">{t.mail_me_passcode}</button>
                </ActionForm>
            </div>
            <div class="by-phone">
                <ActionForm action=action>
                    <input type="hidden" name="via" value="phone" />
                    <label for="reset-country-code">{t.country_code}</label>
                    <input id="reset-country-code" name="country_code" inputmode="tel"
                        autocomplete="tel-country-code" placeholder="+1" required value=country_code />
                    <label for="reset-phone">{t.phone_number}</label>
                    <input id="reset-phone" name="destination" type="tel" autocomplete="tel-national"
                        required value=typed_number aria-describedby="phone-error" />
                    <FieldError field="phone" server=server_error client=no_client_error />
                    <button type="submit">{t.text_me_passcode}</button>
                </ActionForm>
            </div>
        </div>
    }
}

/// Where the passcode went is read from this browser's reset cookie (set by the first step);
/// without it (it ran out, or the reset began in another browser) the step says to start again.
#[component]
fn ResetCodeStep() -> impl IntoView {
    let action = ServerAction::<VerifyResetCode>::new();
    let server_error = form_error(action);
    let no_client_error = Signal::derive(|| None::<FormError>);
    let t = page_language().text();
    let Some(shown) = pending_reset_destination() else {
        return view! {
            <p class="form-alert" role="alert" data-testid="reset-expired">{t.reset_ran_out}</p>
            <p class="actions"><a class="button" href="/forgot/password">{t.start_again}</a></p>
        }
        .into_any();
    };
    let (before, after) = t
        .passcode_on_its_way
        .split_once("{}")
        .unwrap_or((t.passcode_on_its_way, ""));
    view! {
        <p>{before}<strong>{shown}</strong>{after}</p>
        <FormAlert error=server_error />
        <ActionForm action=action>
            <label for="code">{t.passcode}</label>
            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6" />
            <FieldError field="code" server=server_error client=no_client_error />
            <button type="submit">{t.continue_button}</button>
        </ActionForm>
        <p class="aside"><a href="/forgot/password">{t.send_new_passcode}</a></p>
    }
    .into_any()
}

/// The address or number this browser's reset sent a passcode to, as the page shows it.
fn pending_reset_destination() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        crate::api::pending_reset().map(|reset| reset.shown())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The reset's last step: the browser checks the two fields, seals the new password with the
/// server's RSA key (which the form carries) and sends it sealed; without JavaScript the form
/// posts it as typed.
#[island]
fn ResetPasswordStep() -> impl IntoView {
    let (form, _) = IslandForm::start::<FinishReset>();
    // Fetch the sealing code as soon as the page is interactive, so sending waits for nothing.
    let _ = lazy_preload!(seal_new_passwords);
    let (client_error, sending) = (form.client_error, form.sending);
    let seal_and_send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = submitted_fields(
            &ev,
            &["new_password", "new_password_again", "token", "__page"],
        );
        let problems = check_new_password(&typed[0], &typed[1]);
        if !problems.is_empty() {
            client_error.set(Some(FormError::from_invalid(
                problems,
                crate::api::page_language(),
            )));
            return;
        }
        let key = form_attribute(&ev, "data-password-key").unwrap_or_default();
        client_error.set(None);
        sending.set(true);
        let [new_password, new_password_again, token, page]: [String; 4] =
            typed.try_into().unwrap_or_default();
        leptos::task::spawn_local(async move {
            let sealed = seal_new_passwords(key, new_password, new_password_again).await;
            let Some((new_password, new_password_again)) = sealed else {
                sending.set(false);
                client_error.set(Some(FormError::general(
                    page_language().island_text().sealing_failed,
                )));
                return;
            };
            send_form(
                FinishReset::PATH,
                &[
                    ("token", &token),
                    ("__page", &page),
                    ("new_password", &new_password),
                    ("new_password_again", &new_password_again),
                    ("encryption", "rsa"),
                ],
            );
        });
    };
    view! {
        {form.alert()}
        <form method="post" action={FinishReset::PATH} data-password-key=password_key()
            on:submit=seal_and_send>
            <PageField />
            <input type="hidden" name="token" value=reset_token() />
            <NewPasswordInputs form />
            <button type="submit" disabled=move || sending.get()>{page_language().text().set_new_password}</button>
        </form>
    }
}

/// Seals both new passwords with the server's RSA key. Lazy: with the `rsa` crate it is a
/// module of its own (≈ 29 KiB gzipped) that only this page fetches.
#[lazy]
fn seal_new_passwords(
    key: String,
    new_password: String,
    new_password_again: String,
) -> Option<(String, String)> {
    seal_password(&key, &new_password).zip(seal_password(&key, &new_password_again))
}

/// The reset grant in the page's address (`?token=`), read while the server renders.
fn reset_token() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_query_map().with_untracked(|q| q.get("token"))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The RSA public key new passwords are sealed with in the browser (`/api/v3/system`
/// publishes the same one): every node holds it, so any node opens what the page sealed.
/// Read while the server renders; in the browser the form carries it.
fn password_key() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        Some(crate::api::password_key())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// An attribute of the form a submit event came from.
fn form_attribute(ev: &leptos::ev::SubmitEvent, name: &str) -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    ev.target()?
        .dyn_into::<leptos::web_sys::Element>()
        .ok()?
        .get_attribute(name)
}

/// Posts `fields` to `action` as a plain form would, from a form of its own: the page's form
/// keeps what was typed and sends nothing, so a page the browser brings back from its history
/// seals the typed passwords afresh, and never sends a sealed one twice.
fn send_form(action: &str, fields: &[(&str, &str)]) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let send = || -> Result<(), leptos::wasm_bindgen::JsValue> {
            let document = document();
            let form: leptos::web_sys::HtmlFormElement =
                document.create_element("form")?.unchecked_into();
            form.set_method("post");
            form.set_action(action);
            form.set_hidden(true);
            for (name, value) in fields {
                let field = document.create_element("input")?;
                field.set_attribute("type", "hidden")?;
                field.set_attribute("name", name)?;
                field.set_attribute("value", value)?;
                form.append_child(&field)?;
            }
            document.body().ok_or("no body")?.append_child(&form)?;
            form.submit()
        };
        if let Err(error) = send() {
            leptos::logging::error!("could not send the form: {error:?}");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (action, fields);
}

/// Where the reset mail's link leads: one click exchanges it for the last step.
#[component]
pub fn ResetPasswordLink() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    // Checked as the page renders: a used, expired or mistyped link says so at once, instead of
    // after a click.
    let live = Resource::new(token, reset_link_is_live);
    let action = ServerAction::<UseResetLink>::new();
    let server_error = form_error(action);
    let t = page_language().text();
    view! {
        <Title text=t.reset_title />
        <section class="card">
            <h1>{t.reset_title}</h1>
            <Suspense fallback=move || view! { <p>{t.checking_link}</p> }>
                {move || Suspend::new(async move {
                    if live.await.unwrap_or(false) {
                        view! {
                            <p>{t.link_continue}</p>
                            <FormAlert error=server_error />
                            <ActionForm action=action>
                                <PageField />
                                <input type="hidden" name="token" value=token />
                                <button type="submit" disabled=move || action.pending().get()>{t.continue_button}</button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! {
                            <p class="form-alert" role="alert" data-testid="dead-link">{t.dead_link}</p>
                            <p class="actions"><a class="button" href="/forgot/password">{t.request_new_passcode}</a></p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
