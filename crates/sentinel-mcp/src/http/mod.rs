//! The HTTP side: one router (probes, legacy SSE, Streamable HTTP) and the connection loop.

pub mod auth;
pub mod client;
mod conn;
pub mod cors;
pub mod heap;
mod host_origin;
pub mod mcp_sessions;
mod metrics;
pub mod quota;
mod reply;
mod request_id;
mod session_era;
pub mod sse;
mod stateless;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, OnResponse, TraceLayer};

use crate::auth::RequestMeta;
use crate::backend::Readiness;
use crate::metrics::{InFlight, Transport, metrics};
use crate::server::{AppState, SERVER_NAME, SentinelServer, VERSION};
use crate::shutdown::Work;
use crate::telemetry::LogContext;
use crate::telemetry::trace::TraceParent;
use crate::telemetry::trace::headers::{MCP_SESSION_ID, TRACEPARENT, TRACESTATE, X_REQUEST_ID};
use axum::http::HeaderName;
pub use conn::{ConnectionLimits, RESERVE_CONNECTIONS, serve};
pub use host_origin::HostOriginPolicy;

/// `Retry-After` of a new session refused while the server drains.
const RETRY_AFTER_DRAINING_SECS: u64 = 5;
/// `Retry-After` of a new session refused over the principal's session quota.
const RETRY_AFTER_QUOTA_SECS: u64 = 30;

/// Everything the HTTP handlers share.
pub struct HttpState {
    pub app: Arc<AppState>,
    pub sse: sse::SseSessions,
    pub keepalive: Duration,
    pub host_policy: HostOriginPolicy,
    pub cors: cors::CorsPolicy,
    pub max_body_bytes: usize,
    /// `SENTINEL_MCP_METRICS_TOKEN`: the bearer token `/metrics` asks for, when set.
    pub metrics_token: Option<crate::secret::Secret>,
    /// `SENTINEL_MCP_METRICS`: whether `/metrics` is served.
    pub metrics_enabled: bool,
    /// Bearer token validation; `None` when authentication is off.
    pub authenticator: Option<auth::Authenticator>,
    /// Set with SENTINEL_MCP_AZURE_ACCESS=on-behalf-of: how callers get their own Azure access.
    pub caller_access: Option<crate::azure::access::CallerAccess>,
    /// Streamable HTTP sessions, who owns each and their quota slots.
    pub mcp_sessions: Arc<mcp_sessions::McpSessions>,
    /// Open sessions per client key (`SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL`).
    pub session_quota: Arc<quota::SessionQuota>,
    /// How long a session may go without a request; `None` is forever.
    pub session_idle: Option<Duration>,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client::TrustedProxies,
    /// The other replicas, through Redis (`SENTINEL_MCP_REDIS_URL`).
    #[cfg(feature = "redis")]
    pub replicas: Option<Arc<crate::replicas::Replicas>>,
}

impl HttpState {
    /// Whether the session is open on this replica, on either transport.
    pub fn holds(&self, session: &str) -> bool {
        self.sse.contains(session) || self.mcp_sessions.contains(session)
    }
}

/// The one router: probes, metrics, legacy SSE and Streamable HTTP, with the tower layers in order.
pub fn router(state: Arc<HttpState>) -> Router {
    // Cancelled only once the drain is done, so running calls finish and reach their streams.
    let config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(state.keepalive))
        .with_cancellation_token(state.app.shutdown.closed().child_token())
        .with_max_request_body_bytes(state.max_body_bytes);
    let config = state.host_policy.apply_to(config);
    let app = state.app.clone();
    // Behind an Arc: the router clones a route's service for every request, and rmcp's service
    // (its config, hosts and origins included) is cloned only for the requests it answers.
    let mcp = Arc::new(StreamableHttpService::new(
        move || Ok(SentinelServer::new(app.clone())),
        state.mcp_sessions.clone(),
        config,
    ));
    let rmcp_answers = move |request: Request| {
        let mcp = StreamableHttpService::clone(&mcp);
        async move { mcp.oneshot(request).await.into_response() }
    };

    let check = axum::middleware::from_fn_with_state(state.clone(), check_mcp_request);
    let mcp_routes = Router::new()
        .route("/mcp", any(rmcp_answers))
        .route_layer(check.clone())
        // A method router's own layer also covers its 405 answer, so OPTIONS reaches the checks.
        .route("/sse", get(sse::open).layer(check.clone()))
        .route("/messages", post(sse::post).layer(check.clone()))
        .route("/messages/", post(sse::post).layer(check));

    let probes = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    let probes = match state.metrics_enabled {
        true => probes.route("/metrics", get(metrics::serve)),
        false => probes,
    };
    let routes = probes
        .route(
            "/.well-known/oauth-protected-resource",
            get(auth::protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(auth::protected_resource),
        )
        .merge(mcp_routes)
        .fallback(|| async {
            json_error(
                StatusCode::NOT_FOUND,
                "no such endpoint; MCP is served at /sse (legacy) and /mcp",
            )
        })
        .with_state(state.clone());
    // The layers every request passes, outermost first, stacked around the routes as one service:
    // `Router::layer` boxes each layer around each route, and the router clones a route's boxes
    // for every request (36 allocations a request with these six).
    let layers = ServiceBuilder::new()
        .layer(request_id::RequestIdLayer)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::debug_span!("request", method = %req.method(), path = req.uri().path(), request_id = id)
                })
                // Every 413, the body limit layer's own included, passes here.
                .on_response(|response: &axum::http::Response<_>, latency, span: &tracing::Span| {
                    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        metrics().rejected("body_size");
                    }
                    DefaultOnResponse::new().on_response(response, latency, span)
                })
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(CatchPanicLayer::custom(|_| json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")))
        .layer(RequestBodyLimitLayer::new(state.max_body_bytes));
    Router::new().fallback_service(layers.service(routes))
}

/// The checks in front of the MCP endpoints, in order: Host/Origin, CORS preflight,
/// authentication, session ownership, the JSON-RPC checks, admission of a new session, then the
/// transport; every answer, refusals included, leaves with the response headers of an MCP
/// endpoint. One middleware rather than a layer each: every layer adds a boxed service clone and
/// future to each request.
/// Asks a proxy in front (nginx) not to buffer an event stream. A constant: a name given as text
/// is parsed and copied on every insert.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

async fn check_mcp_request(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    let cors_origin = state.cors.allowed_origin(request.headers());
    let context = Arc::new(request_context(&request));
    let mut response = crate::telemetry::in_request(
        context,
        tracing::Span::none(),
        checked_mcp_request(&state, request, next),
    )
    .await
    .unwrap_or_else(|refused| refused);
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    {
        headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    }
    state.cors.decorate(headers, cors_origin);
    response
}

/// The session a request names: `Mcp-Session-Id` on `/mcp`, `sessionId` on `/messages`.
fn named_session(request: &Request) -> Option<String> {
    let header = request
        .headers()
        .get(MCP_SESSION_ID)
        .and_then(|v| v.to_str().ok());
    match header {
        Some(id) => Some(id.to_string()),
        None => request.uri().query().and_then(sse::session_id_from_query),
    }
}

/// What the log lines of an HTTP request carry before it reaches MCP, and what its `RequestMeta`
/// is made from: its request id, the session it names, and the trace context its `traceparent`
/// (and `tracestate`) name. Read from the headers once.
pub(crate) fn request_context(request: &Request) -> LogContext {
    let headers = request.headers();
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let session = named_session(request);
    let parent = text(TRACEPARENT).and_then(|parent| TraceParent::parse(parent, text(TRACESTATE)));
    LogContext::new(
        text(X_REQUEST_ID).unwrap_or_default().to_string(),
        session.as_deref(),
        None,
        None,
    )
    .with_parent(parent)
}

async fn checked_mcp_request(
    state: &Arc<HttpState>,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    host_origin::check_host_and_origin(state, &request).map_err(IntoResponse::into_response)?;
    if request.method() == Method::OPTIONS {
        return Ok(state.cors.preflight(&request));
    }
    // A session another replica holds: that replica answers, through Redis.
    #[cfg(feature = "redis")]
    if let Some(replicas) = &state.replicas
        && request
            .extensions()
            .get::<crate::replicas::relay::Relayed>()
            .is_none()
        && let Some(session) = named_session(&request)
        && !state.holds(&session)
    {
        return Ok(replicas.relay(&session, request).await);
    }
    let request = auth::authenticate(state, request).await?;
    let claim =
        mcp_sessions::SessionClaim::check(state, &request).map_err(IntoResponse::into_response)?;
    let (mut request, carried) = auth::inspect_jsonrpc(state, request).await?;
    let opens_mcp_session = carried == auth::Carried::Request { initialize: true }
        && claim.is_sessionless()
        && request.uri().path().starts_with("/mcp");
    let slot = match request.extensions().get::<RequestMeta>() {
        Some(meta) if opens_mcp_session => admit_session(state, meta)
            .await
            .map_err(IntoResponse::into_response)?,
        _ => None,
    };
    // A request is in flight until its answer is written, so the drain waits for it. Legacy SSE
    // answers on its stream: `sse::post` counts its requests in flight.
    let work = matches!(carried, auth::Carried::Request { .. }).then(|| {
        let streamable = request.uri().path().starts_with("/mcp");
        (
            state.app.shutdown.work(),
            streamable.then(|| metrics().in_flight(Transport::Streamable)),
        )
    });
    // A session is busy until the answer to each of its POSTs is written; a GET stream is not
    // activity (it may stay open for hours).
    let session = match request.method() {
        &Method::POST => claim.session().and_then(|id| state.mcp_sessions.begin(id)),
        _ => None,
    };
    let response = if let Some(call) = stateless::take(&mut request)
        && let Some(meta) = request.extensions().get::<RequestMeta>()
    {
        stateless::answer(state, meta, call).await
    } else if let Some(call) = session_era::take(state, &mut request) {
        session_era::answer(state, call).await
    } else {
        let request = session_era::cancel_named_call(state, request).await;
        next.run(request).await
    };
    let opened = claim.opened_by(&response);
    claim.record(state, opened, slot).await;
    let (work, in_flight) = work.unzip();
    Ok(match (work, session) {
        (None, None) => response,
        (work, session) => response.map(|body| {
            Body::new(InFlightBody {
                body,
                _work: work,
                _in_flight: in_flight.flatten(),
                _session: session,
            })
        }),
    })
}

/// Why a new session may not open now.
pub(crate) enum NotAdmitted {
    /// The server drains: 503.
    Draining,
    /// The caller's key holds the most sessions allowed: 429.
    QuotaFull { max: usize },
}

impl IntoResponse for NotAdmitted {
    fn into_response(self) -> Response {
        match self {
            NotAdmitted::Draining => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                RETRY_AFTER_DRAINING_SECS,
                None,
                "the server is shutting down and takes no new sessions; open the session again",
            ),
            NotAdmitted::QuotaFull { max } => retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                RETRY_AFTER_QUOTA_SECS,
                Some("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL"),
                &format!(
                    "this principal already holds {max} open sessions, the most SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL allows; close one (DELETE it or end its stream) or let an idle one expire"
                ),
            ),
        }
    }
}

/// Whether a new session (`GET /sse`, `initialize` on `/mcp`) may open: not while the server
/// drains, nor when the caller's key holds `SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL` sessions.
/// The slot returned goes with the session and frees its place when the session ends.
/// With replicas, the quota counts the key's sessions on every replica (through Redis; the
/// replica's own count when Redis cannot be asked).
pub(crate) async fn admit_session(
    state: &HttpState,
    meta: &RequestMeta,
) -> Result<Option<quota::SessionSlot>, NotAdmitted> {
    if state.app.shutdown.is_draining() {
        metrics().rejected("draining");
        return Err(NotAdmitted::Draining);
    }
    let refuse = |max: usize| {
        metrics().rejected("session_quota");
        tracing::warn!(
            limit_key = meta.limit_key,
            request_id = meta.request_id,
            max,
            "new session refused: the principal's session quota is full"
        );
        NotAdmitted::QuotaFull { max }
    };
    let slot = state
        .session_quota
        .acquire(&meta.limit_key)
        .map_err(|full| refuse(full.max))?;
    #[cfg(feature = "redis")]
    let slot = match (&state.replicas, slot) {
        (Some(replicas), Some(mut slot)) => {
            use crate::replicas::limits::Admission;
            let max = state.session_quota.max();
            match replicas.admit(&meta.limit_key, max).await {
                Admission::Admitted(shared) => slot.shared = Some(shared),
                Admission::Full => return Err(refuse(max)),
                Admission::Unknown => {}
            }
            Some(slot)
        }
        (_, slot) => slot,
    };
    Ok(slot)
}

impl HttpState {
    /// The per-principal rate limit on `tools/call`: across replicas through Redis when it is
    /// on (the replica's own bucket when Redis cannot be asked).
    pub(crate) async fn check_rate(
        &self,
        meta: &RequestMeta,
    ) -> Result<(), crate::limits::RateLimited> {
        let rate = &self.app.limits.rate;
        #[cfg(feature = "redis")]
        if let (Some(replicas), Some((per_second, burst))) = (&self.replicas, rate.setting()) {
            use crate::replicas::limits::Verdict;
            match replicas
                .take_token(&meta.limit_key, per_second, burst)
                .await
            {
                Verdict::Allowed => return Ok(()),
                Verdict::Limited(wait_ms) => {
                    metrics().refused_call("rate_limit");
                    return Err(crate::limits::RateLimited {
                        retry_after_secs: wait_ms.div_ceil(1000).max(1),
                    });
                }
                Verdict::Unknown => {}
            }
        }
        rate.check(meta)
    }
}

/// A response body that counts as in-flight work until it is written (or dropped).
struct InFlightBody {
    body: Body,
    _work: Option<Work>,
    _in_flight: Option<InFlight>,
    /// The session stays busy (not idle) until the body ends.
    _session: Option<mcp_sessions::SessionRequest>,
}

impl http_body::Body for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
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
    if state.app.shutdown.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "draining"})),
        )
            .into_response();
    }
    let backend = &state.app.context.backend;
    let (status, body) = match backend.readiness() {
        Readiness::Ready => (
            StatusCode::OK,
            json!({"status": "ready", "backend": {"kind": backend.kind(), "status": "ready"}}),
        ),
        Readiness::NotReady(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not_ready", "backend": {"kind": backend.kind(), "status": "not_ready", "reason": reason}}),
        ),
    };
    // Redis down does not make a replica unready: it serves the sessions it holds.
    #[cfg(feature = "redis")]
    let body = match &state.replicas {
        Some(replicas) => {
            let mut body = body;
            body["redis"] = json!(if replicas.is_healthy() {
                "ok"
            } else {
                "degraded"
            });
            body["replica"] = json!(replicas.id());
            body
        }
        None => body,
    };
    (status, axum::Json(body)).into_response()
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

/// A refusal to retry later: the status, `Retry-After`, and `{"error": …, "limit": …}` naming
/// the setting that refused it, when one did.
pub(crate) fn retry_later(
    status: StatusCode,
    retry_after_secs: u64,
    limit: Option<&str>,
    message: &str,
) -> Response {
    let body = match limit {
        Some(limit) => json!({"error": message, "limit": limit}),
        None => json!({"error": message}),
    };
    (
        status,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        axum::Json(body),
    )
        .into_response()
}
