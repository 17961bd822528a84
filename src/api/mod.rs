//! The contract between the pages and the server, compiled for both: what a form gets back
//! (`forms`), and the server functions behind each form, in one module per flow as the pages
//! are (`sign_in`, `account`, `security`, `recovery`). Each server function is an adapter of a
//! few lines: parse the form, call the service, map the answer. The pages reach the server
//! only through here (`ssr`, server-side helpers, is private to this module).

use crate::i18n::Language;
#[cfg(not(feature = "ssr"))]
use leptos::prelude::document;

pub mod account;
pub mod forms;
pub mod recovery;
pub mod seal;
pub mod security;
pub mod sign_in;
#[cfg(feature = "ssr")]
mod ssr;

#[cfg(feature = "ssr")]
pub use crate::server::http::query_value;
pub use account::*;
pub use forms::*;
pub use recovery::*;
pub use security::*;
pub use sign_in::*;
#[cfg(feature = "ssr")]
pub use ssr::{
    passkeys_offered, password_key, pending_reset, prepare_page, request_language,
    session_just_ended, signed_in_username,
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
