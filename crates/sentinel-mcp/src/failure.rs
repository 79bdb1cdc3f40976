//! What a failed tool call looks like to the client and to the log. Failures the caller can act on
//! (bad arguments, a busy server) keep their detail; internal ones (a panic, a task that failed,
//! an encoding failure, an unexpected backend answer) reach the client as a generic message with
//! the request id, and their detail goes to the log (to the client too with `DEBUG=true`).

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Once};

use futures::FutureExt;
use rmcp::ErrorData;
use serde_json::json;

use crate::limits::Busy;

/// Why a tool call has no result.
#[derive(Debug)]
pub enum CallFailure {
    /// A protocol-level error the caller can fix (invalid arguments: -32602).
    Invalid(ErrorData),
    /// No slot for the call or its query; try again later.
    Busy(Busy),
    /// Something failed inside the server; the detail is for the log.
    Internal(String),
    /// The tool panicked; the panic message and where.
    Panic(String),
}

impl CallFailure {
    /// The audit log's name for the outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallFailure::Invalid(_) => "invalid_params",
            CallFailure::Busy(_) => "busy",
            CallFailure::Internal(_) => "internal_error",
            CallFailure::Panic(_) => "panic",
        }
    }

    /// The JSON-RPC error the client gets: an internal failure names `request_id`, under which
    /// its detail is logged; `debug` shows the detail to the client too.
    pub fn into_error(self, request_id: &str, debug: bool) -> ErrorData {
        let (kind, detail) = match self {
            CallFailure::Invalid(e) => return e,
            CallFailure::Busy(busy) => return busy.error(),
            CallFailure::Internal(detail) => ("internal error", detail),
            CallFailure::Panic(detail) => ("panic", detail),
        };
        let mut message = format!(
            "Internal error: the server could not complete this call. The server log has the details under request id {request_id}."
        );
        if debug {
            message.push_str(&format!(" Detail ({kind}): {detail}"));
        }
        ErrorData::internal_error(message, Some(json!({"requestId": request_id})))
    }
}

tokio::task_local! {
    /// The request id of the tool call being polled: a panic in it is logged with it.
    static CALL: Arc<str>;
}

thread_local! {
    /// Where the last panic inside a tool call happened, filled by the panic hook on the
    /// panicking thread and read right after the unwind is caught there.
    static PANIC_SITE: Cell<Option<String>> = const { Cell::new(None) };
}

/// Runs a tool call, turning a panic into [`CallFailure::Panic`] with its message and location.
/// The panic hook logs each panic inside a call once, as an error with `request_id` (instead of
/// the process's usual panic output), whether the call or code inside it catches the unwind.
/// A plain function over the call's future, not an `async fn`: an `async` wrapper would hold the
/// (large) tool future twice and copy it on every spawn.
pub fn catch_panic<F: Future>(
    request_id: Arc<str>,
    call: F,
) -> impl Future<Output = Result<F::Output, CallFailure>> {
    install_panic_hook();
    CALL.scope(request_id, AssertUnwindSafe(call).catch_unwind())
        .map(|caught| {
            caught.map_err(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                let site = PANIC_SITE.take().unwrap_or_default();
                CallFailure::Panic(format!("{message} at {site}"))
            })
        })
}

/// Chains a panic hook that logs a panic inside [`catch_panic`] as one error line with its
/// request id, message and location; every other panic goes to the hook that was there before.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let site = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let logged = CALL.try_with(|request_id| {
                tracing::error!(
                    request_id = &**request_id,
                    panic = info.payload_as_str().unwrap_or("a panic without a message"),
                    location = site,
                    "a tool call panicked"
                );
            });
            match logged {
                Ok(()) => PANIC_SITE.set(Some(site)),
                Err(_) => previous(info),
            }
        }));
    });
}

/// A test hook, compiled only into debug builds: with `SENTINEL_MCP_TEST_PANIC=<marker>` set, a
/// query containing `<marker>:<site>` panics at that site (`tool`: in the tool call; `engine`: on
/// the local engine's blocking thread). Release builds have no such hook.
#[cfg(debug_assertions)]
pub(crate) fn test_panic(site: &str, query: &str) {
    static MARKER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let marker = MARKER.get_or_init(|| {
        std::env::var("SENTINEL_MCP_TEST_PANIC")
            .ok()
            .filter(|m| !m.is_empty())
    });
    if let Some(marker) = marker
        && query.contains(&format!("{marker}:{site}"))
    {
        panic!("test panic requested at the {site} site");
    }
}

/// Release builds: no hook.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn test_panic(_site: &str, _query: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_failure_with_its_message_and_location() {
        fn explode() -> u32 {
            panic!("boom {}", 7)
        }
        let r = catch_panic("req-7".into(), async { explode() }).await;
        let Err(CallFailure::Panic(detail)) = r else {
            panic!("not caught: {r:?}")
        };
        assert!(detail.starts_with("boom 7 at "), "{detail}");
        assert!(detail.contains("failure.rs:"), "{detail}");
        assert_eq!(catch_panic("req-8".into(), async { 3 }).await.unwrap(), 3);
    }

    #[test]
    fn internal_detail_reaches_the_client_only_with_debug() {
        let e = CallFailure::Internal("secret path /var/x".into()).into_error("req-1", false);
        assert_eq!(e.code, rmcp::model::ErrorCode::INTERNAL_ERROR);
        assert!(!e.message.contains("/var/x"), "{}", e.message);
        assert!(e.message.contains("req-1"));
        assert_eq!(e.data, Some(json!({"requestId": "req-1"})));
        let e = CallFailure::Internal("secret path /var/x".into()).into_error("req-1", true);
        assert!(e.message.contains("/var/x"), "{}", e.message);
    }
}
