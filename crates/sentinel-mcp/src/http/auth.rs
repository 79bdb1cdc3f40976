//! The authentication layer of the MCP endpoints, the step-up check on `tools/call`, and the
//! protected-resource metadata routes.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client::PeerAddr;
use super::sse::{CommonMessage, Decoded, common_message};
use super::{HttpState, json_error, jsonrpc_error};
use crate::auth::{
    AccessPolicy, AuthError, Principal, RequestMeta, TokenValidator, metadata::ResourceMetadata,
};
use crate::azure::access::DataAccess;
use crate::azure::obo::{CallerToken, OboError};
use crate::limits::RateLimited;
use crate::model::DataKind;
use crate::secret::Secret;
use crate::telemetry::trace::headers::MCP_PROTOCOL_VERSION;

/// Validates bearer tokens for the MCP endpoints.
pub struct Authenticator {
    pub validator: TokenValidator,
    pub metadata: ResourceMetadata,
}

/// The endpoint family a path belongs to, for the resource metadata URL.
fn resource_path(path: &str) -> &'static str {
    if path.starts_with("/mcp") {
        "/mcp"
    } else {
        "/sse"
    }
}

impl Authenticator {
    fn challenge(
        &self,
        status: StatusCode,
        path: &str,
        params: &[(&str, String)],
        body_error: &str,
        description: &str,
    ) -> Response {
        let mut value = format!(
            "Bearer resource_metadata=\"{}\"",
            self.metadata.metadata_url(resource_path(path))
        );
        for (k, v) in params {
            value.push_str(&format!(", {k}=\"{}\"", v.replace(['"', '\\'], "")));
        }
        let mut response = (
            status,
            axum::Json(json!({"error": body_error, "error_description": description})),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }

    fn scopes_for(&self, names: &[String]) -> String {
        names
            .iter()
            .map(|n| {
                self.metadata
                    .scopes
                    .iter()
                    .find(|s| s.ends_with(&format!("/{n}")))
                    .cloned()
                    .unwrap_or_else(|| n.clone())
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The caller and its bearer token.
    async fn authenticate(
        &self,
        request: &RequestHead,
        policy: &AccessPolicy,
    ) -> Result<(Principal, Secret), Response> {
        let path = request.path.as_str();
        if request.query.as_deref().is_some_and(|q| {
            q.split('&').any(|kv| {
                kv.split('=')
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("access_token"))
            })
        }) {
            let d = "tokens are accepted only in the Authorization header, never in the URL";
            return Err(self.challenge(
                StatusCode::UNAUTHORIZED,
                path,
                &[
                    ("error", "invalid_request".into()),
                    ("error_description", d.into()),
                ],
                "invalid_request",
                d,
            ));
        }
        let Some(value) = &request.authorization else {
            let scope = self.scopes_for(&policy.read);
            return Err(self.challenge(
                StatusCode::UNAUTHORIZED,
                path,
                &[("scope", scope)],
                "invalid_token",
                "a bearer token is required",
            ));
        };
        let token = value.to_str().ok().and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            let d = "the Authorization header must carry a Bearer token";
            return Err(self.challenge(
                StatusCode::UNAUTHORIZED,
                path,
                &[
                    ("error", "invalid_request".into()),
                    ("error_description", d.into()),
                ],
                "invalid_request",
                d,
            ));
        };
        match self.validator.validate(token).await {
            Ok(principal) if policy.allows_any(&principal) => {
                Ok((principal, Secret::new(token.to_string())))
            }
            Ok(principal) => {
                tracing::warn!(
                    oid = principal.object_id,
                    tid = principal.tenant_id,
                    "token holds no role or scope of this server"
                );
                let scope = self.scopes_for(&policy.read);
                let d = "the token grants no role or scope of this server";
                Err(self.challenge(
                    StatusCode::FORBIDDEN,
                    path,
                    &[
                        ("error", "insufficient_scope".into()),
                        ("scope", scope),
                        ("error_description", d.into()),
                    ],
                    "insufficient_scope",
                    d,
                ))
            }
            Err(AuthError::InvalidToken(reason)) => {
                tracing::warn!(reason, "bearer token refused");
                Err(self.challenge(
                    StatusCode::UNAUTHORIZED,
                    path,
                    &[
                        ("error", "invalid_token".into()),
                        ("error_description", reason.clone()),
                    ],
                    "invalid_token",
                    &reason,
                ))
            }
            Err(AuthError::Unavailable) => Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &AuthError::Unavailable.to_string(),
            )),
        }
    }
}

/// The parts of a request authentication reads (owned, so no borrow of the body lives across an await).
struct RequestHead {
    path: String,
    query: Option<String>,
    authorization: Option<HeaderValue>,
}

impl RequestHead {
    fn of(request: &Request) -> RequestHead {
        RequestHead {
            path: request.uri().path().to_string(),
            query: request.uri().query().map(String::from),
            authorization: request.headers().get(header::AUTHORIZATION).cloned(),
        }
    }
}

/// The `reason` label of an authentication refusal, read from its status and challenge.
fn refusal_reason(response: &Response) -> &'static str {
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let has = |error: &[u8]| challenge.windows(error.len()).any(|w| w == error);
    match response.status() {
        StatusCode::FORBIDDEN => "scope",
        StatusCode::UNAUTHORIZED if has(b"error=\"invalid_token\"") => "auth_invalid_token",
        StatusCode::UNAUTHORIZED if has(b"error=\"invalid_request\"") => "auth_malformed",
        StatusCode::UNAUTHORIZED => "auth_missing",
        _ => "auth_unavailable",
    }
}

/// Establishes who is calling and attaches [`RequestMeta`] to the request.
pub(super) async fn authenticate(
    state: &HttpState,
    mut request: Request,
) -> Result<Request, Response> {
    let (principal, access) = match &state.authenticator {
        None => (Principal::anonymous(), Some(DataAccess::Server)),
        Some(auth) => match auth
            .authenticate(&RequestHead::of(&request), &state.app.policy)
            .await
        {
            Ok((p, token)) => {
                let access = match &state.caller_access {
                    None => Some(DataAccess::Server),
                    Some(callers) => callers.for_caller(
                        CallerToken {
                            tenant_id: p.tenant_id.clone(),
                            object_id: p.object_id.clone(),
                            token,
                            expires_at: p.expires_at,
                        },
                        p.app_only,
                    ),
                };
                (p, access)
            }
            Err(response) => {
                crate::metrics::metrics().rejected(refusal_reason(&response));
                return Err(response);
            }
        },
    };
    let headers = request.headers();
    let limit_key = match (&state.authenticator, request.extensions().get::<PeerAddr>()) {
        (Some(_), _) => principal.owner_key(),
        (None, Some(peer)) => state
            .trusted_proxies
            .client_address(peer.0.ip(), headers)
            .to_string(),
        // Only a router driven without the accept loop has no peer.
        (None, None) => String::new(),
    };
    let protocol_version = headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    // The ids the checks in front read from the headers (a router driven without them reads
    // them here).
    let context = crate::telemetry::current_log_context()
        .unwrap_or_else(|| Arc::new(super::request_context(&request)));
    if state.authenticator.is_some() {
        context.set_oid(&principal.object_id);
    }
    let request_id = context.request_id().to_string();
    let session_id = context.session_id().map(String::from);
    let trace_parent = context.parent().cloned();
    request.extensions_mut().insert(RequestMeta {
        principal,
        access,
        request_id,
        session_id,
        limit_key,
        trace_parent,
        protocol_version,
    });
    Ok(request)
}

/// What a request carries, as far as the checks in front of the transports need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Carried {
    /// Not a JSON-RPC POST (a GET stream, a DELETE), or a message that expects no answer.
    NoRequest,
    /// A JSON-RPC request, which will be answered; `initialize` opens a session.
    Request { initialize: bool },
}

/// On JSON-RPC POSTs: a body that is not JSON is a parse error (400, -32700); a `tools/call` of
/// a tool the caller may not use is refused with 403 `insufficient_scope` naming the scopes that
/// would allow it (step-up); and a `tools/call` or `resources/read` on `/mcp` over the caller's
/// rate limit is refused with 429 and `Retry-After` (legacy SSE answers that on the stream
/// instead). Says what the request carries, and leaves the message it decoded in the request's
/// extensions ([`Decoded`]) for the transport.
pub(super) async fn inspect_jsonrpc(
    state: &HttpState,
    request: Request,
) -> Result<(Request, Carried), Response> {
    let is_json_post = request.method() == axum::http::Method::POST
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
    if !is_json_post {
        return Ok((request, Carried::NoRequest));
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return Err(json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body is larger than SENTINEL_MCP_MAX_BODY_BYTES",
            ));
        }
    };
    // A common message (a tools/call, initialize) is decoded once, here, and handed to the
    // transport; of any other, only the fields the checks need are read.
    let decoded = common_message(&bytes);
    let message = match &decoded {
        Some(common) => JsonRpcHead::of(common),
        None => match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    -32700,
                    &format!("Parse error: {e}"),
                ));
            }
            // Valid JSON of another shape (a batch, a bare value): the transport answers it.
            Err(_) => JsonRpcHead::default(),
        },
    };
    if message.method.as_deref() == Some("tools/call")
        && let (Some(auth), Some(meta)) =
            (&state.authenticator, parts.extensions.get::<RequestMeta>())
        && let Some(name) = message.params.as_ref().and_then(|p| p.name.as_deref())
        && let Some(class) = state.app.tools.class(name)
        && !state.app.policy.allows(&meta.principal, class)
    {
        let scope = auth.scopes_for(state.app.policy.names(class));
        tracing::warn!(
            oid = meta.principal.object_id,
            tool = name,
            "tool call refused: insufficient scope"
        );
        let d = "the token does not grant the role or scope this tool needs";
        let mut response = auth.challenge(
            StatusCode::FORBIDDEN,
            parts.uri.path(),
            &[
                ("error", "insufficient_scope".into()),
                ("scope", scope),
                ("error_description", d.into()),
            ],
            "insufficient_scope",
            d,
        );
        *response.body_mut() = Body::from(json!({"jsonrpc": "2.0", "id": message.id, "error": {"code": -32001, "message": format!("Forbidden: {d}")}}).to_string());
        crate::metrics::metrics().rejected("scope");
        return Err(response);
    }
    // A page of a kept result costs what a small query does: reads share the calls' allowance.
    if matches!(
        message.method.as_deref(),
        Some("tools/call" | "resources/read")
    ) && parts.uri.path().starts_with("/mcp")
        && let Some(meta) = parts.extensions.get::<RequestMeta>()
        && let Err(limited) = state.check_rate(meta).await
    {
        return Err(rate_limited(&message.id, limited));
    }
    if message.method.as_deref() == Some("tools/call")
        && let (Some(auth), Some(meta)) =
            (&state.authenticator, parts.extensions.get::<RequestMeta>())
        && let Some(name) = message.params.as_ref().and_then(|p| p.name.as_deref())
        && let Some(kind) = state.app.tools.data_kind(name)
    {
        prepare_access(auth, meta, kind, parts.uri.path(), &message.id).await?;
    }
    let carried = match &message.method {
        Some(method) if !message.id.is_null() => Carried::Request {
            initialize: method == "initialize",
        },
        _ => Carried::NoRequest,
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(Decoded(decoded));
    Ok((request, carried))
}

/// 429 with `Retry-After`, and the JSON-RPC error a legacy SSE client would get on its stream.
fn rate_limited(id: &serde_json::Value, limited: RateLimited) -> Response {
    let error = limited.error();
    let body = json!({"jsonrpc": "2.0", "id": id, "error": error});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limited.retry_after_secs),
    );
    response
}

/// The Azure access of a `tools/call`, settled before the transport answers: an app-only
/// caller refused (403) when on-behalf-of has no user to act for; otherwise the caller's token
/// exchanged for the service the tool reaches, so that on `/mcp` a claims challenge or an
/// expired sign-in is a 401 and a failure of the server's own credential a 503. On legacy SSE
/// (and for a missing consent, which the tool reports) the outcome is kept for the tool call.
async fn prepare_access(
    auth: &Authenticator,
    meta: &RequestMeta,
    kind: DataKind,
    path: &str,
    id: &serde_json::Value,
) -> Result<(), Response> {
    let rpc_error = |mut response: Response, message: &str| {
        *response.body_mut() = Body::from(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32001, "message": message}})
                .to_string(),
        );
        response
    };
    let grant = match &meta.access {
        None => {
            tracing::warn!(
                oid = meta.principal.object_id,
                app_id = meta.principal.app_id,
                "tool call refused: app-only caller and SENTINEL_MCP_APP_CALLERS=deny"
            );
            crate::metrics::metrics().rejected("app_only");
            let response = json_error(StatusCode::FORBIDDEN, APP_CALLER_DENIED);
            return Err(rpc_error(response, APP_CALLER_DENIED));
        }
        Some(DataAccess::Server) => return Ok(()),
        Some(DataAccess::Caller(grant)) => grant,
    };
    let Err(e) = grant.prepare(kind).await else {
        return Ok(());
    };
    let Some(status) = e.status().filter(|_| path.starts_with("/mcp")) else {
        return Ok(());
    };
    let message = e.to_string();
    let response = if status == 401 {
        let code = if matches!(e, OboError::ClaimsChallenge { .. }) {
            "insufficient_claims"
        } else {
            "invalid_token"
        };
        auth.challenge(
            StatusCode::UNAUTHORIZED,
            path,
            &e.bearer_params(),
            code,
            &message,
        )
    } else {
        json_error(StatusCode::SERVICE_UNAVAILABLE, &message)
    };
    Err(rpc_error(response, &message))
}

/// What an app-only caller is told when on-behalf-of has no user to act for.
pub(crate) const APP_CALLER_DENIED: &str = "this server reaches Azure as each signed-in user (SENTINEL_MCP_AZURE_ACCESS=on-behalf-of), and an application token (client credentials, no user) has no user to act for: call with a user's delegated token, or an administrator can let applications use the server's identity with SENTINEL_MCP_APP_CALLERS=server-identity";

/// The parts of a JSON-RPC message the HTTP layer looks at.
#[derive(Default, serde::Deserialize)]
pub(super) struct JsonRpcHead<'a> {
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<CallHead<'a>>,
}

#[derive(serde::Deserialize)]
struct CallHead<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

impl<'a> JsonRpcHead<'a> {
    /// The head of a message already decoded in full.
    fn of(message: &'a CommonMessage) -> JsonRpcHead<'a> {
        let (id, method, name) = match message {
            CommonMessage::Call(id, params, _) => (Some(id), "tools/call", Some(&params.name)),
            CommonMessage::Initialize(id, _) => (Some(id), "initialize", None),
            CommonMessage::Initialized => (None, "notifications/initialized", None),
        };
        JsonRpcHead {
            id: id.map_or(serde_json::Value::Null, |id| id.clone().into_json_value()),
            method: Some(Cow::Borrowed(method)),
            params: name.map(|name| CallHead {
                name: Some(Cow::Borrowed(name)),
            }),
        }
    }
}

/// `GET /.well-known/oauth-protected-resource[/mcp|/sse]`.
pub async fn protected_resource(State(state): State<Arc<HttpState>>, request: Request) -> Response {
    let Some(auth) = &state.authenticator else {
        return json_error(
            StatusCode::NOT_FOUND,
            "authentication is off (SENTINEL_MCP_AUTH=none); there is no protected resource",
        );
    };
    let suffix = request
        .uri()
        .path()
        .trim_start_matches("/.well-known/oauth-protected-resource");
    let path = match suffix {
        "" | "/" => "",
        "/mcp" => "/mcp",
        "/sse" | "/messages" => "/sse",
        _ => return json_error(StatusCode::NOT_FOUND, "no protected resource at this path"),
    };
    axum::Json(auth.metadata.document(path)).into_response()
}
