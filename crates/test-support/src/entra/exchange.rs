//! `POST /{tenant}/oauth2/v2.0/token` with the on-behalf-of grant
//! (`urn:ietf:params:oauth:grant-type:jwt-bearer`, `requested_token_use=on_behalf_of`), checked as
//! Entra checks it: the client's authentication (a secret, an assertion signed by a registered
//! certificate, or a federated assertion matching a federated identity credential), the user
//! assertion (a token this directory issued, unexpired, for the client app), admin consent for
//! the resource, Conditional Access. Refusals are Entra's error bodies with AADSTS codes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::directory::{AppRegistration, ClientAuth, TokenRequest};
use super::http::{entra_error, invalid_tenant};
use super::keys::{Unverified, verify_issued};
use super::token::{opaque_id, v1_issuer};
use super::{Shared, TOKEN_EXCHANGE_AUDIENCE};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A refusal in Entra's terms.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    code: u32,
    text: String,
    suberror: Option<&'static str>,
    claims: Option<String>,
}

fn refuse(status: StatusCode, error: &'static str, code: u32, text: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        code,
        text: text.into(),
        suberror: None,
        claims: None,
    }
}

/// The form of a token request.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, Refusal> {
        let value = self.get(name);
        if value.is_empty() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            ));
        }
        Ok(value)
    }
}

/// The token endpoint.
pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    if !s.knows(&tenant) {
        return invalid_tenant(&s, &tenant);
    }
    let delay = s.directory().token_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let form = Form(crate::azure::parse_pairs(&String::from_utf8_lossy(&body)));
    let mut record = TokenRequest {
        grant_type: form.get("grant_type").to_string(),
        client_id: form.get("client_id").to_string(),
        client_auth: ClientAuth::None,
        resource: resource_of(form.get("scope")).unwrap_or_default(),
        user_oid: None,
        outcome: Ok(()),
    };
    let response = match on_behalf_of(&s, &tenant, &form, &mut record) {
        Ok(body) => axum::Json(body).into_response(),
        Err(r) => {
            record.outcome = Err(r.code);
            let mut extra = Map::new();
            if let Some(sub) = r.suberror {
                extra.insert("suberror".into(), json!(sub));
            }
            if let Some(claims) = r.claims {
                extra.insert("claims".into(), json!(claims));
            }
            entra_error(&s, r.status, r.error, r.code, &r.text, extra)
        }
    };
    s.directory().token_requests.push(record);
    response
}

/// `https://graph.microsoft.com/.default offline_access` → `https://graph.microsoft.com`.
fn resource_of(scope: &str) -> Option<String> {
    scope
        .split_whitespace()
        .find_map(|s| s.strip_suffix("/.default"))
        .map(str::to_string)
}

fn on_behalf_of(
    s: &Shared,
    tenant: &str,
    form: &Form,
    record: &mut TokenRequest,
) -> Result<Value, Refusal> {
    let grant = form.require("grant_type")?;
    if grant != JWT_BEARER {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = form.require("client_id")?;
    let app = s
        .directory()
        .apps
        .iter()
        .find(|a| a.app_id == client_id)
        .cloned()
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            )
        })?;
    record.client_auth = authenticate_client(s, tenant, form, &app)?;
    if form.require("requested_token_use")? != "on_behalf_of" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.",
        ));
    }
    let resource = resource_of(form.require("scope")?).ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        )
    })?;
    let user = verify_user_assertion(form.require("assertion")?, &app)?;
    let oid = text(&user, "oid");
    record.user_oid = Some(oid.clone());
    let Some(permissions) = app.consented(&resource).map(<[String]>::to_vec) else {
        let mut r = refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                app.app_id, app.display_name
            ),
        );
        r.suberror = Some("consent_required");
        return Err(r);
    };
    let mfa_done = user
        .get("amr")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|m| m == "mfa"));
    let policy = s
        .directory()
        .mfa
        .iter()
        .find(|p| p.user_oid == oid && p.resource.eq_ignore_ascii_case(&resource))
        .map(|p| p.policy_id.clone());
    if let (Some(policy), false) = (policy, mfa_done) {
        let mut r = refuse(
            StatusCode::BAD_REQUEST,
            "interaction_required",
            50076,
            format!(
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'."
            ),
        );
        r.claims = Some(
            json!({"access_token": {"capolids": {"essential": true, "values": [policy]}}})
                .to_string(),
        );
        return Err(r);
    }
    let lifetime = s.token_lifetime.load(std::sync::atomic::Ordering::SeqCst);
    let token = downstream_token(
        s,
        &user,
        &app,
        record.client_auth,
        &resource,
        &permissions,
        lifetime,
    );
    let scope: Vec<String> = permissions
        .iter()
        .map(|p| format!("{resource}/{p}"))
        .collect();
    Ok(json!({
        "token_type": "Bearer",
        "scope": scope.join(" "),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
}

/// The client's authentication: a secret, a certificate-signed assertion or a federated one.
fn authenticate_client(
    s: &Shared,
    tenant: &str,
    form: &Form,
    app: &AppRegistration,
) -> Result<ClientAuth, Refusal> {
    let secret = form.get("client_secret");
    let assertion = form.get("client_assertion");
    if !secret.is_empty() {
        if app.secrets.iter().any(|s| s == secret) {
            return Ok(ClientAuth::Secret);
        }
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                app.app_id
            ),
        ));
    }
    if assertion.is_empty() {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if form.get("client_assertion_type") != ASSERTION_TYPE {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "Invalid client assertion type.",
        ));
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            50027,
            "JWT token is invalid or malformed.",
        )
    })?;
    // As Entra tells them apart: an app's own assertion names the app as its issuer; a
    // federated one comes from another issuer (here, the managed identity's tokens).
    if unverified_issuer(assertion).as_deref() == Some(app.app_id.as_str()) {
        certificate_assertion(s, tenant, assertion, &header, app)
    } else {
        federated_assertion(assertion, app)
    }
}

/// An assertion signed with a certificate registered on the app: `aud` the token endpoint,
/// `iss` = `sub` = the client id. Only `x5t#S256` identifies a certificate here.
fn certificate_assertion(
    s: &Shared,
    tenant: &str,
    assertion: &str,
    header: &Header,
    app: &AppRegistration,
) -> Result<ClientAuth, Refusal> {
    let invalid =
        |code: u32, text: String| refuse(StatusCode::UNAUTHORIZED, "invalid_client", code, text);
    let thumbprint = header
        .x5t_s256
        .as_deref()
        .or(header.x5t.as_deref())
        .unwrap_or("");
    let Some(certificate) = app.certificate(header.x5t_s256.as_deref()) else {
        return Err(invalid(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                app.app_id
            ),
        ));
    };
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(invalid(
            700027,
            "Client assertion failed signature validation.".into(),
        ));
    }
    let key = DecodingKey::from_rsa_pem(certificate.as_bytes()).map_err(|_| {
        invalid(
            700027,
            "Client assertion failed signature validation.".into(),
        )
    })?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = 0;
    validation.set_audience(&[format!("{}/{tenant}/oauth2/v2.0/token", s.authority_host)]);
    validation.set_issuer(&[app.app_id.as_str()]);
    validation.sub = Some(app.app_id.clone());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
        Ok(_) => Ok(ClientAuth::Certificate),
        Err(e) => Err(match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => invalid(
                700024,
                "Client assertion is not within its valid time range.".into(),
            ),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid(
                700027,
                "Client assertion failed signature validation.".into(),
            ),
            _ => invalid(
                700027,
                format!(
                    "Client assertion contains an invalid claim ({e:?}): the audience must be the token endpoint and iss and sub the client id."
                ),
            ),
        }),
    }
}

/// The `iss` of a compact JWS, read without verifying it.
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// A token from a trusted issuer, matched against the app's federated identity credentials.
fn federated_assertion(assertion: &str, app: &AppRegistration) -> Result<ClientAuth, Refusal> {
    let claims = verify_issued(assertion).map_err(|e| match e {
        Unverified::Expired => refuse(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ),
        Unverified::Signature => refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
        ),
    })?;
    let (iss, sub) = (text(&claims, "iss"), text(&claims, "sub"));
    let aud = text(&claims, "aud");
    let trusted = app
        .federated
        .iter()
        .any(|f| f.issuer == iss && f.subject == sub && f.audiences.contains(&aud));
    if trusted && aud == TOKEN_EXCHANGE_AUDIENCE {
        return Ok(ClientAuth::Federated);
    }
    Err(refuse(
        StatusCode::BAD_REQUEST,
        "invalid_client",
        70021,
        format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
        ),
    ))
}

/// The user's access token, as Entra checks a user assertion.
fn verify_user_assertion(
    assertion: &str,
    app: &AppRegistration,
) -> Result<Map<String, Value>, Refusal> {
    let claims = verify_issued(assertion).map_err(|e| match e {
        Unverified::Expired => refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            500133,
            format!(
                "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: {}.",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.7fZ")
            ),
        ),
        Unverified::Signature => refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50013,
            "Assertion failed signature validation. [Reason - The key was not found.]",
        ),
    })?;
    let aud = text(&claims, "aud");
    if aud != app.app_id && aud != format!("api://{}", app.app_id) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            500131,
            format!(
                "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '{aud}' and the expected audience is '{}' or one of the Application Uris of this application with App ID '{}'({}).",
                app.app_id, app.app_id, app.display_name
            ),
        ));
    }
    Ok(claims)
}

/// A v1 access token for `resource` about the user of `user` (its `oid`, `upn`, `tid`), issued to
/// the client app, with the consented permissions as `scp`.
fn downstream_token(
    s: &Shared,
    user: &Map<String, Value>,
    app: &AppRegistration,
    auth: ClientAuth,
    resource: &str,
    permissions: &[String],
    lifetime: i64,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let tid = text(user, "tid");
    let upn = ["upn", "preferred_username", "unique_name"]
        .iter()
        .map(|k| text(user, k))
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    let mut claims = Map::new();
    let mut set = |k: &str, v: Value| {
        claims.insert(k.to_string(), v);
    };
    set("aud", json!(resource));
    set("iss", json!(v1_issuer(&tid)));
    set("iat", json!(now));
    set("nbf", json!(now));
    set("exp", json!(now + lifetime));
    set("acr", json!("1"));
    set(
        "amr",
        user.get("amr").cloned().unwrap_or_else(|| json!(["pwd"])),
    );
    set("appid", json!(app.app_id));
    set(
        "appidacr",
        json!(if auth == ClientAuth::Secret { "1" } else { "2" }),
    );
    set("idtyp", json!("user"));
    set("name", user.get("name").cloned().unwrap_or(Value::Null));
    set("oid", json!(text(user, "oid")));
    set("scp", json!(permissions.join(" ")));
    set("sub", json!(opaque_id()));
    set("tid", json!(tid));
    set("unique_name", json!(upn));
    set("upn", json!(upn));
    set("uti", json!(opaque_id()));
    set("ver", json!("1.0"));
    let key = s.signing_key();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.x5t = Some(key.x5t.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding)
        .unwrap_or_else(|e| panic!("RS256 signing with a test key failed: {e}"))
}

fn text(claims: &Map<String, Value>, key: &str) -> String {
    claims
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
