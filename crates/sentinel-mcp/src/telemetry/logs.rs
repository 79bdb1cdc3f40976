//! Log lines: structured lines on stderr (stdout belongs to the stdio transport), each line
//! written inside a request carrying that request's ids.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use serde::ser::{SerializeMap, Serializer as _};
use tracing::{Event, Subscriber};

use super::trace::TraceParent;
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

thread_local! {
    /// The request whose work is being polled on this thread: every log line it writes names it.
    static CURRENT: RefCell<Option<Arc<LogContext>>> = const { RefCell::new(None) };
}

/// What every log line written for one request carries: `request_id`, `session_id`,
/// `trace_id`/`span_id` (how Application Insights and Log Analytics join lines to traces) and
/// the caller's object id once authenticated.
#[derive(Debug)]
pub struct LogContext {
    request_id: String,
    session_id: Option<String>,
    /// Trace id and span id; with `sampled`, what a backend call's `traceparent` continues.
    trace: Option<(u128, u64)>,
    sampled: bool,
    oid: OnceLock<String>,
    /// The trace context the HTTP request named (`traceparent`, `tracestate`).
    parent: Option<TraceParent>,
}

impl LogContext {
    pub fn new(
        request_id: String,
        session_id: Option<&str>,
        trace: Option<(u128, u64)>,
        oid: Option<&str>,
    ) -> LogContext {
        let context = LogContext {
            request_id,
            session_id: session_id.map(String::from),
            trace,
            sampled: true,
            oid: OnceLock::new(),
            parent: None,
        };
        if let Some(oid) = oid {
            context.set_oid(oid);
        }
        context
    }

    /// The context of an HTTP request that names its trace: its lines carry that trace id.
    pub fn with_parent(mut self, parent: Option<TraceParent>) -> LogContext {
        self.trace = parent.as_ref().map(|p| (p.trace_id, 0));
        self.parent = parent;
        self
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The trace context the HTTP request named.
    pub fn parent(&self) -> Option<&TraceParent> {
        self.parent.as_ref()
    }

    /// Marks the trace as one the client asked not to sample.
    pub fn with_sampled(mut self, sampled: bool) -> LogContext {
        self.sampled = sampled;
        self
    }

    /// The caller, once authentication names it.
    pub fn set_oid(&self, oid: &str) {
        let _ = self.oid.set(oid.to_string());
    }

    /// Trace id, span id and whether the trace is sampled.
    pub fn trace(&self) -> Option<(u128, u64, bool)> {
        self.trace.map(|(t, s)| (t, s, self.sampled))
    }

    /// Calls `member` with each field a line gets, skipping those the event names itself (the
    /// audit line has its own `request_id`, `session_id` and `oid`). Ids are formatted on the
    /// stack: this runs for every line written inside a request.
    fn for_each_member(&self, event: &Event<'_>, mut member: impl FnMut(&'static str, &str)) {
        // One pass over the event's field names (a lookup per member would scan them each time).
        let mut own = 0u8;
        for field in event.metadata().fields() {
            if let Some(i) = MEMBERS.iter().position(|m| *m == field.name()) {
                own |= 1 << i;
            }
        }
        let mut give = |i: usize, value: &str| {
            if own & (1 << i) == 0 {
                member(MEMBERS[i], value);
            }
        };
        if !self.request_id.is_empty() {
            give(0, &self.request_id);
        }
        if let Some(session) = &self.session_id {
            give(1, session);
        }
        if let Some((trace_id, span_id)) = self.trace {
            give(2, hex(trace_id, &mut [0; 32]));
            // 0: the HTTP request named its trace, no span of ours has started yet.
            if span_id != 0 {
                give(3, hex(u128::from(span_id), &mut [0; 16]));
            }
        }
        if let Some(oid) = self.oid.get() {
            give(4, oid);
        }
    }

    /// The fields as JSON members, each followed by a comma.
    fn write_members(&self, event: &Event<'_>, out: &mut String) {
        self.for_each_member(event, |name, value| {
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            // Strings from a client (request and session ids) are escaped like any value.
            match serde_json::to_string(value) {
                Ok(quoted) => out.push_str(&quoted),
                Err(_) => out.push_str("null"),
            }
            out.push(',');
        });
    }
}

/// `value`'s low `out.len()` hex digits, lowercase, as text in `out`.
fn hex(value: u128, out: &mut [u8]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let len = out.len();
    for (i, digit) in out.iter_mut().enumerate() {
        let shift = 4 * (len - 1 - i);
        *digit = DIGITS[((value >> shift) & 0xf) as usize];
    }
    std::str::from_utf8(out).unwrap_or_default()
}

/// The fields a request's lines carry, in order.
const MEMBERS: [&str; 5] = ["request_id", "session_id", "trace_id", "span_id", "oid"];

pin_project_lite::pin_project! {
    /// A request's work: while it is polled, its log context is the thread's and its span (when
    /// one is built) is entered. One wrapper for both, so the work's future is moved once.
    pub struct InRequest<F> {
        context: Option<Arc<LogContext>>,
        span: tracing::Span,
        #[pin]
        work: F,
    }
}

/// Runs `work` as the request `context` names, inside `span` (`Span::none()` for none).
pub fn in_request<F: Future>(
    context: Arc<LogContext>,
    span: tracing::Span,
    work: F,
) -> InRequest<F> {
    InRequest {
        context: Some(context),
        span,
        work,
    }
}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let outer = CURRENT.with(|current| current.replace(this.context.take()));
        // Put back whatever was there, even if the work panics.
        let _restore = Restore {
            slot: this.context,
            outer,
        };
        this.work.poll(cx)
    }
}

struct Restore<'a> {
    slot: &'a mut Option<Arc<LogContext>>,
    outer: Option<Arc<LogContext>>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        *self.slot = CURRENT.with(|current| current.replace(self.outer.take()));
    }
}

/// The context of the request being polled on this thread, if any.
pub fn current_log_context() -> Option<Arc<LogContext>> {
    CURRENT.with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
}

/// The JSON line format: tracing-subscriber's flattened JSON with the current span, byte for byte.
///
/// Its formatter serializes through an `io::Write` adaptor that UTF-8-checks and copies each of
/// the ~100 pieces of a line separately (a quarter of a `tools/call`'s instructions went to the
/// audit line). Events outside any span, every request's audit line among them, are serialized
/// here the same way into one byte buffer instead; the rest go to the stock formatter.
pub(super) struct JsonLines {
    stock: Format<Json, SystemTime>,
}

impl Default for JsonLines {
    fn default() -> JsonLines {
        JsonLines {
            stock: tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(true),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let context = current_log_context();
        let in_span = event.parent().is_some() || ctx.lookup_current().is_some();
        // Events bridged from the `log` crate have their metadata rewritten by the stock formatter.
        let from_log = event.metadata().fields().field("log.target").is_some();
        if in_span || from_log {
            let Some(context) = context else {
                return self.stock.format_event(ctx, writer, event);
            };
            let mut line = String::new();
            self.stock
                .format_event(ctx, Writer::new(&mut line), event)?;
            return writer.write_str(&with_context(line, &context, event));
        }
        thread_local! {
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        LINE.with(|line| {
            let mut fresh = Vec::new();
            let mut borrowed = line.try_borrow_mut();
            let buf = match borrowed.as_deref_mut() {
                Ok(buf) => buf,
                Err(_) => &mut fresh,
            };
            buf.clear();
            let mut timestamp = String::new();
            SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
            serialize_flat(buf, &timestamp, event, context.as_deref()).map_err(|_| fmt::Error)?;
            let text = std::str::from_utf8(buf).map_err(|_| fmt::Error)?;
            writer.write_str(text)?;
            writeln!(writer)
        })
    }
}

/// A JSON line with the request's fields added after its `level`.
fn with_context(line: String, context: &LogContext, event: &Event<'_>) -> String {
    let mut members = String::new();
    context.write_members(event, &mut members);
    if members.is_empty() {
        return line;
    }
    // Both formats start `{"timestamp":"…","level":"INFO",`; any other line gets the fields first.
    let at = line
        .find("\"level\":\"")
        .and_then(|level| line[level + 9..].find("\",").map(|end| level + 9 + end + 2))
        .unwrap_or(1);
    let mut out = String::with_capacity(line.len() + members.len());
    out.push_str(&line[..at]);
    out.push_str(&members);
    out.push_str(&line[at..]);
    out
}

/// `{"timestamp", "level", the event's fields, "target"}`: the stock JSON format outside a span.
fn serialize_flat(
    buf: &mut Vec<u8>,
    timestamp: &str,
    event: &Event<'_>,
    context: Option<&LogContext>,
) -> serde_json::Result<()> {
    let meta = event.metadata();
    let mut serializer = serde_json::Serializer::new(buf);
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("timestamp", timestamp)?;
    map.serialize_entry("level", meta.level().as_str())?;
    if let Some(context) = context {
        let mut written = Ok(());
        context.for_each_member(event, |name, value| {
            if written.is_ok() {
                written = map.serialize_entry(name, value);
            }
        });
        written?;
    }
    let mut visitor = tracing_serde::SerdeMapVisitor::new(map);
    event.record(&mut visitor);
    let mut map = visitor.take_serializer()?;
    map.serialize_entry("target", meta.target())?;
    map.end()
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// Events of every field kind, outside and inside spans, through `subscriber`.
    fn emit_all(subscriber: impl Subscriber + Send + Sync + 'static) {
        tracing::subscriber::with_default(subscriber, || {
            let roles = vec!["Reader".to_string()];
            let none: Option<&str> = None;
            let error = io::Error::other("disk \"full\"\n");
            tracing::info!(
                target: "audit",
                tool = "list_sentinel_tables",
                rows = Some(3u64),
                skipped = none,
                delta = -2i64,
                ratio = 0.5f64,
                nan = f64::NAN,
                ok = true,
                arguments = %"{\"query\":\"T | take 1\"}",
                roles = ?roles,
                error = &error as &dyn std::error::Error,
                big = 1u128 << 100,
                "tool call"
            );
            tracing::warn!("plain message with a tab\t and unicode é \u{1}");
            let span = tracing::info_span!("request", request_id = "r-1", path = "/sse");
            span.in_scope(|| tracing::info!(session_id = "s", "inside a span"));
            tracing::error!(parent: &span, "explicit parent");
        });
    }

    /// The lines written through the stock formatter or ours, each without its timestamp (the
    /// clock moves between the runs), as text: same fields, same order, same escaping.
    fn lines(stock: bool) -> Vec<String> {
        let out = Captured::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_max_level(tracing::Level::TRACE)
            .json()
            .flatten_event(true)
            .with_current_span(true);
        if stock {
            emit_all(builder.finish());
        } else {
            emit_all(builder.event_format(JsonLines::default()).finish());
        }
        let bytes = out.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes)
            .unwrap_or_default()
            .lines()
            .map(|line| match line.split_once("\",\"level\":") {
                Some((timestamp, rest)) if timestamp.starts_with("{\"timestamp\":\"") => {
                    rest.to_string()
                }
                _ => format!("no timestamp first: {line}"),
            })
            .collect()
    }

    #[test]
    fn json_lines_match_the_stock_json_format_byte_for_byte() {
        let stock = lines(true);
        assert_eq!(stock.len(), 4);
        assert_eq!(lines(false), stock);
    }
}
