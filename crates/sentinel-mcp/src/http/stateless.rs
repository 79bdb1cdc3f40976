//! The stateless era's (2026-07-28) `tools/call` on `/mcp`, answered here. rmcp's
//! `StreamableHttpService` builds a service, a one-shot transport and a task for every such
//! request, turns the message into a `serde_json::Value` to check its headers, and serializes a
//! shared tool answer again; this path decodes the message once and writes a shared answer's
//! encoded bytes. It takes only a request in exactly the shape clients of the revision send,
//! whose every check rmcp makes it can show passes (one `MCP-Protocol-Version: 2026-07-28`,
//! `Mcp-Method` and `Mcp-Name` naming the body's method and tool, the request `_meta` with the
//! revision's required keys, a plain `Accept` and `Content-Type`); anything else, a session or
//! an `Mcp-Param-*` header included, goes to rmcp, which answers it, refusals included. The
//! answer is what rmcp writes: one `data:` event, or JSON with the status its error maps to.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, ErrorCode, JsonObject, MetaObject, ProtocolVersion, RequestId,
    RequestMetaObject,
};

use super::HttpState;
use super::reply::{self, Era, Outcome};
use super::sse::{CommonMessage, Decoded};
use crate::auth::RequestMeta;
use crate::telemetry::trace::headers::{
    MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, MCP_SESSION_ID,
};

/// A `tools/call` of the stateless era that this path answers.
pub(super) struct StatelessCall {
    id: RequestId,
    params: CallToolRequestParams,
    meta: JsonObject,
}

/// The only value of a header, when it is sent exactly once. Named by a `HeaderName`
/// constant: a `&str` name would be parsed and checked on every lookup.
pub(super) fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a [u8]> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first.as_bytes())
}

/// `Accept` sent once, as a plain list naming both JSON and SSE (no parameters, weights or
/// quoting: a value with any of those is left to rmcp's full parsing).
pub(super) fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let Some(accept) = single(headers, &header::ACCEPT) else {
        return false;
    };
    // What clients send, in either order, checked without splitting.
    if matches!(
        accept,
        b"application/json, text/event-stream" | b"text/event-stream, application/json"
    ) {
        return true;
    }
    let Ok(accept) = std::str::from_utf8(accept) else {
        return false;
    };
    if accept.contains([';', '"']) {
        return false;
    }
    let has = |wanted: &str| {
        accept
            .split(',')
            .any(|e| e.trim().eq_ignore_ascii_case(wanted))
    };
    has("application/json") && has("text/event-stream")
}

/// A `Content-Type` whose essence is JSON, read as rmcp reads it.
pub(super) fn is_json(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// The request if it is a stateless-era `tools/call` this path may answer, moved out of the
/// request's extensions (where the checks in front of the transports left it decoded).
pub(super) fn take(request: &mut Request) -> Option<StatelessCall> {
    let headers = request.headers();
    let plain = request.method() == Method::POST
        && request.uri().path() == "/mcp"
        && !headers.contains_key(MCP_SESSION_ID)
        && accepts_json_and_sse(headers)
        && single(headers, &header::CONTENT_TYPE).is_some_and(is_json)
        && single(headers, &MCP_PROTOCOL_VERSION)
            .is_some_and(|v| v == ProtocolVersion::V_2026_07_28.as_str().as_bytes())
        && single(headers, &MCP_METHOD).is_some_and(|v| v == b"tools/call")
        && !headers
            .keys()
            .any(|name| name.as_str().starts_with("mcp-param-"));
    if !plain {
        return None;
    }
    let Some(Decoded(Some(CommonMessage::Call(id, params, Some(meta))))) =
        request.extensions_mut().remove::<Decoded>()
    else {
        return None;
    };
    let headers = request.headers();
    if single(headers, &MCP_NAME) != Some(params.name.as_bytes()) {
        return None;
    }
    let request_meta = RequestMetaObject(MetaObject(meta));
    let revision = ProtocolVersion::V_2026_07_28;
    // A call that asked for progress is answered with a stream of notifications: rmcp's.
    let complete = request_meta.protocol_version().as_ref() == Some(&revision)
        && request_meta.missing_required_keys(&revision).is_empty()
        && !request_meta.0.contains_key("progressToken");
    complete.then_some(StatelessCall {
        id,
        params,
        meta: request_meta.0.0,
    })
}

/// Runs the call and answers it as rmcp does: `200` with one SSE event, or, for an error that
/// the revision maps to an HTTP status, that status with the message as JSON.
pub(super) async fn answer(state: &HttpState, meta: &RequestMeta, call: StatelessCall) -> Response {
    let app = &state.app;
    let StatelessCall {
        id,
        params,
        meta: call_meta,
    } = call;
    let result = app
        .shutdown
        .run_call(app.call_tool(Some(meta), &id, params, Some(&call_meta), None))
        .await;
    let outcome = Outcome::from(&result);
    let status = match outcome.error_code().map(ErrorCode) {
        Some(
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
            | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
            | ErrorCode::HEADER_MISMATCH,
        ) => StatusCode::BAD_REQUEST,
        Some(ErrorCode::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let (prefix, suffix, content_type): (&[u8], &[u8], _) = match status {
        StatusCode::OK => (b"data: ", b"\n\n", "text/event-stream"),
        _ => (b"", b"", "application/json"),
    };
    let Some(body) = reply::frame(
        prefix,
        &id,
        outcome,
        Era::Stateless,
        suffix,
        &meta.request_id,
    ) else {
        return super::json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
