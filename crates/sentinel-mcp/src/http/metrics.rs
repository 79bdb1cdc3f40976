//! `GET /metrics`: the registry in OpenMetrics text, behind `SENTINEL_MCP_METRICS_TOKEN` when set.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::{HttpState, json_error};
use crate::metrics::{Transport, metrics};

/// The content type of OpenMetrics text (Prometheus reads it, and so does Azure Monitor's
/// managed Prometheus).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the request carries the metrics token, compared in constant time.
fn authorized(expected: &str, headers: &HeaderMap) -> bool {
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .unwrap_or("");
    bool::from(offered.as_bytes().ct_eq(expected.as_bytes()))
}

pub(super) async fn serve(State(state): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token
        && !authorized(token.expose(), &headers)
    {
        let mut refused = json_error(
            StatusCode::UNAUTHORIZED,
            "/metrics needs Authorization: Bearer <SENTINEL_MCP_METRICS_TOKEN>",
        );
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return refused;
    }
    let m = metrics();
    m.set_sessions_active(Transport::LegacySse, state.sse.len());
    m.set_sessions_active(Transport::Streamable, state.mcp_sessions.len());
    let app = &state.app;
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    m.tool_calls_running.set(count(app.limits.calls.running()));
    m.tool_calls_waiting.set(count(app.limits.calls.waiting()));
    if let Some(azure) = app.context.backend.query_slots() {
        m.azure_queries_running.set(count(azure.running()));
        m.azure_queries_waiting.set(count(azure.waiting()));
    }
    m.rate_limit_buckets.set(count(app.limits.rate.buckets()));
    m.uptime_seconds
        .set(i64::try_from(app.started.elapsed().as_secs()).unwrap_or(i64::MAX));
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))],
        m.encode(),
    )
        .into_response()
}
