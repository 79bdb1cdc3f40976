//! Token endpoints: Entra v2 (client secret, federated assertion), Container Apps, IMDS.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{CLIENT_SECRET, IDENTITY_HEADER, Recorded, Shared};

fn issue(shared: &Shared, audience: &str, kind: &str) -> (String, i64) {
    let mut state = shared.lock();
    state.issued += 1;
    let token = format!("fake-{kind}-token-{}", state.issued);
    state.tokens.insert(token.clone(), audience.to_string());
    (token, state.token_lifetime)
}

/// `POST /{tenant}/oauth2/v2.0/token`
pub(super) fn entra_token(shared: &Shared, r: &Recorded) -> Response {
    let form = r.form();
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let entra_error = |status: StatusCode, error: &str, code: u32, text: &str| {
        (
            status,
            axum::Json(json!({
                "error": error,
                "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 0000 Correlation ID: 1111 Timestamp: 2026-01-01 00:00:00Z"),
                "error_codes": [code],
                "timestamp": "2026-01-01 00:00:00Z",
                "trace_id": "0000",
                "correlation_id": "1111"
            })),
        )
            .into_response()
    };
    if field("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(audience) = field("scope").strip_suffix("/.default") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid.",
        );
    };
    let kind = if !field("client_assertion").is_empty() {
        if field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "Invalid client assertion type.",
            );
        }
        "federated"
    } else if field("client_secret") == CLIENT_SECRET {
        "secret"
    } else {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    };
    let (token, lifetime) = issue(shared, audience, kind);
    axum::Json(json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token})).into_response()
}

/// `GET /msi/token?api-version=2019-08-01&resource=…` with `X-IDENTITY-HEADER`.
pub(super) fn container_apps_token(shared: &Shared, r: &Recorded) -> Response {
    if r.header("x-identity-header") != Some(IDENTITY_HEADER) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong."}))).into_response();
    }
    if r.param("api-version") != Some("2019-08-01") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"statusCode": 400, "message": "Unsupported api-version."})),
        )
            .into_response();
    }
    let Some(resource) = r.param("resource") else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"statusCode": 400, "message": "resource is required."})),
        )
            .into_response();
    };
    let (token, lifetime) = issue(shared, resource, "containerapps");
    let expires_on = chrono::Utc::now().timestamp() + lifetime;
    axum::Json(json!({
        "access_token": token,
        "expires_on": expires_on.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": r.param("client_id").unwrap_or("system-assigned")
    }))
    .into_response()
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…` with `Metadata: true`.
pub(super) fn imds_token(shared: &Shared, r: &Recorded) -> Response {
    if r.header("metadata") != Some("true") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}))).into_response();
    }
    let Some(resource) = r.param("resource") else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_request", "error_description": "resource is required"}),
            ),
        )
            .into_response();
    };
    let (token, lifetime) = issue(shared, resource, "imds");
    let now = chrono::Utc::now().timestamp();
    // IMDS sends numbers as strings.
    axum::Json(json!({
        "access_token": token,
        "expires_in": lifetime.to_string(),
        "expires_on": (now + lifetime).to_string(),
        "ext_expires_in": lifetime.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer"
    }))
    .into_response()
}
