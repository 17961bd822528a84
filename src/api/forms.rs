//! What a form gets back from its server function: the typed error with a message per field
//! ([`FormError`]), and a refused form sent without JavaScript as it comes back to its page
//! ([`ReturnedForm`], [`Refused`]).

use super::language::page_language;
use crate::domain::Invalid;
use crate::i18n::Language;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A message for one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// Why a form was not accepted: an overall message and, where it applies, one per field.
/// This travels to the browser (and, without JavaScript, in the redirect URL), so it only ever
/// holds words meant for the person at the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct FormError {
    pub message: String,
    pub fields: Vec<FieldMessage>,
}

impl FormError {
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The problems of the marked fields, in `language`.
    pub fn from_invalid(problems: Vec<Invalid>, language: Language) -> Self {
        Self {
            message: language.island_text().correct_marked_fields.into(),
            fields: problems
                .into_iter()
                .map(|p| FieldMessage {
                    field: p.field.to_owned(),
                    message: p.message_in(language),
                })
                .collect(),
        }
    }

    /// The message for `field`, if there is one.
    pub fn field(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

impl FromServerFnError for FormError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // A form that cannot be decoded is the client's mistake: 400, not server_fn's 500.
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)
        ) {
            super::language::answer_status(http::StatusCode::BAD_REQUEST);
        }
        let words = page_language().text();
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                FormError::general(words.unreachable)
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                FormError::general(words.form_incomplete)
            }
            _ => FormError::general(words.our_fault),
        }
    }
}

/// A form sent without JavaScript that the server refused, as it comes back to its page: which
/// server function refused it, its error (as server_fn encodes one for an address), and what
/// the person had typed (never passwords or codes). It travels in a short-lived signed cookie
/// (`server::http::no_script_forms`), not in the address, so the address stays clean and nothing typed
/// lands in history or logs; islands get it as a prop, to show the same error once hydrated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedForm {
    /// The page the form was on: path and query.
    pub page: String,
    /// The refusing server function's path (`/rpc/…`).
    pub action: String,
    /// The error, base64 of its JSON.
    pub error: String,
    pub fields: Vec<(String, String)>,
}

impl ReturnedForm {
    /// The fields a refused form gets back: what a person types that is neither a secret nor a
    /// one-time code.
    pub const KEPT_FIELDS: [&'static str; 7] = [
        "username",
        "email",
        "identifier",
        "via",
        "destination",
        "country_code",
        "number",
    ];

    /// What was typed into `field` of the form `action` refused, if that form came back.
    pub fn typed(returned: &Option<Self>, action: &str, field: &str) -> Option<String> {
        returned
            .as_ref()
            .filter(|r| r.action == action)?
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}

/// An island form's last sending, refused and brought back to its page ([`ReturnedForm`] of
/// that form): the error, decoded on the server so that the browser needs no decoder of its
/// own, and what was typed. Islands read it while the server renders them (never a prop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub error: FormError,
    pub fields: Vec<(String, String)>,
}

impl Refused {
    /// The refusal `returned` holds for server function `action`, if it is that form's.
    #[cfg(feature = "ssr")]
    pub fn of(returned: Option<ReturnedForm>, action: &str) -> Option<Self> {
        use leptos::server_fn::error::ServerFnUrlError;
        let returned = returned.filter(|r| r.action == action)?;
        Some(Self {
            error: ServerFnUrlError::<FormError>::decode_err(&returned.error),
            fields: returned.fields,
        })
    }

    /// What was typed into `field`, if the form came back.
    pub fn typed(refused: &Option<Self>, field: &str) -> Option<String> {
        refused
            .as_ref()?
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}
