//! JSON-RPC responses written straight into one buffer, on the paths that answer without an rmcp
//! service: legacy SSE and the stateless era's `tools/call`. A shared tool answer goes out as
//! the bytes it was encoded to once, not as a copy serialized again, and not copied into the
//! frame either: the frame is the bytes before it, its bytes, and the bytes after it.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::Bytes;
use rmcp::ErrorData;
use rmcp::model::{RequestId, ServerResult};

use crate::failure::CallFailure;
use crate::tools::ToolAnswer;

/// What a response to a request carries.
pub(super) enum Outcome<'a> {
    Result(&'a ServerResult),
    Tool(&'a ToolAnswer),
    Error(&'a ErrorData),
}

impl<'a> From<&'a Result<ServerResult, ErrorData>> for Outcome<'a> {
    fn from(r: &'a Result<ServerResult, ErrorData>) -> Outcome<'a> {
        r.as_ref().map_or_else(Outcome::Error, Outcome::Result)
    }
}

impl<'a> From<&'a Result<ToolAnswer, ErrorData>> for Outcome<'a> {
    fn from(r: &'a Result<ToolAnswer, ErrorData>) -> Outcome<'a> {
        r.as_ref().map_or_else(Outcome::Error, Outcome::Tool)
    }
}

/// Which revision's shape a result takes: the 2026-07-28 revision's results carry
/// `resultType`, older ones do not.
#[derive(Clone, Copy)]
pub(super) enum Era {
    Legacy,
    Stateless,
}

impl Outcome<'_> {
    /// Appends `"result":…` or `"error":…` of the response message; a shared tool answer's
    /// encoding is returned to follow what was appended, not copied.
    fn write(&self, out: &mut Vec<u8>, era: Era) -> serde_json::Result<Option<Bytes>> {
        match self {
            Outcome::Result(r) => {
                out.extend_from_slice(b"\"result\":");
                serde_json::to_writer(out, r).map(|()| None)
            }
            Outcome::Tool(answer) => {
                out.extend_from_slice(b"\"result\":");
                answer.write_json(out, matches!(era, Era::Stateless))
            }
            Outcome::Error(e) => {
                out.extend_from_slice(b"\"error\":");
                serde_json::to_writer(out, e).map(|()| None)
            }
        }
    }

    /// The JSON-RPC error code, when the outcome is an error.
    pub(super) fn error_code(&self) -> Option<i32> {
        match self {
            Outcome::Error(e) => Some(e.code.0),
            Outcome::Result(_) | Outcome::Tool(_) => None,
        }
    }
}

/// A framed response message: the bytes written for it and, when the answer is a shared one,
/// that answer's encoding and the bytes that close the frame.
pub(super) struct Framed {
    parts: [Bytes; 3],
    /// The next part to send.
    next: usize,
}

impl Framed {
    /// Its next part to send; `None` once all are sent.
    pub(super) fn next_part(&mut self) -> Option<Bytes> {
        while let Some(part) = self.parts.get_mut(self.next) {
            self.next += 1;
            if !part.is_empty() {
                return Some(std::mem::take(part));
            }
        }
        None
    }

    /// The bytes still to send.
    fn remaining(&self) -> usize {
        self.parts.iter().skip(self.next).map(Bytes::len).sum()
    }
}

/// A frame of bytes written whole (a notification, a keep-alive).
impl From<Bytes> for Framed {
    fn from(whole: Bytes) -> Framed {
        Framed {
            parts: [whole, Bytes::new(), Bytes::new()],
            next: 0,
        }
    }
}

/// An HTTP body of the frame's parts, sent without joining them (hyper writes them at once).
impl http_body::Body for Framed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.next_part()
                .map(|part| Ok(http_body::Frame::data(part))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining() as u64)
    }
}

/// A response message framed by `prefix` and `suffix` (an SSE event's lines, or nothing). A
/// response that cannot be encoded is an internal failure: the client gets a generic error
/// naming `request_id` and the log the detail (a serializer's message: nothing for a client,
/// even with DEBUG).
pub(super) fn frame(
    prefix: &[u8],
    id: &RequestId,
    outcome: Outcome<'_>,
    era: Era,
    suffix: &[u8],
    request_id: &str,
) -> Option<Framed> {
    // Sized like the last frame: answers of one server are alike (a tool list, a page of rows),
    // and growing a buffer from 512 bytes to a few KiB copied it four times.
    static LAST_FRAME: AtomicUsize = AtomicUsize::new(512);
    let write = |outcome: Outcome<'_>| -> serde_json::Result<Framed> {
        let mut frame =
            Vec::with_capacity(LAST_FRAME.load(Ordering::Relaxed).clamp(512, 64 * 1024));
        frame.extend_from_slice(prefix);
        frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        serde_json::to_writer(&mut frame, id)?;
        frame.push(b',');
        let shared = outcome.write(&mut frame, era)?;
        let close = |out: &mut Vec<u8>| {
            out.push(b'}');
            out.extend_from_slice(suffix);
        };
        let tail = match &shared {
            None => {
                close(&mut frame);
                // Only a frame written whole sizes the next one.
                LAST_FRAME.store(frame.len(), Ordering::Relaxed);
                Bytes::new()
            }
            Some(_) => {
                let mut tail = Vec::with_capacity(1 + suffix.len());
                close(&mut tail);
                Bytes::from(tail)
            }
        };
        Ok(Framed {
            parts: [Bytes::from(frame), shared.unwrap_or_default(), tail],
            next: 0,
        })
    };
    write(outcome)
        .or_else(|e| {
            tracing::error!(error = %e, request_id, "a response could not be encoded");
            let failure = CallFailure::Internal(e.to_string());
            write(Outcome::Error(&failure.into_error(request_id, false)))
        })
        .inspect_err(|e| tracing::error!(error = %e, request_id, "could not encode an error"))
        .ok()
}
