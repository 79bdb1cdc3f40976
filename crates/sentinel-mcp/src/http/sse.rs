//! The legacy HTTP+SSE transport (MCP 2024-11-05): `GET /sse` opens an event stream whose first
//! event names the POST endpoint; `POST /messages?sessionId=…` carries one JSON-RPC message, and
//! the response goes out on the stream. rmcp has no server for it, so it is ours, and so is its
//! dispatch: a session is only a registry entry and its stream (no per-session rmcp service, no
//! task, no internal channels), which keeps an idle session small. The JSON-RPC model types,
//! initialize negotiation and the tool logic are the same ones the Streamable HTTP path uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
    InitializeRequestParams, JsonObject, JsonRpcVersion2_0, ListToolsResult, ProgressNotification,
    ProgressNotificationParam, RequestId, RequestMetaObject, ServerJsonRpcMessage,
    ServerNotification, ServerResult,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::task::AbortHandle;
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::heap::ClosedSessions;
use super::quota::SessionSlot;
use super::reply::{self, Era, Framed, Outcome};
use super::{HttpState, admit_session, json_error, jsonrpc_error};
use crate::auth::RequestMeta;
use crate::metrics::{InFlight, SessionEnd, Transport, metrics};
use crate::progress::Progress;
use crate::server::SentinelServer;

/// Events a session buffers before a sender waits for the client to read.
const CHANNEL_DEPTH: usize = 8;

/// A live session: its stream, its owner and its tool calls in progress.
struct Session {
    /// `event: message` frames for the stream, already serialized.
    outbound: mpsc::Sender<Framed>,
    /// Tenant and object id of the principal that opened it.
    owner: Box<str>,
    /// Tool calls in progress, so `notifications/cancelled` or a disconnect can stop them.
    in_flight: Mutex<HashMap<RequestId, AbortHandle>>,
    /// Seconds after the server's start of the session's last request (for the idle timeout).
    last_request: AtomicU32,
}

impl Session {
    /// Sends a response (or error) to the stream; a closed stream just drops it.
    async fn reply(&self, id: &RequestId, outcome: Outcome<'_>, request_id: &str) {
        let event = b"event: message\ndata: ";
        if let Some(frame) = reply::frame(event, id, outcome, Era::Legacy, b"\n\n", request_id) {
            let _ = self.outbound.clone().send(frame).await;
        }
    }

    /// Sends a call's progress to the stream; a closed stream just drops it.
    async fn notify(&self, progress: ProgressNotificationParam) {
        let notification = ServerJsonRpcMessage::notification(
            ServerNotification::ProgressNotification(ProgressNotification::new(progress)),
        );
        match serde_json::to_vec(&notification) {
            Ok(json) => {
                let mut frame = b"event: message\ndata: ".to_vec();
                frame.extend_from_slice(&json);
                frame.extend_from_slice(b"\n\n");
                let _ = self.outbound.clone().send(Bytes::from(frame).into()).await;
            }
            Err(e) => tracing::error!(error = %e, "a progress notification could not be encoded"),
        }
    }

    fn touch(&self, now: u32) {
        self.last_request.store(now, Ordering::Relaxed);
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
    /// Sessions closed since the heap trimmer last looked.
    pub(super) closed: ClosedSessions,
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
        self.closed.count();
        Some(session)
    }

    /// Whether the session is open here.
    pub fn contains(&self, id: &str) -> bool {
        self.sessions.lock().is_ok_and(|s| s.contains_key(id))
    }

    /// The session, if it exists and belongs to `owner`.
    fn get(&self, id: &str, owner: &str) -> Option<Arc<Session>> {
        let sessions = self.sessions.lock().ok()?;
        let session = sessions.get(id)?;
        (*session.owner == *owner).then(|| session.clone())
    }

    /// Whether the session has had no request for `idle` seconds and runs no call.
    fn is_idle(&self, id: &str, now: u32, idle: u32) -> bool {
        let Ok(sessions) = self.sessions.lock() else {
            return false;
        };
        sessions.get(id).is_some_and(|s| {
            now.saturating_sub(s.last_request.load(Ordering::Relaxed)) >= idle
                && s.in_flight.lock().is_ok_and(|calls| calls.is_empty())
        })
    }
}

/// Seconds since the server started: the clock of session idleness.
fn uptime_secs(state: &HttpState) -> u32 {
    u32::try_from(state.app.started.elapsed().as_secs()).unwrap_or(u32::MAX)
}

/// `GET /sse`: opens a session and streams its messages.
pub async fn open(
    State(state): State<Arc<HttpState>>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    let slot = match admit_session(&state, &meta).await {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (out_tx, out_rx) = mpsc::channel::<Framed>(CHANNEL_DEPTH);
    let session = Session {
        outbound: out_tx,
        owner: meta.principal.owner_key().into(),
        in_flight: Mutex::default(),
        last_request: AtomicU32::new(uptime_secs(&state)),
    };
    state.sse.insert(&id, Arc::new(session));
    // Registered before the client learns the id, so a POST for it on any replica finds it.
    #[cfg(feature = "redis")]
    if let Some(replicas) = &state.replicas {
        replicas
            .register(&id, "sse", &meta.principal.owner_key())
            .await;
    }
    metrics().session_opened(Transport::LegacySse);
    tracing::debug!(session_id = id, "legacy SSE session opened");
    let body = SseBody {
        endpoint: Some(Bytes::from(format!(
            "event: endpoint\ndata: /messages?sessionId={id}\n\n"
        ))),
        outbound: out_rx,
        sending: None,
        keepalive: keepalive_timer(state.keepalive),
        closed: Box::pin(state.app.shutdown.closed().clone().cancelled_owned()),
        guard: SessionGuard {
            id,
            state: state.clone(),
            _slot: slot,
            opened: Instant::now(),
            end: SessionEnd::ClientGone,
        },
    };
    // The MCP endpoints' middleware adds Cache-Control and X-Accel-Buffering.
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(body),
    )
        .into_response()
}

pub(super) fn keepalive_timer(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// Ends a session when its stream goes away, however that happens, and frees its quota slot.
struct SessionGuard {
    id: String,
    state: Arc<HttpState>,
    _slot: Option<SessionSlot>,
    opened: Instant,
    /// Why the session ends, once its stream does: the client going unless it idled out or the
    /// server closed it.
    end: SessionEnd,
}

impl SessionGuard {
    /// Whether the session has outlived `SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS` without a request.
    fn is_expired(&self) -> bool {
        let Some(idle) = self.state.session_idle else {
            return false;
        };
        let idle = u32::try_from(idle.as_secs()).unwrap_or(u32::MAX);
        self.state
            .sse
            .is_idle(&self.id, uptime_secs(&self.state), idle)
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(session) = self.state.sse.remove(&self.id) {
            session.abort_all();
            #[cfg(feature = "redis")]
            if let Some(replicas) = &self.state.replicas {
                replicas.deregister(&self.id);
            }
            metrics().session_closed(Transport::LegacySse, self.end, self.opened.elapsed());
        }
        tracing::debug!(session_id = self.id, "legacy SSE session closed");
    }
}

/// The event stream of one session: the endpoint event, then messages and keep-alives, until
/// the client goes, the session idles out (checked at each keep-alive) or the server closes
/// (after delivering what is queued).
struct SseBody {
    endpoint: Option<Bytes>,
    outbound: mpsc::Receiver<Framed>,
    /// The rest of the frame being sent.
    sending: Option<Framed>,
    keepalive: tokio::time::Interval,
    closed: Pin<Box<WaitForCancellationFutureOwned>>,
    guard: SessionGuard,
}

impl Stream for SseBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.endpoint.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if let Some(part) = self.sending.as_mut().and_then(Framed::next_part) {
            return Poll::Ready(Some(Ok(part)));
        }
        let closing = self.closed.as_mut().poll(cx).is_ready();
        match Pin::new(&mut self.outbound).poll_next(cx) {
            Poll::Ready(Some(mut event)) => {
                self.keepalive.reset();
                let first = event.next_part().unwrap_or_default();
                self.sending = Some(event);
                return Poll::Ready(Some(Ok(first)));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending if closing => {
                self.guard.end = SessionEnd::Drain;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if self.keepalive.poll_tick(cx).is_ready() {
            if self.guard.is_expired() {
                tracing::debug!(
                    session_id = self.guard.id,
                    "legacy SSE session idle: closing"
                );
                self.guard.end = SessionEnd::IdleTimeout;
                return Poll::Ready(None);
            }
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

/// What the checks in front of the transports made of a JSON-RPC body with [`common_message`],
/// kept in the request's extensions so the transport does not decode the body again: `None` when
/// the body is not one of the common messages (the generic decoding takes it).
#[derive(Clone)]
pub(super) struct Decoded(pub(super) Option<CommonMessage>);

/// The [`Decoded`] message the checks left in the request's extensions, moved out (axum's
/// `Extension` extractor clones).
pub struct Predecoded(Option<Decoded>);

impl<S: Send + Sync> FromRequestParts<S> for Predecoded {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Predecoded(parts.extensions.remove::<Decoded>()))
    }
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
    Predecoded(decoded): Predecoded,
    body: Bytes,
) -> Response {
    let in_flight = metrics().in_flight(Transport::LegacySse);
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
    session.touch(uptime_secs(&state));
    if !json {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    // A request through the checks in front of the transports arrives decoded.
    let message = match decoded {
        Some(Decoded(message)) => message,
        None => common_message(&body),
    };
    match message {
        Some(CommonMessage::Call(id, params, call_meta)) => {
            start_call(&state, &session, id, params, call_meta, meta, in_flight).await
        }
        Some(CommonMessage::Initialize(id, params)) => {
            initialize(&state, &session, &id, &params, &meta).await
        }
        // Nothing to do: the session is ready once initialize is answered.
        Some(CommonMessage::Initialized) => {}
        None => {
            let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
                Ok(m) => m,
                Err(e) => return invalid_message(&body, e),
            };
            dispatch(&state, &session, message, meta, in_flight).await;
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
    in_flight: InFlight,
) {
    match message {
        ClientJsonRpcMessage::Request(request) => {
            let id = request.id;
            let request_id = meta.request_id.as_str();
            match request.request {
                ClientRequest::InitializeRequest(r) => {
                    initialize(state, session, &id, &r.params, &meta).await
                }
                ClientRequest::PingRequest(_) => {
                    let pong = ServerResult::empty(());
                    session.reply(&id, Outcome::Result(&pong), request_id).await
                }
                ClientRequest::ListToolsRequest(r) => {
                    let started = Instant::now();
                    let list_meta = r.extensions.get::<RequestMetaObject>().map(|m| &m.0.0);
                    let span =
                        state
                            .app
                            .request_span("tools/list", None, Some(&meta), &id, list_meta);
                    let tools = span.span.in_scope(|| {
                        ListToolsResult::with_all_items(state.app.tools_for(Some(&meta)))
                    });
                    let mut tools = ServerResult::ListToolsResult(tools);
                    // The shape rmcp's handler gives a peer of a revision before 2026-07-28.
                    tools.strip_result_type_for_legacy_peer();
                    tools.strip_non_object_output_for_legacy_peer();
                    session
                        .reply(&id, Outcome::Result(&tools), request_id)
                        .await;
                    metrics().operation("tools/list", "ok", started.elapsed());
                }
                ClientRequest::CallToolRequest(r) => {
                    let call_meta = r
                        .extensions
                        .get::<RequestMetaObject>()
                        .map(|m| m.0.0.clone());
                    start_call(state, session, id, r.params, call_meta, meta, in_flight).await
                }
                ClientRequest::ListResourcesRequest(r) => {
                    let list_meta = r.extensions.get::<RequestMetaObject>().map(|m| &m.0.0);
                    let list = state.app.list_resources(Some(&meta), &id, list_meta, false);
                    let mut list = ServerResult::ListResourcesResult(list);
                    list.strip_result_type_for_legacy_peer();
                    session.reply(&id, Outcome::Result(&list), request_id).await
                }
                ClientRequest::ListResourceTemplatesRequest(r) => {
                    let list_meta = r.extensions.get::<RequestMetaObject>().map(|m| &m.0.0);
                    let list =
                        state
                            .app
                            .list_resource_templates(Some(&meta), &id, list_meta, false);
                    let mut list = ServerResult::ListResourceTemplatesResult(list);
                    list.strip_result_type_for_legacy_peer();
                    session.reply(&id, Outcome::Result(&list), request_id).await
                }
                ClientRequest::ReadResourceRequest(r) => {
                    if let Err(limited) = state.check_rate(&meta).await {
                        let error = limited.error();
                        return session.reply(&id, Outcome::Error(&error), request_id).await;
                    }
                    let read_meta = r.extensions.get::<RequestMetaObject>().map(|m| &m.0.0);
                    let read = state
                        .app
                        .read_resource(Some(&meta), &id, &r.params.uri, read_meta, false)
                        .await
                        .map(|page| {
                            let mut page = ServerResult::ReadResourceResult(page);
                            page.strip_result_type_for_legacy_peer();
                            page
                        });
                    session.reply(&id, (&read).into(), request_id).await
                }
                other => {
                    let method = other.method().to_string();
                    let error = ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method, None);
                    session.reply(&id, Outcome::Error(&error), request_id).await;
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
    meta: &RequestMeta,
) {
    let span = state
        .app
        .request_span("initialize", None, Some(meta), id, None);
    let server = SentinelServer::new(state.app.clone());
    let result = span.span.in_scope(|| {
        server
            .negotiate_initialize(params)
            .map(ServerResult::InitializeResult)
    });
    let code = result.as_ref().err().map(|e| e.code.0.to_string());
    span.finish(code.as_deref());
    session.reply(id, (&result).into(), &meta.request_id).await;
}

/// Runs a tool call until it first waits, then beside the session (so a slow query does not
/// hold up the POST); the response goes to the stream. A call over the caller's rate limit is answered at once with
/// -32029 on the stream (an SDK client shows that as the call's error; an HTTP 429 on the POST
/// would leave it waiting for an answer that never comes).
async fn start_call(
    state: &Arc<HttpState>,
    session: &Arc<Session>,
    id: RequestId,
    params: CallToolRequestParams,
    call_meta: Option<JsonObject>,
    meta: RequestMeta,
    in_flight: InFlight,
) {
    if let Err(limited) = state.check_rate(&meta).await {
        let error = limited.error();
        session
            .reply(&id, Outcome::Error(&error), &meta.request_id)
            .await;
        return;
    }
    let (app, call_session, call_id) = (state.app.clone(), session.clone(), id.clone());
    // In flight until the answer is on the stream (or the call aborted), not only until the
    // POST's 202: the drain closes streams once no work is left, and the answer must be queued
    // by then.
    let work = app.shutdown.work();
    let progress = Progress::requested(call_meta.as_ref(), || {
        let session = session.clone();
        Box::new(move |notification| {
            let session = session.clone();
            Box::pin(async move { session.notify(notification).await })
        })
    });
    let mut call = Box::pin(async move {
        let _in_flight = (in_flight, work);
        let call = app.call_tool(Some(&meta), &call_id, params, call_meta.as_ref(), progress);
        let result = app.shutdown.run_call(call).await;
        call_session
            .reply(&call_id, (&result).into(), &meta.request_id)
            .await;
        if let Ok(mut calls) = call_session.in_flight.lock() {
            calls.remove(&call_id);
        }
    });
    // Most calls answer on their first poll (the table list, a shared answer): no task then.
    let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
    if first.is_ready() {
        return;
    }
    // Held until the call is registered, so the task cannot finish and unregister before.
    let Ok(mut calls) = session.in_flight.lock() else {
        return;
    };
    let task = tokio::spawn(call);
    calls.insert(id, task.abort_handle());
}

/// The messages every session sends, decoded straight from their fields.
#[derive(Clone)]
pub(super) enum CommonMessage {
    /// A `tools/call`, with its `_meta` (which rmcp keeps beside the params).
    Call(RequestId, CallToolRequestParams, Option<JsonObject>),
    Initialize(RequestId, InitializeRequestParams),
    Initialized,
}

/// A `tools/call`, `initialize` or `notifications/initialized` message in exactly a shape rmcp
/// decodes to the same message, decoded without rmcp's generic message types (which buffer the
/// message and try each variant in turn). Anything else, including any unexpected field, is left
/// to the generic decoding.
pub(super) fn common_message(body: &[u8]) -> Option<CommonMessage> {
    call_in_one_pass(body).or_else(|| common_message_in_two_passes(body))
}

/// [`common_message`] by the general decoding: the head with the params as raw JSON, then the
/// params as the method wants them.
fn common_message_in_two_passes(body: &[u8]) -> Option<CommonMessage> {
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
    if let Ok(request) = serde_json::from_slice::<Request>(body) {
        let params = request.params.get();
        return match request.method {
            "tools/call" => {
                let call: CallParams = serde_json::from_str(params).ok()?;
                let mut params = CallToolRequestParams::new(call.name);
                params.arguments = call.arguments;
                Some(CommonMessage::Call(request.id, params, call.meta))
            }
            "initialize" => {
                // Clients send fields rmcp skips (in clientInfo, capabilities): decoded in full
                // once, for rmcp's checks, before the typed decoding. Once a session.
                serde_json::from_str::<serde_json::Value>(params).ok()?;
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

/// The params of a `tools/call` as clients send them. Fields are decoded in full: a field
/// skipped here would escape the checks rmcp's buffering makes on every value (a lone
/// surrogate escape, a number out of range), so a message with any other field goes to the
/// generic decoding.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallParams {
    name: std::borrow::Cow<'static, str>,
    #[serde(default)]
    arguments: Option<rmcp::model::JsonObject>,
    /// rmcp moves `_meta` out of the params into the request's extensions.
    #[serde(rename = "_meta", default)]
    meta: Option<JsonObject>,
}

/// A `tools/call` whose `method` comes before its `params` (as every client we know writes it),
/// decoded in one pass: the general decoding first skips the params as raw JSON to learn the
/// method, then reads them again. `None` for anything else, which that decoding then judges;
/// whatever this accepts, it accepts with the same fields and checks.
fn call_in_one_pass(body: &[u8]) -> Option<CommonMessage> {
    struct CallVisitor;

    impl<'de> serde::de::Visitor<'de> for CallVisitor {
        type Value = CommonMessage;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a tools/call request object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<CommonMessage, A::Error> {
            use serde::de::Error;
            let (mut version, mut id, mut method, mut params) = (false, None, false, None);
            while let Some(key) = map.next_key::<&'de str>()? {
                match key {
                    "jsonrpc" if !version => {
                        map.next_value::<JsonRpcVersion2_0>()?;
                        version = true;
                    }
                    "id" if id.is_none() => id = Some(map.next_value::<RequestId>()?),
                    "method" if !method => {
                        if map.next_value::<&'de str>()? != "tools/call" {
                            return Err(A::Error::custom("not a tools/call"));
                        }
                        method = true;
                    }
                    "params" if method && params.is_none() => {
                        params = Some(map.next_value::<CallParams>()?);
                    }
                    _ => return Err(A::Error::custom("left to the general decoding")),
                }
            }
            match (version, id, params) {
                (true, Some(id), Some(call)) => {
                    let mut params = CallToolRequestParams::new(call.name);
                    params.arguments = call.arguments;
                    Ok(CommonMessage::Call(id, params, call.meta))
                }
                _ => Err(A::Error::custom("a field is missing")),
            }
        }
    }

    let mut decoder = serde_json::Deserializer::from_slice(body);
    let call = serde::Deserializer::deserialize_map(&mut decoder, CallVisitor).ok()?;
    decoder.end().ok()?;
    Some(call)
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

/// Everything a `POST /messages` or `POST /mcp` body goes through before a tool runs, for
/// fuzzing: the HTTP checks' read of the JSON-RPC head, the legacy transport's fast-path decoder,
/// rmcp's message decoding (what `/mcp` and the legacy fallback use) and the refusal of what it
/// cannot decode, and a `tools/call`'s argument decoding. None may panic. An `Err` names a
/// message the fast path decodes differently from rmcp, which it must never do.
pub fn check_post_body(body: &[u8]) -> Result<(), String> {
    let _ = serde_json::from_slice::<super::auth::JsonRpcHead>(body);
    let generic = serde_json::from_slice::<ClientJsonRpcMessage>(body);
    let fast = common_message(body);
    let arguments = match (&fast, &generic) {
        (Some(CommonMessage::Call(_, params, _)), _) => Some(params),
        (None, Ok(ClientJsonRpcMessage::Request(r))) => match &r.request {
            ClientRequest::CallToolRequest(call) => Some(&call.params),
            _ => None,
        },
        _ => None,
    };
    if let Some(params) = arguments {
        let _ = crate::tools::check_arguments(
            &params.name,
            params.arguments.clone().unwrap_or_default(),
        );
    }
    let generic = match (fast.is_some(), generic) {
        (_, Ok(message)) => message,
        (false, Err(e)) => {
            let _ = invalid_message(body, e);
            return Ok(());
        }
        (true, Err(e)) => return Err(format!("the fast path took a message rmcp refuses: {e}")),
    };
    let agree = match (fast, generic) {
        (None, _) => true,
        (Some(CommonMessage::Call(id, params, meta)), ClientJsonRpcMessage::Request(r)) => {
            let rmcp_meta = match &r.request {
                ClientRequest::CallToolRequest(c) => c.extensions.get::<RequestMetaObject>(),
                _ => None,
            };
            matches!(&r.request, ClientRequest::CallToolRequest(c) if r.id == id && same(&c.params, &params))
                && rmcp_meta.map(|m| &m.0.0) == meta.as_ref()
        }
        (Some(CommonMessage::Initialize(id, params)), ClientJsonRpcMessage::Request(r)) => {
            matches!(&r.request, ClientRequest::InitializeRequest(i) if r.id == id && same(&i.params, &params))
        }
        (Some(CommonMessage::Initialized), ClientJsonRpcMessage::Notification(n)) => {
            matches!(
                n.notification,
                ClientNotification::InitializedNotification(_)
            )
        }
        _ => false,
    };
    if agree {
        Ok(())
    } else {
        Err("the fast path decoded a message differently from rmcp".into())
    }
}

/// Params compared by their JSON encoding (rmcp's types do not all implement `PartialEq`).
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A decoded message as JSON, to compare two decodings field by field.
    fn described(message: Option<CommonMessage>) -> Option<serde_json::Value> {
        match message? {
            CommonMessage::Call(id, params, meta) => Some(json!(["call", id, params, meta])),
            CommonMessage::Initialize(id, params) => Some(json!(["initialize", id, params])),
            CommonMessage::Initialized => Some(json!(["initialized"])),
        }
    }

    #[test]
    fn the_one_pass_call_decoding_takes_only_what_the_general_one_decodes_alike() {
        let call = r#""params":{"name":"run_kql_query","arguments":{"query":"T | take 1"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":7}}"#;
        let cases = [
            // Taken in one pass.
            (
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call",{call}}}"#),
                true,
            ),
            (
                format!(
                    r#" {{ "id" : "a\u0062" , "method":"tools/call","jsonrpc":"2.0",{call}}} "#
                ),
                true,
            ),
            (
                r#"{"method":"tools/call","params":{"name":"x"},"id":-3,"jsonrpc":"2.0"}"#.into(),
                true,
            ),
            // Left to the general decoding, which decodes some of them itself.
            (
                format!(r#"{{"jsonrpc":"2.0","id":1,{call},"method":"tools/call"}}"#),
                false,
            ),
            (
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list",{call}}}"#),
                false,
            ),
            (
                format!(r#"{{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call",{call}}}"#),
                false,
            ),
            (
                format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/call",{call}}}"#
                ),
                false,
            ),
            (
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call",{call},"extra":1}}"#),
                false,
            ),
            (
                format!(r#"{{"jsonrpc":"1.0","id":1,"method":"tools/call",{call}}}"#),
                false,
            ),
            (format!(r#"{{"id":1,"method":"tools/call",{call}}}"#), false),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#.into(),
                false,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"x"}}"#.into(),
                false,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","other":1}}"#
                    .into(),
                false,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"x"}}"#.into(),
                false,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800"}}"#
                    .into(),
                false,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}} x"#.into(),
                false,
            ),
            (r#"["2.0",1,"tools/call",{"name":"x"}]"#.into(), false),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.into(),
                false,
            ),
        ];
        for (body, one_pass) in cases {
            let fast = call_in_one_pass(body.as_bytes());
            assert_eq!(fast.is_some(), one_pass, "{body}");
            let general = described(common_message_in_two_passes(body.as_bytes()));
            if let Some(fast) = described(fast) {
                assert_eq!(Some(fast), general, "{body}");
            }
            assert_eq!(
                described(common_message(body.as_bytes())),
                general,
                "{body}"
            );
        }
    }
}
