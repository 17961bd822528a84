//! Request bodies the way the API documents send them: urlencoded or multipart form data, or
//! JSON. Failures are typed so each surface can answer in its own envelope.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the 64 KiB limit.
    TooLarge,
    /// Not parseable as the form or JSON it claims to be; the text says what was wrong.
    Malformed(String),
    /// Nothing but white space where JSON was expected.
    Empty,
    /// A field the endpoint needs is absent or blank; the text says what to send.
    Missing(String),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Malformed(_) | BodyError::Empty | BodyError::Missing(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge => "request body is larger than 64 KiB".into(),
            BodyError::Malformed(why) => format!("malformed request body: {why}"),
            BodyError::Empty => "malformed request body: the body is empty".into(),
            BodyError::Missing(what) => what.clone(),
        }
    }
}

/// Handlers take `Result<_, BodyError>` and answer in their own envelope; this plain answer
/// is only what axum needs to accept the type.
impl axum::response::IntoResponse for BodyError {
    fn into_response(self) -> axum::response::Response {
        (self.status(), self.message()).into_response()
    }
}

/// A body read as form data or JSON, whichever the content type says; JSON when it says
/// nothing useful.
pub struct FormOrJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormOrJson<T> {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| BodyError::Malformed(e.body_text()))?;
            return multipart_fields(multipart).await.map(FormOrJson);
        }
        let bytes = read_bytes(request, state).await?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            form(&bytes).map(FormOrJson)
        } else {
            json(&bytes).map(FormOrJson)
        }
    }
}

/// A JSON body whatever the content type claims (the Temporal login sends JSON as
/// `text/plain`), or urlencoded form data when that is what it is.
pub struct AnyJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AnyJson<T> {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let bytes = read_bytes(request, state).await?;
        match json(&bytes) {
            Ok(value) => Ok(AnyJson(value)),
            Err(_) if is_form => form(&bytes).map(AnyJson),
            Err(e) => Err(e),
        }
    }
}

async fn read_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, BodyError> {
    Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge
        } else {
            BodyError::Malformed("the body could not be read".into())
        }
    })
}

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    serde_json::from_slice(bytes).map_err(|e| BodyError::Malformed(describe_json_error(&e)))
}

fn form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| BodyError::Malformed(e.to_string()))
}

/// serde_json's messages name Rust types; keep the part a client can act on.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("not valid JSON (line {}, column {})", e.line(), e.column())
        }
        Category::Data => {
            let text = e.to_string();
            // "invalid type: integer `5`, expected a string at line 1 column 14"
            text.split(" at line ").next().unwrap_or(&text).to_owned()
        }
    }
}

async fn multipart_fields<T: DeserializeOwned>(mut multipart: Multipart) -> Result<T, BodyError> {
    let mut fields = serde_json::Map::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(BodyError::TooLarge)
            }
            Err(e) => return Err(BodyError::Malformed(e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let text = field.text().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Malformed(e.body_text())
            }
        })?;
        if fields
            .insert(name.clone(), serde_json::Value::String(text))
            .is_some()
        {
            return Err(BodyError::Malformed(format!(
                "field `{name}` appears twice"
            )));
        }
    }
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| BodyError::Malformed(describe_json_error(&e)))
}

/// A required text field: present and not blank.
pub fn required(value: Option<String>, name: &str) -> Result<String, BodyError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(BodyError::Missing(format!("{name} is required"))),
    }
}
