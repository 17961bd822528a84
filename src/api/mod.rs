//! The contract between the pages and the server, compiled for both: what a form gets back
//! (`forms`), and the server functions behind each form, in one module per flow as the pages
//! are (`sign_in`, `account`, `security`, `recovery`). Each server function is an adapter of a
//! few lines: parse the form, call the service, map the answer. The pages reach the server
//! only through here (`ssr`, server-side helpers, is private to this module).

pub mod account;
pub mod admin;
pub mod apps;
pub mod forms;
pub mod language;
pub mod life;
pub mod recovery;
pub mod seal;
pub mod security;
pub mod sign_in;
#[cfg(feature = "ssr")]
mod ssr;

#[cfg(feature = "ssr")]
pub use crate::server::http::query_value;
pub use account::*;
pub use admin::*;
pub use apps::*;
pub use forms::*;
pub use language::page_language;
#[cfg(feature = "ssr")]
pub use language::request_language;
pub use life::*;
pub use recovery::*;
pub use security::*;
pub use sign_in::*;
#[cfg(feature = "ssr")]
pub use ssr::{
    passkey_origin, passkeys_offered, password_key, pending_reset, prepare_page,
    session_just_ended, signed_in_username,
};
