//! The OpenAPI document: served, 3.1, and in step with the routes.

use crate::common::{json, spawn_app};
use serde_json::Value;

/// Every REST operation Latchkey serves, by method and path.
const OPERATIONS: [(&str, &str); 38] = [
    ("post", "/v2/auth/register"),
    ("post", "/v2/auth/login"),
    ("get", "/v2/auth/refresh"),
    ("post", "/v2/account/password/change"),
    ("post", "/v2/account/upgrade"),
    ("get", "/v2/account/credits/available"),
    ("post", "/v2/forgot/email"),
    ("post", "/v2/account/email/forgot"),
    ("get", "/v2/account/email/verify/{username}/{token}"),
    ("post", "/v2/account/email/verify/resend"),
    ("post", "/v2/forgot/username"),
    ("post", "/v2/forgot/password"),
    ("post", "/v2/auth/login/mfa"),
    ("post", "/v2/account/mfa/totp"),
    ("post", "/v2/account/mfa/totp/confirm"),
    ("post", "/v2/account/mfa/totp/disable"),
    ("post", "/v2/account/mfa/recovery-codes"),
    ("post", "/v2/account/email/change"),
    ("post", "/v2/account/email/change/confirm"),
    ("post", "/v2/account/delete"),
    ("get", "/v2/account/export"),
    ("post", "/api/v3/send-email"),
    ("post", "/api/v3/send-sms"),
    ("post", "/api/v3/verify-reset-password-request"),
    ("post", "/api/v3/reset-password"),
    ("get", "/api/v3/system"),
    ("post", "/auth/lostPassword"),
    ("get", "/admin/api/users"),
    ("get", "/admin/api/users/{id}"),
    ("post", "/admin/api/users/{id}/{action}"),
    ("post", "/admin/api/users/{id}/passkeys/{credential}/remove"),
    ("get", "/admin/api/audit"),
    ("get", "/admin/api/audit.csv"),
    ("get", "/admin/api/clients"),
    ("post", "/admin/api/clients"),
    ("post", "/admin/api/clients/{client_id}"),
    ("post", "/admin/api/clients/{client_id}/{action}"),
    ("get", "/openapi.json"),
];

async fn document() -> Value {
    let app = spawn_app().await;
    let response = app.http.get(app.at("/openapi.json")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    json(response).await.1
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_operation() {
    let doc = document().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .filter(|(_, path)| *path != "/openapi.json")
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
}

/// OpenAPI requires operation ids to be unique: validators reject a document that repeats
/// one, and client generators would make two methods of one name.
#[tokio::test]
async fn every_operation_has_an_id_of_its_own() {
    let doc = document().await;
    let mut ids: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                !ids.contains(&id.to_owned()),
                "{id} is repeated at {method} {path}"
            );
            ids.push(id.to_owned());
        }
    }
    assert!(ids.len() >= 23, "{ids:?}");
}

#[tokio::test]
async fn every_operation_documents_its_answers_and_bodies() {
    let doc = document().await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{method} {path}");
            for (status, response) in responses {
                // The admin API's errors are problem details; its export is CSV.
                let content = &response["content"];
                let described = content["application/json"]["schema"].is_object()
                    || content["application/problem+json"]["schema"].is_object()
                    || (path.ends_with(".csv") && content["text/csv"].is_object());
                if status != "303" {
                    assert!(described, "{method} {path} {status} has no schema");
                }
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("413"),
                    "{method} {path} takes a body but documents no 413"
                );
            }
        }
    }
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    // Without an admin's token the admin API is not found, by design: ask with one.
    let admin_token = crate::admin::admin_with_token(&app, "operator", false).await;
    for (method, path) in OPERATIONS {
        let url = app.at(&path
            .replace("{username}", "someone")
            .replace("{token}", "abc")
            .replace("{client_id}/{action}", "no-such-app/remove")
            .replace("{client_id}", "no-such-app")
            .replace("{id}", "1")
            .replace("{action}", "unlock")
            .replace("{credential}", "none"));
        let request = match method {
            "get" => app.http.get(url),
            // An admin action without its reason is refused (400) before anything is looked up.
            _ => app.http.post(url).json(&serde_json::json!({"reason": ""})),
        };
        let request = if path.starts_with("/admin/api/") {
            request.bearer_auth(&admin_token)
        } else {
            request
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            ![404, 405].contains(&status) && status < 500,
            "{method} {path}: {status}"
        );
    }
}

/// A `$ref` to a schema the document does not hold makes the whole document unusable to a
/// client generator or a validator: every one must resolve.
#[tokio::test]
async fn every_schema_reference_resolves() {
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let doc = document().await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20, "the answers are described by reference");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} points outside the schemas"));
        assert!(schemas.contains_key(name), "{target} does not resolve");
    }
}
