//! Log lines: structured lines on stderr (stdout belongs to the stdio transport), each line
//! written inside a request carrying that request's ids.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

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
            write_flat(buf, event, context.as_deref())?;
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

/// `{"timestamp", "level", the event's fields, "target"}`: the stock JSON format outside a span,
/// written straight into `buf` (serde's map serializer and a `fmt` pass for the timestamp cost
/// most of a request's audit line).
fn write_flat(buf: &mut Vec<u8>, event: &Event<'_>, context: Option<&LogContext>) -> fmt::Result {
    let meta = event.metadata();
    buf.extend_from_slice(b"{\"timestamp\":\"");
    let now = std::time::SystemTime::now();
    match now
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(rfc3339_micros)
    {
        Some(text) => buf.extend_from_slice(&text),
        None => {
            // Before 1970 or after 9999: the stock formatter's signed or long years.
            let mut text = String::new();
            SystemTime.format_time(&mut Writer::new(&mut text))?;
            push_escaped(buf, &text);
        }
    }
    buf.extend_from_slice(b"\",\"level\":\"");
    buf.extend_from_slice(meta.level().as_str().as_bytes());
    buf.push(b'"');
    let mut fields = JsonFields { buf };
    if let Some(context) = context {
        context.for_each_member(event, |name, value| fields.record(name, value));
    }
    event.record(&mut fields);
    fields.record("target", meta.target());
    buf.push(b'}');
    Ok(())
}

/// Writes each field as `,"name":value`, as `tracing-serde`'s map visitor serializes it: bools
/// and 64-bit numbers as JSON numbers (a non-finite float as `null`), everything else as the
/// string its `Debug` writes.
struct JsonFields<'a> {
    buf: &'a mut Vec<u8>,
}

impl JsonFields<'_> {
    fn key(&mut self, name: &str) {
        self.buf.push(b',');
        push_quoted(self.buf, name);
        self.buf.push(b':');
    }

    fn record(&mut self, name: &str, value: &str) {
        self.key(name);
        push_quoted(self.buf, value);
    }

    fn number(&mut self, name: &str, value: impl serde::Serialize) {
        self.key(name);
        // Writing a number into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *self.buf, &value);
    }
}

impl tracing::field::Visit for JsonFields<'_> {
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.key(field.name());
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.number(field.name(), value);
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.number(field.name(), value);
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.number(field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.record(field.name(), value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.key(field.name());
        self.buf.push(b'"');
        // Escaping is per character, so escaping each piece `Debug` writes is escaping the whole.
        let _ = fmt::write(&mut Escaping(self.buf), format_args!("{value:?}"));
        self.buf.push(b'"');
    }
}

/// A `fmt::Write` that appends what it is given as the contents of a JSON string.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_escaped(self.0, text);
        Ok(())
    }
}

/// `text` as a JSON string, quotes included.
fn push_quoted(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    push_escaped(buf, text);
    buf.push(b'"');
}

/// `text` escaped as serde_json escapes a string's contents. Most of what a line holds (ids,
/// names, the message) needs no escape: those bytes are copied as they are.
fn push_escaped(buf: &mut Vec<u8>, text: &str) {
    if !needs_escape(text.as_bytes()) {
        buf.extend_from_slice(text.as_bytes());
        return;
    }
    let start = buf.len();
    // serde_json writes `"…"`; keep what is between the quotes. Writing into a `Vec` cannot fail.
    if serde_json::to_writer(&mut *buf, text).is_ok() && buf.len() >= start + 2 {
        buf.pop();
        buf.remove(start);
    }
}

/// Whether `bytes` hold a control character, `"` or `\` (what a JSON string escapes), eight
/// bytes at a time: a byte-wise loop cost more than the rest of a log line's formatting.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `word` that is zero sets its high bit here (bytes above it may too: only
    // "any" is asked).
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGH != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // Bytes below 0x20: subtracting 0x20 borrows out of them (ASCII bytes only: a byte
        // of 0x80 or more has its high bit set already and is masked off by `!word`).
        let control = word.wrapping_sub(0x20 * ONES) & !word & HIGH != 0;
        if control
            || has_zero(word ^ (u64::from(b'"') * ONES))
            || has_zero(word ^ (u64::from(b'\\') * ONES))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// `since_epoch` as tracing-subscriber's `SystemTime` writes it (`2026-12-05T16:24:01.205301Z`),
/// for years 1970 to 9999; `None` beyond 9999, where its format changes.
fn rfc3339_micros(since_epoch: std::time::Duration) -> Option<[u8; 27]> {
    const YEAR_10000: u64 = 253_402_300_800;
    let secs = since_epoch.as_secs();
    if secs >= YEAR_10000 {
        return None;
    }
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3600);
    put(14, 2, of_day / 60 % 60);
    put(17, 2, of_day % 60);
    put(20, 6, u64::from(since_epoch.subsec_micros()));
    Some(out)
}

/// Year, month and day of the `days`th day after 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
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
                path = "C:\\logs\t\"x\" \u{7f} \u{1f} é",
                most = u64::MAX,
                least = i64::MIN,
                tiny = -1.5e-300f64,
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
    fn the_word_at_a_time_escape_check_agrees_with_the_byte_by_byte_one() {
        let bytewise = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 1..=17 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    // Every byte value at every place, among bytes that need no escape, both
                    // below and above 0x80 (where a borrow could leak into the next byte).
                    for filler in [b'a', 0xff, b'!', b'#'] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = byte;
                        assert_eq!(needs_escape(&bytes), bytewise(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn timestamps_are_written_as_the_stock_formatter_writes_them() {
        use std::time::Duration;
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 7, "2000-02-29T00:00:00.000007Z"),
            (1_709_164_799, 999_999, "2024-02-28T23:59:59.999999Z"),
            (4_107_542_399, 10, "2100-02-28T23:59:59.000010Z"),
            (4_107_542_400, 0, "2100-03-01T00:00:00.000000Z"),
            (1_764_952_441, 205_301, "2025-12-05T16:34:01.205301Z"),
            (253_402_300_799, 123_456, "9999-12-31T23:59:59.123456Z"),
        ];
        for (secs, micros, expected) in cases {
            let text = rfc3339_micros(Duration::new(secs, micros * 1_000 + 999));
            assert_eq!(
                text.as_ref().map(|t| std::str::from_utf8(t)),
                Some(Ok(expected))
            );
        }
        // Year 10000 onwards the stock format writes `+10000`: that is left to it.
        assert_eq!(rfc3339_micros(Duration::from_secs(253_402_300_800)), None);
        // Now, against the stock formatter read before and after (up to the second: the clock
        // moves between the reads; a second boundary between them retries).
        let stock = || {
            let mut text = String::new();
            SystemTime
                .format_time(&mut Writer::new(&mut text))
                .map(|()| text)
        };
        let agreed = (0..5).any(|_| {
            let before = stock();
            let ours = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(rfc3339_micros);
            let after = stock();
            let second = |t: &str| t.get(..19).map(str::to_string);
            match (before, after, ours) {
                (Ok(b), Ok(a), Some(ours)) if second(&b) == second(&a) => {
                    let ours = String::from_utf8_lossy(&ours).into_owned();
                    assert_eq!(second(&ours), second(&b), "{ours} vs {b}");
                    true
                }
                _ => false,
            }
        });
        assert!(agreed);
    }

    #[test]
    fn json_lines_match_the_stock_json_format_byte_for_byte() {
        let stock = lines(true);
        assert_eq!(stock.len(), 4);
        assert_eq!(lines(false), stock);
    }
}
