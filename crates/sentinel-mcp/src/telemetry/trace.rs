//! Trace context: the W3C `traceparent` a request arrives with, one SERVER span per MCP request
//! and one CLIENT span per backend call (exported when an exporter is configured), and the
//! `traceparent` each call to Azure carries.
//!
//! With no exporter no span is built: the request still gets a trace id (its parent's, or a new
//! one) and a span id, which its log lines and its calls to Azure carry, at the cost of two
//! random numbers.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::logs::{LogContext, current_log_context};

/// Whether spans are exported (set once, when an exporter starts).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Where this server listens, for `server.address` / `server.port`.
static SERVER: OnceLock<(String, u16)> = OnceLock::new();

#[cfg(any(feature = "otlp", feature = "app-insights"))]
pub(super) fn start_exporting() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether spans are built and exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Records the address spans name as `server.address` / `server.port`.
pub fn set_server_address(host: String, port: u16) {
    let _ = SERVER.set((host, port));
}

/// Header names looked up on every request, parsed once (a `&str` name is parsed per lookup).
pub mod headers {
    use axum::http::HeaderName;

    pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
    pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
    pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
    pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
    pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
    /// The 2026-07-28 revision's method and tool name headers (SEP-2243).
    pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
    pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
}

/// The longest `tracestate` kept (the W3C limit for what a vendor must propagate).
const MAX_TRACESTATE: usize = 512;

/// A W3C trace context: the parent a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
    /// `tracestate`, kept when well formed.
    pub state: Option<String>,
}

impl TraceParent {
    /// Reads a `traceparent` (and its `tracestate`). A malformed one is `None`: as the W3C
    /// specification says, the request then starts a new trace.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceParent> {
        let mut parts = traceparent.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        // Version 00 has exactly four fields; a later version may append more.
        if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|&t| t != 0)?;
        let span_id = u64::from_str_radix(span, 16).ok().filter(|&s| s != 0)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        let state = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE)
            .filter(|s| s.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .map(String::from);
        Some(TraceParent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            state,
        })
    }

    /// The context of one of our spans.
    fn of(ids: &SpanContext) -> TraceParent {
        TraceParent {
            trace_id: u128::from_be_bytes(ids.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(ids.span_id().to_bytes()),
            sampled: ids.is_sampled(),
            state: None,
        }
    }

    /// The `traceparent` header naming this context.
    pub fn header(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }

    /// `traceparent` (and `tracestate`) from a JSON-RPC request's `_meta`, where MCP clients
    /// put the context of the call (the header belongs to the HTTP request, which on legacy
    /// SSE carries no call's context).
    pub fn from_meta(meta: &serde_json::Map<String, serde_json::Value>) -> Option<TraceParent> {
        let parent = meta.get("traceparent")?.as_str()?;
        TraceParent::parse(parent, meta.get("tracestate").and_then(|s| s.as_str()))
    }
}

fn random_trace_id() -> u128 {
    rand::random::<u128>() | 1
}

fn random_span_id() -> u64 {
    rand::random::<u64>() | 1
}

/// What a SERVER span says about its MCP request.
pub struct RequestAttributes<'a> {
    /// `tools/call`, `tools/list`, `initialize`…
    pub method: &'static str,
    /// The tool of a `tools/call`.
    pub tool: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
    pub jsonrpc_id: &'a dyn std::fmt::Display,
    /// `tcp` for HTTP, `pipe` for stdio.
    pub network_transport: &'static str,
    /// The caller's object id, once authenticated.
    pub enduser: Option<&'a str>,
    /// The HTTP request id (`X-Request-Id`, echoed to the client): how an operator finds the call.
    pub request_id: &'a str,
}

/// One MCP request's place in its trace: its SERVER span (disabled unless exporting) and the
/// ids its log lines and backend calls carry.
pub struct RequestSpan {
    pub span: tracing::Span,
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
}

impl RequestSpan {
    /// Starts the span of one MCP request, child of `parent` when the client sent one, else the
    /// root of a new trace.
    pub fn start(parent: Option<&TraceParent>, attrs: &RequestAttributes<'_>) -> RequestSpan {
        if !exporting() {
            return RequestSpan {
                span: tracing::Span::none(),
                trace_id: parent.map_or_else(random_trace_id, |p| p.trace_id),
                span_id: random_span_id(),
                sampled: parent.is_none_or(|p| p.sampled),
            };
        }
        let name = match attrs.tool {
            Some(tool) => format!("{} {tool}", attrs.method),
            None => attrs.method.to_string(),
        };
        let (address, port) = SERVER
            .get()
            .map_or(("", 0), |(host, port)| (host.as_str(), *port));
        let span = tracing::info_span!(
            target: "sentinel_mcp::request",
            "mcp.request",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            mcp.method.name = attrs.method,
            mcp.session.id = attrs.session_id,
            mcp.protocol.version = attrs.protocol_version,
            jsonrpc.request.id = %attrs.jsonrpc_id,
            gen_ai.tool.name = attrs.tool,
            gen_ai.operation.name = attrs.tool.map(|_| "execute_tool"),
            gen_ai.tool.call.arguments = Empty,
            error.type = Empty,
            network.transport = attrs.network_transport,
            server.address = address,
            server.port = port,
            enduser.id = attrs.enduser,
            request_id = attrs.request_id,
            kql.query_length = Empty,
            kql.row_count = Empty,
            kql.executor = Empty,
        );
        let parent_cx = match parent {
            Some(p) => opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from(p.trace_id),
                SpanId::from(p.span_id),
                if p.sampled {
                    TraceFlags::SAMPLED
                } else {
                    TraceFlags::default()
                },
                true,
                p.state
                    .as_deref()
                    .and_then(|s| s.parse::<TraceState>().ok())
                    .unwrap_or_default(),
            )),
            None => opentelemetry::Context::new(),
        };
        let _ = span.set_parent(parent_cx);
        let ids = span.context().span().span_context().clone();
        RequestSpan::from_context(span, &ids, parent)
    }

    /// The ids of a started span; a span the sampler left out still has them.
    fn from_context(span: tracing::Span, ids: &SpanContext, parent: Option<&TraceParent>) -> Self {
        if !ids.is_valid() {
            return RequestSpan {
                span,
                trace_id: parent.map_or_else(random_trace_id, |p| p.trace_id),
                span_id: random_span_id(),
                sampled: false,
            };
        }
        let ids = TraceParent::of(ids);
        RequestSpan {
            trace_id: ids.trace_id,
            span_id: ids.span_id,
            sampled: ids.sampled,
            span,
        }
    }

    /// Ends the request's span with its outcome: `error_type` (`tool_error`, or the JSON-RPC
    /// error's kind) marks it failed.
    pub fn finish(&self, error_type: Option<&str>) {
        if let Some(error) = error_type {
            self.span.record("error.type", error);
            self.span.record("otel.status_code", "ERROR");
        }
    }

    /// The log context of the request: its ids, beside the HTTP request's.
    pub fn log_context(
        &self,
        request_id: String,
        session_id: Option<&str>,
        oid: Option<&str>,
    ) -> LogContext {
        LogContext::new(
            request_id,
            session_id,
            Some((self.trace_id, self.span_id)),
            oid,
        )
    }
}

/// Names, on the current request's span, what ran its KQL (`kql.executor`).
pub fn record_executor(executor: &'static str) {
    tracing::Span::current().record("kql.executor", executor);
}

/// The `traceparent` of a backend call made now, and its CLIENT span when exporting. Inside an
/// MCP request the call joins its trace (the span is the request span's child); outside one (a
/// readiness probe, a token fetched by the authentication check) it starts its own.
pub fn client_span(
    name: &str,
    service: &str,
    method: &str,
    url_template: &str,
) -> (tracing::Span, String) {
    if exporting() {
        let span = tracing::info_span!(
            target: "sentinel_mcp::backend",
            "backend.call",
            otel.name = %name,
            otel.kind = "client",
            otel.status_code = Empty,
            azure.service = service,
            http.request.method = method,
            url.template = url_template,
            server.address = Empty,
            http.response.status_code = Empty,
            http.request.resend_count = Empty,
            azure.client_request_id = Empty,
            error.type = Empty,
        );
        let ids = span.context().span().span_context().clone();
        if ids.is_valid() {
            return (span, TraceParent::of(&ids).header());
        }
    }
    let (trace_id, sampled) = current_log_context()
        .and_then(|c| c.trace())
        .map_or_else(|| (random_trace_id(), true), |(t, _, s)| (t, s));
    let parent = TraceParent {
        trace_id,
        span_id: random_span_id(),
        sampled,
        state: None,
    };
    (tracing::Span::none(), parent.header())
}

/// A URL as a span names it: no query string, and the segments that are ids (GUIDs, numbers)
/// as `{id}`, so calls to one API group together.
pub fn url_template(url: &str) -> (String, String) {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let (origin, path) = match without_query.find("://") {
        Some(scheme_end) => {
            let rest = &without_query[scheme_end + 3..];
            let path_at = rest
                .find('/')
                .map_or(without_query.len(), |i| scheme_end + 3 + i);
            without_query.split_at(path_at)
        }
        None => ("", without_query),
    };
    let host = origin.split("://").nth(1).unwrap_or("").to_string();
    let template = path
        .split('/')
        .map(|segment| {
            if segment.bytes().any(|b| b.is_ascii_digit()) && segment.len() >= 8 {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    (host, template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_traceparent_is_read_and_written_back_the_same() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent = TraceParent::parse(text, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(parent.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(parent.span_id, 0x00f067aa0ba902b7);
        assert!(parent.sampled);
        assert_eq!(parent.state.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(parent.header(), text);
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert!(!TraceParent::parse(unsampled, None).unwrap().sampled);
    }

    #[test]
    fn malformed_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad, None), None, "{bad:?}");
        }
        // A later version may carry more fields.
        assert!(
            TraceParent::parse(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab",
                None
            )
            .is_some()
        );
        // A tracestate that is not printable ASCII is dropped, the parent kept.
        let p = TraceParent::parse(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            Some("a=\u{7}"),
        )
        .unwrap();
        assert_eq!(p.state, None);
    }

    #[test]
    fn url_templates_drop_the_query_and_ids() {
        let (host, template) = url_template(
            "https://api.loganalytics.azure.com/v1/workspaces/8d2a7e1c-5b4f-4c7e-9a0b-1f2e3d4c5b6a/query?timespan=P1D",
        );
        assert_eq!(host, "api.loganalytics.azure.com");
        assert_eq!(template, "/v1/workspaces/{id}/query");
        let (_, template) = url_template("http://127.0.0.1:9/tenant/oauth2/v2.0/token");
        assert_eq!(template, "/tenant/oauth2/v2.0/token");
    }
}
