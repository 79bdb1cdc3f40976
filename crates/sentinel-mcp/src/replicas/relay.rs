//! Relaying a request to the replica that owns its session, over Redis pub/sub.
//!
//! The replica the request landed on publishes it whole (method, path, headers, body, the
//! client's address) on the owner's channel. The owner runs it through its own router, exactly
//! as if the client had connected to it (authentication, ownership and limits included), and
//! publishes the response back on the first replica's channel as frames: the head, each chunk of
//! the body as it is written (a legacy `202`, a Streamable HTTP event stream, a standalone
//! `GET /mcp` stream), then the end. A client that goes away cancels the owner's side. Frames of
//! one response are published in order from one task, and Redis delivers one publisher's
//! messages to a subscriber in order.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures::StreamExt;
use http_body_util::BodyExt;
use redis::{AsyncCommands, PushInfo, PushKind, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tower::ServiceExt;

use super::{COMMAND_TIMEOUT, Record, Replicas, channel};
use crate::http::client::PeerAddr;
use crate::http::json_error;
use crate::metrics::metrics;

/// How long the owner may take to start answering a relayed request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames of one response waiting for a slow client; past this the relay is dropped.
const FRAMES_QUEUED: usize = 256;
/// How long a relay message no one heard is sent again: its addressee may be re-subscribing
/// after a Redis reconnect, which a loaded replica has been seen to take longer than 5 s to do
/// (a fresh-clone CI run lost one call of 9,616 to a 504 with 5 s). Well inside the relayed
/// request's 30 s wait for its answer.
const RESEND_FOR: Duration = Duration::from_secs(15);
/// The pause between those tries.
const RESEND_EVERY: Duration = Duration::from_millis(100);

/// A relayed request is marked so its owner never relays it again.
#[derive(Debug, Clone, Copy)]
pub struct Relayed;

/// What replicas send each other on their channels.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    Request {
        from: String,
        rid: u64,
        method: String,
        uri: String,
        headers: Vec<(String, String)>,
        peer: Option<SocketAddr>,
        body: String,
    },
    Head {
        rid: u64,
        status: u16,
        headers: Vec<(String, String)>,
    },
    Data {
        rid: u64,
        body: String,
    },
    End {
        rid: u64,
    },
    Cancel {
        from: String,
        rid: u64,
    },
}

/// One frame of a relayed response.
enum Frame {
    Head(u16, Vec<(String, String)>),
    Data(Bytes),
    End,
}

/// The relays in progress on this replica, both ways.
#[derive(Default)]
pub(super) struct Relays {
    next: AtomicU64,
    /// Requests this replica relayed, waiting for their frames.
    waiting: Mutex<HashMap<u64, mpsc::Sender<Frame>>>,
    /// Requests this replica serves for others, by (replica, request).
    serving: Mutex<HashMap<(String, u64), tokio::task::AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Headers worth carrying across (hop-by-hop ones stay with their connection).
fn carried(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
            )
        })
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect()
}

fn set_headers(target: &mut axum::http::HeaderMap, headers: Vec<(String, String)>) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            target.append(name, value);
        }
    }
}

/// The answer to a request for a session no replica holds.
fn session_gone(uri: &Uri) -> Response {
    let reopen = if uri.path().starts_with("/mcp") {
        "send initialize without Mcp-Session-Id"
    } else {
        "open a new one with GET /sse"
    };
    json_error(
        StatusCode::NOT_FOUND,
        &format!("session not found; it may have ended, {reopen}"),
    )
}

fn redis_restarted() -> Response {
    crate::http::retry_later(
        StatusCode::SERVICE_UNAVAILABLE,
        2,
        None,
        "Redis, through which replicas reach each other, restarted moments ago and does not know this session yet; retry in a few seconds",
    )
}

fn redis_down() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "this session is held by another replica of the server, and Redis, through which replicas reach each other, cannot be reached; retry shortly",
    )
}

impl Replicas {
    /// Relays `request`, which names `session`, to the replica that owns it, and answers with
    /// that replica's response: 404 when no live replica owns the session, 503 when Redis is
    /// unreachable.
    pub async fn relay(self: &Arc<Self>, session: &str, request: Request) -> Response {
        let owner = match self.record_of(session).await {
            Err(()) => {
                metrics().relay("redis_down");
                return redis_down();
            }
            Ok(Some(Record::Owned(o))) if o.replica != self.id => o,
            Ok(Some(Record::Owned(_))) => {
                // A key naming this replica for a session it does not hold is stale.
                self.forget(session).await;
                metrics().relay("no_session");
                return session_gone(request.uri());
            }
            Ok(Some(Record::Ended { .. })) => {
                metrics().relay("no_session");
                return session_gone(request.uri());
            }
            Ok(None) if self.restarted_lately().await => {
                // A Redis that just restarted empty has not got every live session back yet.
                metrics().relay("redis_down");
                return redis_restarted();
            }
            Ok(None) => {
                metrics().relay("no_session");
                return session_gone(request.uri());
            }
        };
        let (parts, body) = request.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return json_error(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        };
        let rid = self.relays.next.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel(FRAMES_QUEUED);
        lock(&self.relays.waiting).insert(rid, tx);
        let mut waiting = Waiting {
            replicas: self.clone(),
            owner: owner.replica.clone(),
            rid,
            ended: false,
        };
        let message = Message::Request {
            from: self.id.clone(),
            rid,
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: carried(&parts.headers),
            peer: parts.extensions.get::<PeerAddr>().map(|p| p.0),
            body: B64.encode(&body),
        };
        let mut heard = self.publish(&owner.replica, &message).await;
        // Just after a Redis restart the owner may still be subscribing again: keep sending
        // for a few seconds before taking silence for a replica that is gone.
        if heard == Some(0)
            && self.restarted_lately().await
            && self.heard(&owner.replica, &message).await
        {
            heard = Some(1);
        }
        match heard {
            None => {
                waiting.end();
                metrics().relay("redis_down");
                return redis_down();
            }
            Some(0) => {
                // Nobody listens on the owner's channel: the replica is gone.
                waiting.end();
                self.forget(session).await;
                metrics().relay("owner_gone");
                return session_gone(&parts.uri);
            }
            Some(_) => {}
        }
        let head = tokio::time::timeout(HEAD_TIMEOUT, rx.recv()).await;
        let Ok(Some(Frame::Head(status, headers))) = head else {
            metrics().relay("timeout");
            return json_error(
                StatusCode::GATEWAY_TIMEOUT,
                "the replica that holds this session did not answer; retry, or open a new session",
            );
        };
        metrics().relay("relayed");
        let body = futures::stream::unfold((rx, waiting), |(mut rx, mut waiting)| async move {
            match rx.recv().await {
                Some(Frame::Data(bytes)) => Some((Ok::<_, Infallible>(bytes), (rx, waiting))),
                Some(Frame::End) => {
                    waiting.end();
                    None
                }
                // The relay was dropped (Redis lost, or this client too slow): end the body.
                Some(Frame::Head(..)) | None => None,
            }
        });
        let mut response = Response::new(Body::from_stream(body));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        set_headers(response.headers_mut(), headers);
        response
    }

    /// Publishes `message` on `replica`'s channel: how many listened, `None` if Redis failed.
    async fn publish(&self, replica: &str, message: &Message) -> Option<i64> {
        let payload = serde_json::to_vec(message).ok()?;
        let mut redis = self.redis.clone();
        let sent = redis.publish::<_, _, i64>(channel(replica), payload);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, sent).await)
    }

    /// Serves a request another replica relayed, and sends its response back frame by frame.
    async fn serve(self: Arc<Self>, from: String, rid: u64, request: Request) {
        let Some(router) = self.router.get().cloned() else {
            return;
        };
        let response = match router.oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let head = Message::Head {
            rid,
            status: parts.status.as_u16(),
            headers: carried(&parts.headers),
        };
        if !self.heard(&from, &head).await {
            return;
        }
        let mut chunks = body.into_data_stream();
        while let Some(Ok(chunk)) = chunks.next().await {
            let data = Message::Data {
                rid,
                body: B64.encode(&chunk),
            };
            if !self.heard(&from, &data).await {
                return;
            }
        }
        self.heard(&from, &Message::End { rid }).await;
    }

    /// Sends `message` to `replica`, trying again for [`RESEND_FOR`] while no one hears it
    /// or Redis is away (a Redis restart drops the subscriptions until each replica's
    /// connection comes back); `false` when it never got through.
    async fn heard(&self, replica: &str, message: &Message) -> bool {
        let deadline = tokio::time::Instant::now() + RESEND_FOR;
        loop {
            if self.publish(replica, message).await.is_some_and(|n| n > 0) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(RESEND_EVERY).await;
        }
    }

    /// Takes one message from this replica's channel.
    fn receive(self: &Arc<Self>, message: Message) {
        let frame = match message {
            Message::Request {
                from,
                rid,
                method,
                uri,
                headers,
                peer,
                body,
            } => {
                let Some(request) = rebuild(&method, &uri, headers, peer, &body) else {
                    tracing::warn!(from, "replicas: a relayed request could not be read");
                    return;
                };
                let key = (from.clone(), rid);
                let task = tokio::spawn(self.clone().serve(from, rid, request));
                let mut serving = lock(&self.relays.serving);
                serving.retain(|_, t| !t.is_finished());
                serving.insert(key, task.abort_handle());
                return;
            }
            Message::Cancel { from, rid } => {
                if let Some(task) = lock(&self.relays.serving).remove(&(from, rid)) {
                    task.abort();
                }
                return;
            }
            Message::Head {
                rid,
                status,
                headers,
            } => (rid, Frame::Head(status, headers)),
            Message::Data { rid, body } => match B64.decode(body) {
                Ok(bytes) => (rid, Frame::Data(Bytes::from(bytes))),
                Err(_) => return,
            },
            Message::End { rid } => (rid, Frame::End),
        };
        let (rid, frame) = frame;
        let mut waiting = lock(&self.relays.waiting);
        let ended = matches!(frame, Frame::End);
        let delivered = waiting
            .get(&rid)
            .is_some_and(|tx| tx.try_send(frame).is_ok());
        if ended || !delivered {
            // A full queue drops the relay: its client reads too slowly to keep up.
            waiting.remove(&rid);
        }
    }
}

/// The request another replica relayed, as it reached that replica.
fn rebuild(
    method: &str,
    uri: &str,
    headers: Vec<(String, String)>,
    peer: Option<SocketAddr>,
    body: &str,
) -> Option<Request> {
    let body = B64.decode(body).ok()?;
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = Method::from_bytes(method.as_bytes()).ok()?;
    *request.uri_mut() = uri.parse().ok()?;
    set_headers(request.headers_mut(), headers);
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    request.extensions_mut().insert(Relayed);
    Some(request)
}

/// A relayed request this replica waits on; dropped before its end (the client went away), it
/// cancels the owner's side.
struct Waiting {
    replicas: Arc<Replicas>,
    owner: String,
    rid: u64,
    ended: bool,
}

impl Waiting {
    /// The owner sent the whole response: nothing to cancel.
    fn end(&mut self) {
        self.ended = true;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        lock(&self.replicas.relays.waiting).remove(&self.rid);
        if self.ended {
            return;
        }
        let replicas = self.replicas.clone();
        let cancel = Message::Cancel {
            from: replicas.id.clone(),
            rid: self.rid,
        };
        let owner = std::mem::take(&mut self.owner);
        tokio::spawn(async move {
            let _ = replicas.publish(&owner, &cancel).await;
        });
    }
}

/// Reads this replica's channel until the replica is gone.
pub(super) async fn listen(
    replicas: Weak<Replicas>,
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
) {
    while let Some(push) = pushes.recv().await {
        let Some(replicas) = replicas.upgrade() else {
            return;
        };
        if push.kind != PushKind::Message {
            continue;
        }
        let payload = match push.data.get(1) {
            Some(Value::BulkString(bytes)) => bytes.as_slice(),
            _ => continue,
        };
        match serde_json::from_slice::<Message>(payload) {
            Ok(message) => replicas.receive(message),
            Err(e) => tracing::warn!(error = %e, "replicas: unreadable message on the channel"),
        }
    }
}
