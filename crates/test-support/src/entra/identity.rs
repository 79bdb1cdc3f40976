//! `GET /msi/token?api-version=2019-08-01&resource=…` with `X-IDENTITY-HEADER`: the Container Apps
//! managed identity endpoint, issuing the identity's tokens as Entra does (RS256 JWTs from the
//! home tenant's v2 issuer, `sub` = `oid` = the identity's principal id). A token for
//! `api://AzureADTokenExchange` is what the identity presents as a federated client assertion.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Map, Value, json};

use super::Shared;
use super::directory::{
    IdentityRequest, MANAGED_IDENTITY_CLIENT_ID, MANAGED_IDENTITY_PRINCIPAL_ID,
};
use super::token::{opaque_id, v2_issuer};
use crate::azure::IDENTITY_HEADER;

/// Managed identity tokens live a day, as Azure's do.
const LIFETIME_SECS: i64 = 86_400;

pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let resource = param(&params, "resource").unwrap_or_default().to_string();
    let answer = issue(&s, &headers, &params, &resource);
    s.directory().identity_requests.push(IdentityRequest {
        resource,
        issued: answer.status().is_success(),
    });
    answer
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn issue(s: &Shared, headers: &HeaderMap, params: &[(String, String)], resource: &str) -> Response {
    let fail = |status: StatusCode, message: &str| {
        (
            status,
            axum::Json(json!({"statusCode": status.as_u16(), "message": message})),
        )
            .into_response()
    };
    if s.identity_down.load(Ordering::SeqCst) {
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occured while fetching the AAD Token.",
        );
    }
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some(IDENTITY_HEADER)
    {
        return fail(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: the X-IDENTITY-HEADER is missing or wrong.",
        );
    }
    if param(params, "api-version") != Some("2019-08-01") {
        return fail(StatusCode::BAD_REQUEST, "Unsupported api-version.");
    }
    if resource.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "resource is required.");
    }
    if param(params, "client_id").is_some_and(|c| c != MANAGED_IDENTITY_CLIENT_ID) {
        return fail(
            StatusCode::BAD_REQUEST,
            "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
        );
    }
    let now = chrono::Utc::now().timestamp();
    let tenant = &s.home_tenant;
    let mut claims = Map::new();
    for (k, v) in [
        ("aud", json!(resource)),
        ("iss", json!(v2_issuer(&s.authority_host, tenant))),
        ("iat", json!(now)),
        ("nbf", json!(now)),
        ("exp", json!(now + LIFETIME_SECS)),
        ("azp", json!(MANAGED_IDENTITY_CLIENT_ID)),
        ("azpacr", json!("2")),
        ("idtyp", json!("app")),
        ("oid", json!(MANAGED_IDENTITY_PRINCIPAL_ID)),
        ("sub", json!(MANAGED_IDENTITY_PRINCIPAL_ID)),
        ("tid", json!(tenant)),
        ("uti", json!(opaque_id())),
        ("ver", json!("2.0")),
    ] {
        claims.insert(k.to_string(), v);
    }
    let key = s.signing_key();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.x5t = Some(key.x5t.clone());
    let token = jsonwebtoken::encode(&header, &Value::Object(claims), &key.encoding)
        .unwrap_or_else(|e| panic!("RS256 signing with a test key failed: {e}"));
    axum::Json(json!({
        "access_token": token,
        "expires_on": (now + LIFETIME_SECS).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": MANAGED_IDENTITY_CLIENT_ID,
    }))
    .into_response()
}
