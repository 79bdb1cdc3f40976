//! Entra's HTTP surface: OpenID metadata and JWKS per tenant, the token endpoint, the managed
//! identity endpoint, and Entra's error JSON.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::Shared;
use super::keys::test_keys;
use super::token::{v1_issuer, v2_issuer};

type AppState = State<Arc<Shared>>;

/// All routes of the fake authority.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(metadata_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(metadata_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys_v2))
        .route("/{tenant}/discovery/keys", get(keys_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(super::exchange::token))
        .route("/msi/token", get(super::identity::token))
        .with_state(shared)
}

/// The tenant as it appears in an issuer: multi-tenant endpoints publish the `{tenantid}` template.
fn issuer_tenant(tenant: &str) -> &str {
    if super::is_multi_tenant_alias(tenant) {
        "{tenantid}"
    } else {
        tenant
    }
}

async fn metadata_v2(State(s): AppState, Path(tenant): Path<String>) -> Response {
    if !s.knows(&tenant) {
        return invalid_tenant(&s, &tenant);
    }
    s.metadata_fetches.fetch_add(1, Ordering::SeqCst);
    let h = &s.authority_host;
    let t = &tenant;
    json_ok(json!({
        "token_endpoint": format!("{h}/{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{h}/{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": v2_issuer(h, issuer_tenant(t)),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{h}/{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{h}/{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{h}/{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
            "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
            "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{h}/{t}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
}

async fn metadata_v1(State(s): AppState, Path(tenant): Path<String>) -> Response {
    if !s.knows(&tenant) {
        return invalid_tenant(&s, &tenant);
    }
    s.metadata_fetches.fetch_add(1, Ordering::SeqCst);
    let h = &s.authority_host;
    let t = &tenant;
    json_ok(json!({
        "token_endpoint": format!("{h}/{t}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{h}/{t}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": v1_issuer(issuer_tenant(t)),
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{h}/{t}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{h}/{t}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{h}/{t}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
            "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
            "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{h}/{t}/oauth2/checksession"),
        "userinfo_endpoint": format!("{h}/{t}/openid/userinfo"),
        "kerberos_endpoint": format!("{h}/{t}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
}

async fn keys_v2(State(s): AppState, Path(tenant): Path<String>) -> Response {
    let issuer = v2_issuer(&s.authority_host, issuer_tenant(&tenant));
    jwks(&s, &tenant, Some(issuer))
}

/// The v1 keys document carries no `issuer` per key, as Entra's does not.
async fn keys_v1(State(s): AppState, Path(tenant): Path<String>) -> Response {
    jwks(&s, &tenant, None)
}

fn jwks(s: &Shared, tenant: &str, issuer: Option<String>) -> Response {
    if !s.knows(tenant) {
        return invalid_tenant(s, tenant);
    }
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let all = test_keys();
    let keys: Vec<Value> = s
        .published_keys()
        .into_iter()
        .map(|i| {
            let k = &all[i];
            let mut jwk = json!({
                "kty": "RSA",
                "use": "sig",
                "kid": k.kid,
                "x5t": k.x5t,
                "n": k.n,
                "e": k.e,
                "x5c": [k.x5c],
                "cloud_instance_name": "microsoftonline.com",
            });
            if let (Some(iss), Some(obj)) = (&issuer, jwk.as_object_mut()) {
                obj.insert("issuer".into(), json!(iss));
            }
            jwk
        })
        .collect();
    json_ok(json!({ "keys": keys }))
}

fn json_ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "max-age=86400, private")],
        axum::Json(body),
    )
        .into_response()
}

/// Entra's answer for a tenant that does not exist: 400 `invalid_tenant`, AADSTS90002.
pub(super) fn invalid_tenant(s: &Shared, tenant: &str) -> Response {
    entra_error(
        s,
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are \
             signing into the correct cloud. Check with your subscription administrator, this may \
             happen if there are no active subscriptions for the tenant."
        ),
        Map::new(),
    )
}

/// An error as Entra's token service words it: `error`, `error_description` (`AADSTS<code>: …`
/// with trace and correlation ids and a timestamp), `error_codes`, ids, `error_uri`, plus `extra`
/// fields (`suberror`, `claims`).
pub(super) fn entra_error(
    s: &Shared,
    status: StatusCode,
    error: &str,
    code: u32,
    text: &str,
    extra: Map<String, Value>,
) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now();
    let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let description = format!(
        "AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {}",
        now.format("%Y-%m-%d %H:%M:%S%.3fZ")
    );
    let mut body = json!({
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("{}/error?code={code}", s.authority_host),
    });
    if let Some(obj) = body.as_object_mut() {
        obj.extend(extra);
    }
    (
        status,
        [(header::CACHE_CONTROL, "no-store, no-cache")],
        axum::Json(body),
    )
        .into_response()
}
