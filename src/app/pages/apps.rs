//! Signing in to other apps with Latchkey: the consent page, the page for an authorization
//! that cannot be answered, and the signed-out page of RP-initiated logout.

use crate::api::{consent_request, page_language, AnswerConsent, ConsentView, Logout as LogoutFn};
use crate::app::components::RequireAccount;
use crate::i18n::{fill, Text};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A scope in the words a person understands.
pub fn scope_words(t: &'static Text, scope: &str) -> &'static str {
    match scope {
        "openid" => t.scope_openid,
        "profile" => t.scope_profile,
        "email" => t.scope_email,
        "phone" => t.scope_phone,
        "offline_access" => t.scope_offline_access,
        _ => "",
    }
}

/// "Allow <app> to …?": what the app would receive, and two buttons. Works without JavaScript
/// (one plain form, the button pressed is the answer).
#[component]
pub fn Consent() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let request = move || query.with(|q| q.get("request")).unwrap_or_default();
    let asked = Resource::new(request, consent_request);
    view! {
        <Title text=t.consent_title />
        <RequireAccount signed_in=move |_| view! {
            <section class="card">
                <h1>{t.consent_title}</h1>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match asked.await {
                            Ok(Some(view)) => consent_form(request(), view).into_any(),
                            Ok(None) => view! {
                                <p class="form-alert" role="alert">{t.oauth_problem_expired}</p>
                            }.into_any(),
                            Err(error) => view! {
                                <p class="form-alert" role="alert">{error.message}</p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        } />
    }
}

fn consent_form(request: String, asked: ConsentView) -> impl IntoView {
    let t = page_language().text();
    let intro = fill(t.consent_intro, &[&asked.app, &asked.username]);
    view! {
        <p data-testid="consent-intro">{intro}</p>
        <ul class="scopes" data-testid="consent-scopes">
            {asked.scopes.iter().map(|scope| view! {
                <li data-scope=scope.clone()>{scope_words(t, scope)}</li>
            }).collect_view()}
        </ul>
        <form method="post" action={AnswerConsent::PATH}>
            <input type="hidden" name="request" value=request />
            <p class="actions">
                <button type="submit" name="allow" value="yes">{t.consent_allow}</button>
                <button type="submit" name="allow" value="no" class="secondary">{t.consent_deny}</button>
            </p>
        </form>
        <p class="hint">{t.consent_where}</p>
    }
}

/// An authorization Latchkey will not answer at the app (an unknown app, an unregistered
/// address to send the person back to), or one that ran out.
#[component]
pub fn OAuthProblem() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let reason = move || match query.with(|q| q.get("reason")).as_deref() {
        Some("unknown-client") => t.oauth_problem_unknown_client,
        Some("redirect-uri") => t.oauth_problem_redirect_uri,
        Some("expired") => t.oauth_problem_expired,
        Some("unavailable") => t.oauth_problem_unavailable,
        _ => t.oauth_problem_malformed,
    };
    // Not the link's fault: a moment later the same link works, and the status says so.
    #[cfg(feature = "ssr")]
    if query.with_untracked(|q| q.get("reason")).as_deref() == Some("unavailable") {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            response.insert_header(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
    }
    view! {
        <Title text=t.oauth_problem_title />
        <section class="card">
            <h1>{t.oauth_problem_title}</h1>
            <p class="form-alert" role="alert" data-testid="oauth-problem">{reason}</p>
        </section>
    }
}

/// After an app signed the person out: "you are signed out", or, when the app could not prove
/// it may end this browser's session, a button to do it.
#[component]
pub fn SignedOut() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let confirm = move || query.with(|q| q.get("confirm")).is_some();
    let signed_in = crate::app::components::signed_in_name().is_some();
    view! {
        {move || if confirm() && signed_in {
            view! {
                <Title text=t.sign_out_confirm_title />
                <section class="card">
                    <h1>{t.sign_out_confirm_title}</h1>
                    <p>{t.sign_out_confirm_body}</p>
                    <form method="post" action={LogoutFn::PATH}>
                        <input type="hidden" name="next" value="/signed-out" />
                        <button type="submit">{t.nav_sign_out}</button>
                    </form>
                </section>
            }.into_any()
        } else {
            view! {
                <Title text=t.signed_out_title />
                <section class="card">
                    <h1>{t.signed_out_title}</h1>
                    <p data-testid="signed-out">{t.signed_out_body}</p>
                </section>
            }.into_any()
        }}
    }
}
