//! JSON-RPC responses written straight into one buffer, on the paths that answer without an rmcp
//! service: legacy SSE and the stateless era's `tools/call`. A shared tool answer goes out as
//! the bytes it was encoded to once, not as a copy serialized again.

use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Appends `"result":…` or `"error":…` of the response message.
    fn write(&self, out: &mut Vec<u8>, era: Era) -> serde_json::Result<()> {
        match self {
            Outcome::Result(r) => {
                out.extend_from_slice(b"\"result\":");
                serde_json::to_writer(out, r)
            }
            Outcome::Tool(answer) => {
                out.extend_from_slice(b"\"result\":");
                answer.write_json(out, matches!(era, Era::Stateless))
            }
            Outcome::Error(e) => {
                out.extend_from_slice(b"\"error\":");
                serde_json::to_writer(out, e)
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

/// A response message framed by `prefix` and `suffix` (an SSE event's lines, or nothing),
/// written into one buffer. A response that cannot be encoded is an internal failure: the
/// client gets a generic error naming `request_id` and the log the detail (a serializer's
/// message: nothing for a client, even with DEBUG).
pub(super) fn frame(
    prefix: &[u8],
    id: &RequestId,
    outcome: Outcome<'_>,
    era: Era,
    suffix: &[u8],
    request_id: &str,
) -> Option<Bytes> {
    // Sized like the last frame: answers of one server are alike (a tool list, a page of rows),
    // and growing a buffer from 512 bytes to a few KiB copied it four times.
    static LAST_FRAME: AtomicUsize = AtomicUsize::new(512);
    let write = |outcome: Outcome<'_>| -> serde_json::Result<Bytes> {
        let mut frame =
            Vec::with_capacity(LAST_FRAME.load(Ordering::Relaxed).clamp(512, 64 * 1024));
        frame.extend_from_slice(prefix);
        frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        serde_json::to_writer(&mut frame, id)?;
        frame.push(b',');
        outcome.write(&mut frame, era)?;
        frame.push(b'}');
        frame.extend_from_slice(suffix);
        LAST_FRAME.store(frame.len(), Ordering::Relaxed);
        Ok(Bytes::from(frame))
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
