//! The session era's `tools/call` on `/mcp`, answered here. rmcp hands each such request to the
//! session's worker task through channels, keeps the answer in the session's event cache and
//! streams it with a priming event; that path costs about ten times the tool call itself. This
//! one runs the call itself and writes its answer as one `data:` event: with its length when the
//! call answers on its first poll, else in a stream that starts at once and sends keep-alive
//! comments while the call runs, as legacy SSE does. Its events carry no ids, which the
//! specification allows: a client that loses the stream asks again instead of resuming.
//!
//! It takes only a request in exactly the shape a client of a revision before 2026-07-28 sends
//! on an initialized session of this replica (a plain `Accept` and `Content-Type`, no
//! `MCP-Protocol-Version` or a known one before 2026-07-28, no other `Mcp-*` header, no
//! progress token and no key of the revision's in `_meta`); anything else goes to rmcp. The
//! session's `notifications/cancelled` and its end stop the call, as rmcp's would stop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientNotification, JsonObject, ProtocolVersion,
    RequestId,
};

use super::HttpState;
use super::mcp_sessions::RunningCall;
use super::reply::{self, Era, Framed};
use super::sse::{CommonMessage, Decoded, keepalive_timer};
use super::stateless::{accepts_json_and_sse, is_json, single};
use crate::auth::RequestMeta;
use crate::telemetry::trace::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};

/// The `_meta` keys the 2026-07-28 revision reserves; a call carrying one is rmcp's to check.
const REVISION_META_PREFIX: &str = "io.modelcontextprotocol/";

/// A session-era `tools/call` this path answers.
pub(super) struct SessionEraCall {
    id: RequestId,
    params: CallToolRequestParams,
    meta: Option<JsonObject>,
    caller: RequestMeta,
    running: RunningCall,
}

/// The session a request names in its one `Mcp-Session-Id`.
fn session_of(request: &Request) -> Option<&str> {
    std::str::from_utf8(single(request.headers(), &MCP_SESSION_ID)?).ok()
}

/// An `MCP-Protocol-Version` a session-era client may send: absent, or one known version
/// before the 2026-07-28 revision (which has no sessions and its own header checks).
fn session_era_version(request: &Request) -> bool {
    let headers = request.headers();
    let mut values = headers.get_all(MCP_PROTOCOL_VERSION).iter();
    let (Some(version), None) = (values.next(), values.next()) else {
        return !headers.contains_key(MCP_PROTOCOL_VERSION);
    };
    ProtocolVersion::KNOWN_VERSIONS.iter().any(|known| {
        known.as_str().as_bytes() == version.as_bytes()
            && known.as_str() < ProtocolVersion::STANDARD_HEADERS.as_str()
    })
}

/// The request if it is a session-era `tools/call` this path may answer, moved out of the
/// request's extensions (the decoded message and the caller), with the call registered on its
/// session.
pub(super) fn take(state: &HttpState, request: &mut Request) -> Option<SessionEraCall> {
    let headers = request.headers();
    let plain = request.method() == Method::POST
        && request.uri().path() == "/mcp"
        && accepts_json_and_sse(headers)
        && single(headers, &header::CONTENT_TYPE).is_some_and(is_json)
        && session_era_version(request)
        && !headers.keys().any(|name| {
            let name = name.as_str();
            name.starts_with("mcp-")
                && name != MCP_SESSION_ID.as_str()
                && name != MCP_PROTOCOL_VERSION.as_str()
        });
    let session = session_of(request).filter(|_| plain)?;
    let Some(Decoded(Some(CommonMessage::Call(id, _, meta)))) =
        request.extensions().get::<Decoded>()
    else {
        return None;
    };
    let ours = meta.as_ref().is_none_or(|meta| {
        !meta.contains_key("progressToken")
            && !meta.keys().any(|k| k.starts_with(REVISION_META_PREFIX))
    });
    if !ours {
        return None;
    }
    // `None` leaves the request whole for rmcp (a session not initialized yet, say).
    let running = state.mcp_sessions.start_call(session, id)?;
    let Some(Decoded(Some(CommonMessage::Call(id, params, meta)))) =
        request.extensions_mut().remove::<Decoded>()
    else {
        return None;
    };
    let caller = request.extensions_mut().remove::<RequestMeta>()?;
    Some(SessionEraCall {
        id,
        params,
        meta,
        caller,
        running,
    })
}

/// A `notifications/cancelled` for a call this path runs cancels it; the message still goes on
/// to rmcp, which answers it. Only read when the session runs such a call.
pub(super) async fn cancel_named_call(state: &HttpState, request: Request) -> Request {
    let candidate = request.method() == Method::POST
        && matches!(request.extensions().get::<Decoded>(), Some(Decoded(None)))
        && session_of(&request).is_some_and(|s| state.mcp_sessions.runs_calls(s));
    if !candidate {
        return request;
    }
    let (parts, body) = request.into_parts();
    // The checks in front of the transports left the body whole in memory.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    if let Ok(ClientJsonRpcMessage::Notification(n)) = serde_json::from_slice(&bytes)
        && let ClientNotification::CancelledNotification(c) = n.notification
        && let Some(call) = c.params.request_id
        && let Some(session) = session_of(&request)
    {
        state.mcp_sessions.cancel(session, &call);
    }
    request
}

/// `200` with an event stream: the answer as one `data:` event, with its length when the call
/// answers at once; otherwise the headers go at once, keep-alive comments follow while the call
/// runs, then the answer. Nothing is sent for a cancelled call.
pub(super) async fn answer(state: &HttpState, call: SessionEraCall) -> Response {
    let app = state.app.clone();
    let SessionEraCall {
        id,
        params,
        meta,
        caller,
        running,
    } = call;
    let mut run: Answer = Box::pin(async move {
        let call = app.call_tool(Some(&caller), &id, params, meta.as_ref(), None);
        let result = tokio::select! {
            result = app.shutdown.run_call(call) => result,
            _ = running.cancelled.cancelled() => return None,
        };
        reply::frame(
            b"data: ",
            &id,
            (&result).into(),
            Era::Legacy,
            b"\n\n",
            &caller.request_id,
        )
    });
    // Most calls answer on their first poll: a body of known length is cheaper for both ends
    // than a chunked stream.
    let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
    let body = match first {
        Poll::Ready(Some(frame)) => Body::new(frame),
        Poll::Ready(None) => Body::empty(),
        Poll::Pending => Body::new(AnswerStream {
            answer: Some(run),
            sending: None,
            keepalive: None,
            period: state.keepalive,
        }),
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

type Answer = Pin<Box<dyn Future<Output = Option<Framed>> + Send>>;

/// The body of a session-era answer: the call runs as the body is polled.
struct AnswerStream {
    answer: Option<Answer>,
    /// The rest of the answer's frame being sent.
    sending: Option<Framed>,
    /// Made once the call has to wait: a call answered at once needs no timer.
    keepalive: Option<tokio::time::Interval>,
    period: std::time::Duration,
}

impl http_body::Body for AnswerStream {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let data = |part: Bytes| Poll::Ready(Some(Ok(http_body::Frame::data(part))));
        if let Some(part) = self.sending.as_mut().and_then(Framed::next_part) {
            return data(part);
        }
        let Some(answer) = self.answer.as_mut() else {
            return Poll::Ready(None);
        };
        match answer.as_mut().poll(cx) {
            Poll::Ready(frame) => {
                self.answer = None;
                self.sending = frame;
                match self.sending.as_mut().and_then(Framed::next_part) {
                    Some(part) => data(part),
                    None => Poll::Ready(None),
                }
            }
            Poll::Pending => {
                let period = self.period;
                let keepalive = self
                    .keepalive
                    .get_or_insert_with(|| keepalive_timer(period));
                match keepalive.poll_tick(cx) {
                    Poll::Ready(_) => data(Bytes::from_static(b": keep-alive\n\n")),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.answer.is_none() && self.sending.is_none()
    }
}
