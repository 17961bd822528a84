//! The language of the page or form at hand, and (on the server) the status a refused form
//! answers with: what every other module of `api` needs of the request, in a module that needs
//! nothing of theirs.

use crate::i18n::Language;
#[cfg(not(feature = "ssr"))]
use leptos::prelude::document;
#[cfg(feature = "ssr")]
use {
    axum::http::header::ACCEPT, axum::http::request::Parts, axum::http::StatusCode,
    leptos::prelude::*, leptos_axum::ResponseOptions,
};

/// The language of the page or form at hand: on the server, the request's (its language
/// cookie, else `Accept-Language`); in the browser, the one the server rendered the page in
/// (`<html lang>`).
pub fn page_language() -> Language {
    #[cfg(feature = "ssr")]
    {
        request_language()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .map(|tag| Language::from_tag(&tag))
            .unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
/// The language of the request being answered (`request_id::language_of`). Worked out once
/// per request: the page asks for it with every string.
pub fn request_language() -> Language {
    if let Some(language) = use_context::<Language>() {
        return language;
    }
    let language = use_context::<Parts>()
        .map(|parts| crate::server::http::request_id::language_of(&parts.headers))
        .unwrap_or_default();
    provide_context(language);
    language
}

#[cfg(feature = "ssr")]
/// The HTTP status a refused form gets when the page's script sent it. (A form sent without
/// script gets the redirect back to the page instead, and must keep it.)
pub fn answer_status(status: StatusCode) {
    let from_script = use_context::<Parts>().is_some_and(|parts| {
        !parts
            .headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if let (true, Some(response)) = (from_script, use_context::<ResponseOptions>()) {
        response.set_status(status);
    }
}
