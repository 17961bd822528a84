//! Pieces shared by several pages.

use crate::api::{
    current_account, page_language, AccountView, ChooseLanguage, FormError, Refused, ReturnedForm,
};
use crate::i18n::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;
use std::sync::Arc;

/// The site's header: signed out, the ways in; signed in, who, their account, and signing out
/// (a plain form, so it works without JavaScript and on pages that ship none).
#[component]
pub fn Header() -> impl IntoView {
    let language = page_language();
    let t = language.text();
    let nav = match signed_in_name() {
        Some(name) => view! {
            <span class="who" data-testid="signed-in-as">{name}</span>
            <a href="/account">{t.nav_account}</a>
            <form method="post" action="/rpc/logout" class="inline">
                <button type="submit" class="link">{t.nav_sign_out}</button>
            </form>
        }
        .into_any(),
        None => view! {
            <a href="/login">{t.nav_sign_in}</a>
            <a href="/register">{t.nav_register}</a>
        }
        .into_any(),
    };
    // The switch offers every other language, each named in itself; a plain form, so it works
    // without JavaScript, and comes back to this page.
    let others = Language::ALL
        .into_iter()
        .filter(move |other| *other != language);
    view! {
        <header class="site">
            <a class="brand" href="/">{t.site_title}</a>
            <nav>
                {nav}
                <form method="post" action={ChooseLanguage::PATH} class="inline language"
                    aria-label=t.switch_language>
                    <input type="hidden" name="next" value=back_after_switch() />
                    {others.map(|other| view! {
                        <button type="submit" class="link" name="language" value=other.tag()
                            lang=other.html_tag() data-testid="language-switch">
                            {other.own_name()}
                        </button>
                    }).collect_view()}
                </form>
            </nav>
        </header>
    }
}

/// Where the language switch comes back to: this page, with its query, less a `next` the
/// server would not follow (the sign-in page drops it too), so a crafted link cannot have the
/// page carry an off-site address in its markup.
fn back_after_switch() -> String {
    #[cfg(feature = "ssr")]
    {
        let here = this_page();
        let Some((path, query)) = here.split_once('?') else {
            return here;
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| match pair.strip_prefix("next=") {
                Some(next) => percent_encoding::percent_decode_str(next)
                    .decode_utf8()
                    .is_ok_and(|next| crate::domain::is_site_page(&next)),
                None => true,
            })
            .collect();
        if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The username the page request is signed in as (the header renders on the server only).
pub(crate) fn signed_in_name() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        crate::api::signed_in_username()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Where a signed-out visitor of a signed-in page is sent: the sign-in page, saying why when
/// the browser's session has just ended, and coming back here afterwards.
fn sign_in_path() -> String {
    #[cfg(feature = "ssr")]
    {
        // With its query: the consent page's names the request it answers.
        let here = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.uri.path_and_query().map(|pq| pq.as_str().to_owned()))
            .unwrap_or_else(|| "/account".into());
        let ended = crate::api::session_just_ended();
        format!(
            "/login?{}next={}",
            if ended { "notice=session-ended&" } else { "" },
            crate::api::query_value(&here)
        )
    }
    #[cfg(not(feature = "ssr"))]
    {
        "/login".into()
    }
}

/// An e-mail address that may wrap after the `@` and before each dot, never inside a word
/// (unless one part alone is wider than the screen).
pub fn breakable_address(address: &str) -> impl IntoView {
    let mut parts = Vec::new();
    for (i, side) in address.splitn(2, '@').enumerate() {
        if i > 0 {
            parts.push(view! { "@" <wbr /> }.into_any());
        }
        for (j, label) in side.split('.').enumerate() {
            if j > 0 {
                parts.push(view! { <wbr /> "." }.into_any());
            }
            parts.push(view! { {label.to_owned()} }.into_any());
        }
    }
    parts.collect_view()
}

/// The country calling code to offer in a phone form, from the browser's languages (see
/// `domain::phone::calling_code_for_languages`).
pub fn suggested_country_code() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().and_then(|parts| {
            let languages = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE)?;
            crate::domain::phone::calling_code_for_languages(languages.to_str().ok()?)
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The refused form this page view brings back, when one does (see `api::ReturnedForm`):
/// provided while the shell renders on the server.
pub fn returned_form() -> Option<ReturnedForm> {
    use_context::<Option<ReturnedForm>>().flatten()
}

/// What was typed into `field` of the form for server function `S`, when the server refused it
/// and it came back: refused forms keep what the person typed (but never passwords).
pub fn typed<S: ServerFn>(returned: &Option<ReturnedForm>, field: &str) -> Option<String> {
    ReturnedForm::typed(returned, S::PATH, field)
}

/// The message under a field: the server's, else the browser's own check.
#[component]
pub fn FieldError(
    field: &'static str,
    #[prop(into)] server: Signal<Option<FormError>>,
    #[prop(into)] client: Signal<Option<FormError>>,
) -> impl IntoView {
    let message = move || {
        client
            .get()
            .and_then(|e| e.field(field))
            .or_else(|| server.get().and_then(|e| e.field(field)))
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="field-error" id=format!("{field}-error") role="alert">
                {message}
            </p>
        </Show>
    }
}

/// The error the server last answered `action` with, for [`FormAlert`] and [`FieldError`].
pub fn form_error<S>(action: ServerAction<S>) -> Signal<Option<FormError>>
where
    S: ServerFn<Error = FormError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// What a password field asks for, which decides what a password manager offers for it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    /// The password the account has now.
    Current,
    /// A password to set: the policy's length, and a hint.
    New,
    /// The new password once more.
    Repeat,
}

/// A labelled password field of an island form, with its error underneath. No
/// `minlength`/`maxlength`: the browser's own bubble would stand in for Latchkey's rule, in
/// other words, before the form's check (or the server) could say it by the field.
#[component]
pub fn PasswordInput(
    /// The field's name, also its id.
    name: &'static str,
    label: &'static str,
    kind: PasswordKind,
    form: IslandForm,
) -> impl IntoView {
    let autocomplete = if kind == PasswordKind::Current {
        "current-password"
    } else {
        "new-password"
    };
    let new = kind == PasswordKind::New;
    let hint = page_language().text().password_hint;
    view! {
        <label for=name>{label}</label>
        <input
            id=name
            name=name
            type="password"
            autocomplete=autocomplete
            required
            aria-describedby=format!("{name}-error")
        />
        {new.then(|| view! { <p class="hint">{hint}</p> })}
        {form.field_error(name)}
    }
}

/// The new password twice, as the password change and the reset ask for it.
#[component]
pub fn NewPasswordInputs(form: IslandForm) -> impl IntoView {
    let t = page_language().text();
    view! {
        <PasswordInput name="new_password" label=t.new_password kind=PasswordKind::New form />
        <PasswordInput name="new_password_again" label=t.new_password_again
            kind=PasswordKind::Repeat form />
    }
}

/// Names the page a form is on, for forms on pages that send no `Referer` (their address holds
/// a token): without JavaScript, an error then still comes back to this page
/// (`server::http::no_script_forms`). Hydrated forms send it too; server functions ignore it.
#[component]
pub fn PageField() -> impl IntoView {
    view! { <input type="hidden" name="__page" value=this_page() /> }
}

/// The path and query of the page being rendered. In an island the router is not there (it
/// runs on the server only), so the browser's own address answers.
pub(crate) fn this_page() -> String {
    #[cfg(not(feature = "hydrate"))]
    {
        let location = leptos_router::hooks::use_location();
        let (path, search) = (
            location.pathname.get_untracked(),
            location.search.get_untracked(),
        );
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    }
    #[cfg(feature = "hydrate")]
    {
        let location = window().location();
        let path = location.pathname().unwrap_or_default();
        location
            .search()
            .map(|search| path.clone() + &search)
            .unwrap_or(path)
    }
}

/// What an island form keeps: the error of its last sending that came back refused, the
/// browser's own check, and whether it is being sent.
///
/// An island form is a plain form the browser posts, with or without JavaScript. Hydrated, it
/// checks the fields first and says it is working; the server's answer is the next page either
/// way (a refusal comes back as the same page, with the error and what was typed). So the
/// browser needs no client for the server functions, nor their encodings.
///
/// Islands take no props: props travel as JSON, and the JSON decoder alone would weigh more
/// than everything else a form needs (BENCHMARKS.md). What only the server knows (the refusal,
/// a token) an island reads from context while the server renders it, and the browser finds it
/// in the page: hydration keeps the server's text and attributes until they change. So the
/// messages of an island form are always in the markup, hidden when empty, and the server's
/// words stay until the browser's own check has something to say.
#[derive(Clone, Copy)]
pub struct IslandForm {
    /// The refusal the page came back with: known while the server renders, `None` in the
    /// browser.
    server_error: Signal<Option<FormError>>,
    pub client_error: RwSignal<Option<FormError>>,
    pub sending: RwSignal<bool>,
}

impl IslandForm {
    /// What every island does first: takes the refusal of server function `S` this page view
    /// brings back (on the server), and, once the last island on the page has hydrated, marks
    /// the body `data-hydrated` (the browser tests wait for it).
    pub fn start<S: ServerFn>() -> (Self, Option<Refused>) {
        // Only the server knows it (decoding it in the browser would bring the decoder along).
        #[cfg(feature = "ssr")]
        let refused = Refused::of(returned_form(), S::PATH);
        #[cfg(not(feature = "ssr"))]
        let refused: Option<Refused> = {
            let _ = S::PATH;
            None
        };
        let sending = RwSignal::new(false);
        #[cfg(feature = "hydrate")]
        {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static HYDRATED: AtomicUsize = AtomicUsize::new(0);
            Effect::new(|| {
                let hydrated = HYDRATED.fetch_add(1, Ordering::SeqCst) + 1;
                let islands = document()
                    .get_elements_by_tag_name("leptos-island")
                    .length() as usize;
                if hydrated >= islands {
                    if let Some(body) = document().body() {
                        let _ = body.set_attribute("data-hydrated", "true");
                    }
                }
            });
            // Back to a page kept in the browser's back-forward cache: it is not being sent
            // any more, and its button must work again.
            let listener = window_event_listener(leptos::ev::pageshow, move |ev| {
                if ev.persisted() {
                    sending.set(false);
                }
            });
            // An island lives as long as its page.
            std::mem::forget(listener);
        }
        let form = Self {
            server_error: Signal::stored(refused.as_ref().map(|r| r.error.clone())),
            client_error: RwSignal::new(None),
            sending,
        };
        (form, refused)
    }

    /// A submit handler that checks the named fields with `rules` in the browser: if a rule
    /// fails, the form is not sent and the messages show; else the browser sends it.
    pub fn check_before_sending<const N: usize>(
        self,
        names: &'static [&'static str; N],
        rules: fn(&[String]) -> Vec<crate::domain::Invalid>,
    ) -> impl Fn(leptos::ev::SubmitEvent) + Clone + 'static {
        move |ev| {
            let problems = rules(&submitted_fields(&ev, names));
            if problems.is_empty() {
                self.client_error.set(None);
                self.sending.set(true);
            } else {
                ev.prevent_default();
                self.client_error.set(Some(FormError::from_invalid(
                    problems,
                    crate::api::page_language(),
                )));
            }
        }
    }

    /// The message for `field`: the browser's own check, else the server's.
    fn message(self, field: &'static str) -> Option<String> {
        let client = self.client_error.get().and_then(|e| e.field(field));
        client.or_else(|| self.server_error.get().and_then(|e| e.field(field)))
    }

    /// The message under a field (its id is `<field>-error`, for `aria-describedby`).
    pub fn field_error(self, field: &'static str) -> impl IntoView {
        view! {
            <p class="field-error" id=format!("{field}-error") role="alert"
                hidden=move || self.message(field).is_none()>
                {move || self.message(field).unwrap_or_default()}
            </p>
        }
    }

    /// The overall message above the form, when there is no field to attach it to.
    pub fn alert(self) -> impl IntoView {
        let general = move || {
            self.client_error
                .get()
                .or_else(|| self.server_error.get())
                .filter(|e| e.fields.is_empty())
                .map(|e| e.message)
        };
        view! {
            <p class="form-alert" role="alert" hidden=move || general().is_none()>
                {move || general().unwrap_or_default()}
            </p>
        }
    }
}

/// The overall message above a form, when there is no field to attach it to.
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<FormError>>) -> impl IntoView {
    let general = move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| e.message)
    };
    view! {
        <Show when=move || general().is_some()>
            <p class="form-alert" role="alert">{general}</p>
        </Show>
    }
}

/// Reads the submitted form's named fields, for checking before it is sent.
pub fn submitted_fields(ev: &leptos::ev::SubmitEvent, names: &[&str]) -> Vec<String> {
    use leptos::wasm_bindgen::JsCast;
    let form = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
    let data = form.and_then(|f| leptos::web_sys::FormData::new_with_form(&f).ok());
    names
        .iter()
        .map(|name| {
            data.as_ref()
                .and_then(|d| d.get(name).as_string())
                .unwrap_or_default()
        })
        .collect()
}

/// Renders `signed_in` with the current account, or sends a signed-out visitor to `/login`.
/// The account is fetched again whenever the query string changes (pages signal what just
/// happened with `?notice=…`).
#[component]
pub fn RequireAccount<F, V>(signed_in: F) -> impl IntoView
where
    F: Fn(AccountView) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let search = use_location().search;
    let account = Resource::new(move || search.get(), |_| current_account());
    let signed_in = Arc::new(signed_in);
    view! {
        <Suspense fallback=|| view! { <p class="card">{page_language().text().loading_account}</p> }>
            {move || {
                let signed_in = signed_in.clone();
                Suspend::new(async move {
                    match account.await {
                        Ok(Some(account)) => signed_in(account).into_any(),
                        Ok(None) => view! { <Redirect path=sign_in_path() /> }.into_any(),
                        Err(error) => {
                            view! { <p class="card form-alert">{error.message}</p> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// A passkey button (`kind`: `sign-in` or `second-factor`), rendered hidden: the page's passkey
/// script shows it where the browser can use passkeys, and says in its alert what went wrong.
#[component]
pub fn PasskeyButton(kind: &'static str, label: &'static str) -> impl IntoView {
    let failed = page_language().text().passkey_browser_failed;
    view! {
        <div class="passkey" data-passkey=kind data-failed=failed hidden>
            <button type="button" class="secondary">{label}</button>
            <p class="passkey-alert" role="alert" hidden></p>
        </div>
    }
}

/// The passkey script (`public/passkeys.js`), for pages with a passkey button or form. A
/// module from this site: the CSP's `'self'` admits it without a nonce. It carries the origin
/// passkeys are bound to, so that on another address of the same server (the console's own
/// listener) the script keeps the buttons hidden rather than offer what would be refused.
#[component]
pub fn PasskeyScript() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let origin = crate::api::passkey_origin();
    #[cfg(not(feature = "ssr"))]
    let origin: Option<String> = None;
    view! { <script type="module" src="/passkeys.js" data-origin=origin></script> }
}

/// Whether this site can offer passkeys (its public URL is a domain name).
pub fn passkeys_offered() -> bool {
    #[cfg(feature = "ssr")]
    {
        crate::api::passkeys_offered()
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}
