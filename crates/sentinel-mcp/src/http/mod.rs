//! The HTTP side: one router (probes, legacy SSE, Streamable HTTP) and the connection loop.

pub mod auth;
mod guard;
pub mod owners;
pub mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::backend::Readiness;
use crate::server::{AppState, SERVER_NAME, SentinelServer, VERSION};
pub use guard::HostOriginPolicy;

/// How long a shutdown waits for open connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the HTTP handlers share.
pub struct HttpState {
    pub app: Arc<AppState>,
    pub sse: sse::SseSessions,
    pub keepalive: Duration,
    pub host_policy: HostOriginPolicy,
    pub max_body_bytes: usize,
    /// Cancelled on shutdown: ends every stream and session.
    pub shutdown: CancellationToken,
    pub rejected_requests: AtomicU64,
    /// Bearer token validation; `None` when authentication is off.
    pub authenticator: Option<auth::Authenticator>,
    /// Set with SENTINEL_MCP_AZURE_ACCESS=on-behalf-of: how callers get their own Azure access.
    pub caller_access: Option<crate::azure::access::CallerAccess>,
    /// Streamable HTTP sessions and who owns each.
    pub mcp_sessions: Arc<LocalSessionManager>,
    pub mcp_owners: Arc<owners::SessionOwners>,
}

/// The one router: probes, metrics, legacy SSE and Streamable HTTP, with the tower layers in order.
pub fn router(state: Arc<HttpState>) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(state.keepalive))
        .with_cancellation_token(state.shutdown.child_token())
        .with_max_request_body_bytes(state.max_body_bytes);
    let config = state.host_policy.apply_to(config);
    let app = state.app.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(SentinelServer::new(app.clone())),
        state.mcp_sessions.clone(),
        config,
    );

    let mcp_routes = Router::new()
        .route("/sse", get(sse::open))
        .route("/messages", post(sse::post))
        .route("/messages/", post(sse::post))
        .nest_service("/mcp", mcp)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            check_mcp_request,
        ));

    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/.well-known/oauth-protected-resource", get(auth::protected_resource))
        .route("/.well-known/oauth-protected-resource/{*path}", get(auth::protected_resource))
        .merge(mcp_routes)
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such endpoint; MCP is served at /sse (legacy) and /mcp") })
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(state.max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::debug_span!("request", method = %req.method(), path = req.uri().path(), request_id = id)
                })
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The checks in front of the MCP endpoints, in order: Host/Origin, authentication, session
/// ownership, the JSON-RPC checks, then the transport. One middleware rather than a layer each:
/// every layer adds a boxed service clone and future to each request.
async fn check_mcp_request(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    let checked = async {
        guard::check_host_and_origin(&state, &request).map_err(IntoResponse::into_response)?;
        let request = auth::authenticate(&state, request).await?;
        let claim =
            owners::SessionClaim::check(&state, &request).map_err(IntoResponse::into_response)?;
        let response = match auth::inspect_jsonrpc(&state, request).await {
            Ok(request) => next.run(request).await,
            Err(refused) => refused,
        };
        claim.record(&state, &response);
        Ok::<_, Response>(response)
    };
    checked.await.unwrap_or_else(|refused| refused)
}

async fn health(State(state): State<Arc<HttpState>>) -> Response {
    axum::Json(json!({
        "status": "healthy",
        "server": SERVER_NAME,
        "transport": state.app.transport.name(),
        "version": VERSION,
        "uptime_seconds": state.app.started.elapsed().as_secs(),
    }))
    .into_response()
}

async fn ready(State(state): State<Arc<HttpState>>) -> Response {
    let backend = &state.app.context.backend;
    match backend.readiness() {
        Readiness::Ready => (StatusCode::OK, axum::Json(json!({"status": "ready", "backend": {"kind": backend.kind(), "status": "ready"}}))).into_response(),
        Readiness::NotReady(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "backend": {"kind": backend.kind(), "status": "not_ready", "reason": reason}})),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let body = format!(
        "# HELP sentinel_mcp_sessions Open MCP sessions by transport.\n# TYPE sentinel_mcp_sessions gauge\nsentinel_mcp_sessions{{transport=\"sse\"}} {}\n\
         # HELP sentinel_mcp_rejected_requests_total Requests refused by the Host/Origin policy.\n# TYPE sentinel_mcp_rejected_requests_total counter\nsentinel_mcp_rejected_requests_total {}\n\
         # HELP sentinel_mcp_uptime_seconds Seconds since start.\n# TYPE sentinel_mcp_uptime_seconds gauge\nsentinel_mcp_uptime_seconds {}\n",
        state.sse.len(),
        state.rejected_requests.load(Ordering::Relaxed),
        state.app.started.elapsed().as_secs()
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

/// A JSON error body `{"error": …}` with a status.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// A JSON-RPC error object (id null) with an HTTP status, for messages that never reached a session.
pub(crate) fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}}),
        ),
    )
        .into_response()
}

/// Accepts connections until `shutdown`, each served by hyper's HTTP/1 connection with the
/// router as its service, at most `max_connections` at once; then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    max_connections: usize,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}
