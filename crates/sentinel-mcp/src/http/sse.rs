//! The legacy HTTP+SSE transport (MCP 2024-11-05): `GET /sse` opens an event stream whose first
//! event names the POST endpoint; `POST /messages?sessionId=…` feeds the session, and responses
//! go out on the stream. rmcp has no server for it, so it is ours: channels feed rmcp's
//! `(Sink, Stream)` transport.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, Stream};
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::service::serve_server_with_ct;
use serde::Deserialize;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::{HttpState, json_error, jsonrpc_error};
use crate::auth::RequestMeta;
use crate::server::SentinelServer;

/// Messages a session buffers in each direction before the sender waits.
const CHANNEL_DEPTH: usize = 8;

/// A live session: where its messages go and who owns it.
struct SessionEntry {
    inbound: mpsc::Sender<ClientJsonRpcMessage>,
    /// Tenant and object id of the principal that opened it.
    owner: Box<str>,
}

/// Live legacy SSE sessions by id.
#[derive(Default)]
pub struct SseSessions {
    sessions: Mutex<HashMap<Box<str>, SessionEntry>>,
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

    fn insert(&self, id: &str, inbound: mpsc::Sender<ClientJsonRpcMessage>, owner: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(
                id.into(),
                SessionEntry {
                    inbound,
                    owner: owner.into(),
                },
            );
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
    }

    /// The session's inbound sender, if the session exists and belongs to `owner`.
    fn sender(&self, id: &str, owner: &str) -> Option<mpsc::Sender<ClientJsonRpcMessage>> {
        let sessions = self.sessions.lock().ok()?;
        let entry = sessions.get(id)?;
        (*entry.owner == *owner).then(|| entry.inbound.clone())
    }
}

/// `GET /sse`: opens a session and streams its messages.
pub async fn open(
    State(state): State<Arc<HttpState>>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (in_tx, in_rx) = mpsc::channel::<ClientJsonRpcMessage>(CHANNEL_DEPTH);
    let (out_tx, out_rx) = mpsc::channel::<ServerJsonRpcMessage>(CHANNEL_DEPTH);
    state.sse.insert(&id, in_tx, &meta.principal.owner_key());
    let session_ct = state.shutdown.child_token();
    let server = SentinelServer::new(state.app.clone());
    let ct = session_ct.clone();
    let session_id = id.clone();
    tokio::spawn(async move {
        match serve_server_with_ct(server, (out_tx, in_rx), ct).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => {
                tracing::debug!(session_id, error = %e, "legacy SSE session ended before initialize")
            }
        }
    });
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
            ct: session_ct,
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
    ct: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.state.sse.remove(&self.id);
        self.ct.cancel();
        tracing::debug!(session_id = self.id, "legacy SSE session closed");
    }
}

/// The event stream of one session: the endpoint event, then messages and keep-alives.
struct SseBody {
    endpoint: Option<Bytes>,
    outbound: mpsc::Receiver<ServerJsonRpcMessage>,
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
            Poll::Ready(Some(msg)) => {
                let event = match serde_json::to_string(&msg) {
                    Ok(json) => format!("event: message\ndata: {json}\n\n"),
                    Err(e) => {
                        tracing::error!(error = %e, "could not encode an outgoing message");
                        return Poll::Ready(None);
                    }
                };
                self.keepalive.reset();
                return Poll::Ready(Some(Ok(Bytes::from(event))));
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

/// `POST /messages?sessionId=…`: one JSON-RPC message into the session; 202 when accepted.
pub async fn post(
    State(state): State<Arc<HttpState>>,
    Extension(meta): Extension<RequestMeta>,
    Query(q): Query<MessageQuery>,
    headers: HeaderMap,
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
    let Some(mut sender) = state.sse.sender(&id, &meta.principal.owner_key()) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "session not found; it may have ended, open a new one with GET /sse",
        );
    };
    if !is_json(&headers) {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                &format!("Parse error: {e}"),
            );
        }
    };
    if value.is_array() {
        return jsonrpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: JSON-RPC batches are not supported",
        );
    }
    let mut message: ClientJsonRpcMessage = match serde_json::from_value(value) {
        Ok(m) => m,
        Err(e) => {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                &format!("Invalid Request: not a JSON-RPC 2.0 message: {e}"),
            );
        }
    };
    // The handler learns who is calling and which HTTP request carried the call.
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(meta);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(meta);
        }
        _ => {}
    }
    match sender.send(message).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(_) => json_error(
            StatusCode::NOT_FOUND,
            "session not found; it has ended, open a new one with GET /sse",
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
