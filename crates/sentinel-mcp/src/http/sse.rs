//! The legacy HTTP+SSE transport (MCP 2024-11-05): `GET /sse` opens an event stream whose first
//! event names the POST endpoint; `POST /messages?sessionId=…` carries one JSON-RPC message, and
//! the response goes out on the stream. rmcp has no server for it, so it is ours, and so is its
//! dispatch: a session is only a registry entry and its stream (no per-session rmcp service, no
//! task, no internal channels), which keeps an idle session small. The JSON-RPC model types,
//! initialize negotiation and the tool logic are the same ones the Streamable HTTP path uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, Stream};
use rmcp::ErrorData;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientNotification, ClientRequest, ErrorCode,
    InitializeRequestParams, JsonRpcVersion2_0, ListToolsResult, RequestId, ServerResult,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::task::AbortHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::{HttpState, json_error, jsonrpc_error};
use crate::auth::RequestMeta;
use crate::server::SentinelServer;
use crate::tools::ToolAnswer;

/// Events a session buffers before a sender waits for the client to read.
const CHANNEL_DEPTH: usize = 8;
/// Closed sessions after which, once closing pauses, freed heap pages go back to the OS.
const TRIM_AFTER_CLOSES: usize = 1000;
/// How often the trimmer looks whether a burst of closes has ended.
const TRIM_CHECK_EVERY: Duration = Duration::from_millis(500);

/// A live session: its stream, its owner and its tool calls in progress.
struct Session {
    /// `event: message` frames for the stream, already serialized.
    outbound: mpsc::Sender<Bytes>,
    /// Tenant and object id of the principal that opened it.
    owner: Box<str>,
    /// Tool calls in progress, so `notifications/cancelled` or a disconnect can stop them.
    in_flight: Mutex<HashMap<RequestId, AbortHandle>>,
}

/// What a response to a request carries.
enum Outcome<'a> {
    Result(&'a ServerResult),
    Tool(&'a ToolAnswer),
    Error(&'a ErrorData),
}

impl<'a> From<&'a Result<ServerResult, ErrorData>> for Outcome<'a> {
    fn from(r: &'a Result<ServerResult, ErrorData>) -> Outcome<'a> {
        r.as_ref().map_or_else(Outcome::Error, Outcome::Result)
    }
}

impl Outcome<'_> {
    /// Appends `"result":…` or `"error":…` of the response message.
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Outcome::Result(r) => {
                out.extend_from_slice(b"\"result\":");
                serde_json::to_writer(out, r)
            }
            Outcome::Tool(answer) => {
                out.extend_from_slice(b"\"result\":");
                answer.write_json(out)
            }
            Outcome::Error(e) => {
                out.extend_from_slice(b"\"error\":");
                serde_json::to_writer(out, e)
            }
        }
    }
}

/// The `event: message` frame of a JSON-RPC response, written straight into one buffer.
fn response_frame(id: &RequestId, outcome: Outcome<'_>) -> serde_json::Result<Bytes> {
    let mut frame = Vec::with_capacity(512);
    frame.extend_from_slice(b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":");
    serde_json::to_writer(&mut frame, id)?;
    frame.push(b',');
    outcome.write(&mut frame)?;
    frame.extend_from_slice(b"}\n\n");
    Ok(Bytes::from(frame))
}

impl Session {
    /// Sends a response (or error) to the stream; a closed stream just drops it.
    async fn reply(&self, id: &RequestId, outcome: Outcome<'_>) {
        match response_frame(id, outcome) {
            Ok(frame) => {
                let _ = self.outbound.clone().send(frame).await;
            }
            Err(e) => tracing::error!(error = %e, "could not encode a response"),
        }
    }

    fn abort_all(&self) {
        if let Ok(mut calls) = self.in_flight.lock() {
            calls.drain().for_each(|(_, h)| h.abort());
        }
    }
}

/// Live legacy SSE sessions by id.
#[derive(Default)]
pub struct SseSessions {
    sessions: Mutex<HashMap<Box<str>, Arc<Session>>>,
    /// Sessions closed since the trimmer last looked.
    closed: AtomicUsize,
}

impl SseSessions {
    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.sessions.lock().map_or(0, |s| s.len())
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, id: &str, session: Arc<Session>) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(id.into(), session);
        }
    }

    fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.sessions.lock().ok()?.remove(id)?;
        self.closed.fetch_add(1, Ordering::Relaxed);
        Some(session)
    }

    /// The session, if it exists and belongs to `owner`.
    fn get(&self, id: &str, owner: &str) -> Option<Arc<Session>> {
        let sessions = self.sessions.lock().ok()?;
        let session = sessions.get(id)?;
        (*session.owner == *owner).then(|| session.clone())
    }
}

/// Once a burst of at least [`TRIM_AFTER_CLOSES`] closed sessions has ended (a check without new
/// closes), hands the free heap pages glibc keeps back to the OS, until `stop`. Without it the
/// buffers of 15,000 closed idle sessions stay resident (~100 MB) until the heap is reused.
pub async fn trim_after_session_closes(state: Arc<HttpState>, stop: CancellationToken) {
    let mut pending = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TRIM_CHECK_EVERY) => {}
            _ = stop.cancelled() => return,
        }
        let closed = state.sse.closed.swap(0, Ordering::Relaxed);
        pending += closed;
        if closed == 0 && pending >= TRIM_AFTER_CLOSES {
            pending = 0;
            let _ = tokio::task::spawn_blocking(crate::heap::release_free).await;
        }
    }
}

/// `GET /sse`: opens a session and streams its messages.
pub async fn open(
    State(state): State<Arc<HttpState>>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let session = Session {
        outbound: out_tx,
        owner: meta.principal.owner_key().into(),
        in_flight: Mutex::default(),
    };
    state.sse.insert(&id, Arc::new(session));
    tracing::debug!(session_id = id, "legacy SSE session opened");
    let body = SseBody {
        endpoint: Some(Bytes::from(format!(
            "event: endpoint\ndata: /messages?sessionId={id}\n\n"
        ))),
        outbound: out_rx,
        keepalive: keepalive_timer(state.keepalive),
        shutdown: Box::pin(state.shutdown.clone().cancelled_owned()),
        _guard: SessionGuard {
            id,
            state: state.clone(),
        },
    };
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn keepalive_timer(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// Ends a session when its stream goes away, however that happens.
struct SessionGuard {
    id: String,
    state: Arc<HttpState>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(session) = self.state.sse.remove(&self.id) {
            session.abort_all();
        }
        tracing::debug!(session_id = self.id, "legacy SSE session closed");
    }
}

/// The event stream of one session: the endpoint event, then messages and keep-alives.
struct SseBody {
    endpoint: Option<Bytes>,
    outbound: mpsc::Receiver<Bytes>,
    keepalive: tokio::time::Interval,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    _guard: SessionGuard,
}

impl Stream for SseBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.endpoint.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if self.shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.outbound).poll_next(cx) {
            Poll::Ready(Some(event)) => {
                self.keepalive.reset();
                return Poll::Ready(Some(Ok(event)));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if self.keepalive.poll_tick(cx).is_ready() {
            return Poll::Ready(Some(Ok(Bytes::from_static(b": keep-alive\n\n"))));
        }
        Poll::Pending
    }
}

/// Query of `POST /messages`: `sessionId` (also accepted as `session_id`).
#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id_camel: Option<String>,
    session_id: Option<String>,
}

/// Whether a request's `Content-Type` is JSON, read without copying the headers.
pub struct JsonContentType(bool);

impl<S: Send + Sync> FromRequestParts<S> for JsonContentType {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(JsonContentType(is_json(&parts.headers)))
    }
}

/// `POST /messages?sessionId=…`: one JSON-RPC message into the session; 202 when accepted.
pub async fn post(
    State(state): State<Arc<HttpState>>,
    Extension(meta): Extension<RequestMeta>,
    Query(q): Query<MessageQuery>,
    JsonContentType(json): JsonContentType,
    body: Bytes,
) -> Response {
    let Some(id) = q
        .session_id_camel
        .or(q.session_id)
        .filter(|s| !s.is_empty())
    else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "missing sessionId query parameter; use the endpoint sent by GET /sse",
        );
    };
    // Someone else's session is answered exactly like a missing one.
    let Some(session) = state.sse.get(&id, &meta.principal.owner_key()) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "session not found; it may have ended, open a new one with GET /sse",
        );
    };
    if !json {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    match common_message(&body) {
        Some(CommonMessage::Call(id, params)) => start_call(&state, &session, id, params, meta),
        Some(CommonMessage::Initialize(id, params)) => {
            initialize(&state, &session, &id, &params).await
        }
        // Nothing to do: the session is ready once initialize is answered.
        Some(CommonMessage::Initialized) => {}
        None => {
            let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
                Ok(m) => m,
                Err(e) => return invalid_message(&body, e),
            };
            dispatch(&state, &session, message, meta).await;
        }
    }
    StatusCode::ACCEPTED.into_response()
}

/// Handles one client message of a session; responses go to the session's stream.
async fn dispatch(
    state: &Arc<HttpState>,
    session: &Arc<Session>,
    message: ClientJsonRpcMessage,
    meta: RequestMeta,
) {
    match message {
        ClientJsonRpcMessage::Request(request) => {
            let id = request.id;
            match request.request {
                ClientRequest::InitializeRequest(r) => {
                    initialize(state, session, &id, &r.params).await
                }
                ClientRequest::PingRequest(_) => {
                    session
                        .reply(&id, Outcome::Result(&ServerResult::empty(())))
                        .await
                }
                ClientRequest::ListToolsRequest(_) => {
                    let tools = ListToolsResult::with_all_items(state.app.tools_for(Some(&meta)));
                    session
                        .reply(&id, Outcome::Result(&ServerResult::ListToolsResult(tools)))
                        .await;
                }
                ClientRequest::CallToolRequest(r) => start_call(state, session, id, r.params, meta),
                other => {
                    let method = other.method().to_string();
                    let error = ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method, None);
                    session.reply(&id, Outcome::Error(&error)).await;
                }
            }
        }
        ClientJsonRpcMessage::Notification(n) => {
            if let ClientNotification::CancelledNotification(c) = n.notification
                && let Some(request_id) = c.params.request_id
                && let Ok(mut calls) = session.in_flight.lock()
                && let Some(call) = calls.remove(&request_id)
            {
                call.abort();
            }
        }
        // Responses and errors answer requests we never send.
        ClientJsonRpcMessage::Response(_) | ClientJsonRpcMessage::Error(_) => {}
    }
}

/// Answers `initialize` with the negotiated protocol version and the server's capabilities.
async fn initialize(
    state: &Arc<HttpState>,
    session: &Session,
    id: &RequestId,
    params: &InitializeRequestParams,
) {
    let server = SentinelServer::new(state.app.clone());
    let result = server
        .negotiate_initialize(params)
        .map(ServerResult::InitializeResult);
    session.reply(id, (&result).into()).await;
}

/// Starts a tool call beside the session, so a slow query does not hold up the POST; the
/// response goes to the stream.
fn start_call(
    state: &Arc<HttpState>,
    session: &Arc<Session>,
    id: RequestId,
    params: CallToolRequestParams,
    meta: RequestMeta,
) {
    let (app, call_session, call_id) = (state.app.clone(), session.clone(), id.clone());
    let Ok(mut calls) = session.in_flight.lock() else {
        return;
    };
    let task = tokio::spawn(async move {
        let result = app.call_tool(Some(&meta), params).await;
        call_session
            .reply(
                &call_id,
                result.as_ref().map_or_else(Outcome::Error, Outcome::Tool),
            )
            .await;
        if let Ok(mut calls) = call_session.in_flight.lock() {
            calls.remove(&call_id);
        }
    });
    calls.insert(id, task.abort_handle());
}

/// The messages every session sends, decoded straight from their fields.
enum CommonMessage {
    Call(RequestId, CallToolRequestParams),
    Initialize(RequestId, InitializeRequestParams),
    Initialized,
}

/// A `tools/call`, `initialize` or `notifications/initialized` message in exactly a shape rmcp
/// decodes to the same message, decoded without rmcp's generic message types (which buffer the
/// message and try each variant in turn). Anything else, including any unexpected field, is left
/// to the generic decoding.
fn common_message(body: &[u8]) -> Option<CommonMessage> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request<'a> {
        #[serde(rename = "jsonrpc")]
        _version: JsonRpcVersion2_0,
        id: RequestId,
        #[serde(borrow)]
        method: &'a str,
        #[serde(borrow)]
        params: &'a RawValue,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Notification<'a> {
        #[serde(rename = "jsonrpc")]
        _version: JsonRpcVersion2_0,
        #[serde(borrow)]
        method: &'a str,
    }
    // rmcp moves `_meta` out of the params into the request's extensions.
    if let Ok(request) = serde_json::from_slice::<Request>(body) {
        let params = request.params.get();
        return match request.method {
            "tools/call" => {
                let mut params: CallToolRequestParams = serde_json::from_str(params).ok()?;
                params.meta = None;
                Some(CommonMessage::Call(request.id, params))
            }
            "initialize" => {
                let mut params: InitializeRequestParams = serde_json::from_str(params).ok()?;
                params.meta = None;
                Some(CommonMessage::Initialize(request.id, params))
            }
            _ => None,
        };
    }
    let notification: Notification = serde_json::from_slice(body).ok()?;
    (notification.method == "notifications/initialized").then_some(CommonMessage::Initialized)
}

/// Why a body is not a message we take: not JSON (-32700), a batch or not JSON-RPC (-32600).
fn invalid_message(body: &[u8], error: serde_json::Error) -> Response {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Err(e) => jsonrpc_error(
            StatusCode::BAD_REQUEST,
            -32700,
            &format!("Parse error: {e}"),
        ),
        Ok(v) if v.is_array() => jsonrpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: JSON-RPC batches are not supported",
        ),
        Ok(_) => jsonrpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            &format!("Invalid Request: not a JSON-RPC 2.0 message: {error}"),
        ),
    }
}

/// The session id in a `/messages` query string (`sessionId` or `session_id`).
pub fn session_id_from_query(query: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "sessionId" || k == "session_id").then(|| v.to_string())
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}
