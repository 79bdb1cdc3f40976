//! Logging: structured lines on stderr (stdout belongs to the stdio transport).

use std::cell::RefCell;
use std::fmt;

use serde::ser::{SerializeMap, Serializer as _};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber; `RUST_LOG` overrides the level from `DEBUG`.
pub fn init(settings: &Settings) {
    let default = if settings.debug {
        "debug,hyper=info,h2=info"
    } else {
        // rmcp logs every stateless request and session at info; its warnings are what matter.
        "info,rmcp=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines::default())
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The JSON line format: tracing-subscriber's flattened JSON with the current span, byte for byte.
///
/// Its formatter serializes through an `io::Write` adaptor that UTF-8-checks and copies each of
/// the ~100 pieces of a line separately (a quarter of a `tools/call`'s instructions went to the
/// audit line). Events outside any span, every request's audit line among them, are serialized
/// here the same way into one byte buffer instead; the rest go to the stock formatter.
struct JsonLines {
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
        let in_span = event.parent().is_some() || ctx.lookup_current().is_some();
        // Events bridged from the `log` crate have their metadata rewritten by the stock formatter.
        let from_log = event.metadata().fields().field("log.target").is_some();
        if in_span || from_log {
            return self.stock.format_event(ctx, writer, event);
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
            serialize_flat(buf, &timestamp, event).map_err(|_| fmt::Error)?;
            let text = std::str::from_utf8(buf).map_err(|_| fmt::Error)?;
            writer.write_str(text)?;
            writeln!(writer)
        })
    }
}

/// `{"timestamp", "level", the event's fields, "target"}`: the stock JSON format outside a span.
fn serialize_flat(buf: &mut Vec<u8>, timestamp: &str, event: &Event<'_>) -> serde_json::Result<()> {
    let meta = event.metadata();
    let mut serializer = serde_json::Serializer::new(buf);
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("timestamp", timestamp)?;
    map.serialize_entry("level", meta.level().as_str())?;
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
