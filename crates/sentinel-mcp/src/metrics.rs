//! Prometheus metrics: one process-wide registry of typed families (`prometheus-client`),
//! encoded as OpenMetrics text at `/metrics` (docs/observability.md lists every series).
//!
//! Every label value is a `&'static str` chosen by the server (a transport, a reason, a tool name
//! from the catalogue, never a client's text), so a series costs no allocation once it exists and
//! no client can grow the label space. Counters and histograms move where the event happens;
//! gauges that mirror a registry (open sessions, call slots) are read when `/metrics` is scraped,
//! so they are exact by construction.

use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// The `mcp.server.operation.duration` and `mcp.server.session.duration` buckets of the
/// OpenTelemetry MCP semantic conventions, in seconds.
const MCP_DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Rows a tool call answered (the caps are `SENTINEL_MCP_MAX_ROWS_LIMIT`, at most 10,000).
const ROW_BUCKETS: [f64; 9] = [0.0, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0];
/// Backend calls: Azure answers in milliseconds to minutes.
const BACKEND_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// An MCP transport, as the `transport` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `GET /sse` + `POST /messages`.
    LegacySse,
    /// `/mcp`.
    Streamable,
}

impl Transport {
    fn label(self) -> TransportLabel {
        TransportLabel {
            transport: match self {
                Transport::LegacySse => "legacy_sse",
                Transport::Streamable => "streamable",
            },
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed its stream (legacy SSE) or sent DELETE (Streamable HTTP).
    ClientGone,
    /// No request for `SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS` (or, on Streamable HTTP, its
    /// session worker ended on its own).
    IdleTimeout,
    /// The server shut down.
    Drain,
}

impl SessionEnd {
    fn label(self) -> &'static str {
        match self {
            SessionEnd::ClientGone => "client_gone",
            SessionEnd::IdleTimeout => "idle_timeout",
            SessionEnd::Drain => "drain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SessionClosedLabels {
    transport: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    method: &'static str,
    tool: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ToolCallLabels {
    tool: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ToolLabel {
    tool: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BackendLabels {
    service: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ServiceLabel {
    service: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TokenLabels {
    identity: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DroppedSpanLabels {
    exporter: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    git_commit: &'static str,
    features: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every series the server exports.
pub struct Metrics {
    registry: Registry,
    sessions_active: Family<TransportLabel, Gauge>,
    requests_in_flight: Family<TransportLabel, Gauge>,
    sessions_opened: Family<TransportLabel, Counter>,
    sessions_closed: Family<SessionClosedLabels, Counter>,
    session_duration: HistogramFamily<TransportLabel>,
    rejected: Family<ReasonLabel, Counter>,
    refused_calls: Family<ReasonLabel, Counter>,
    operation_duration: HistogramFamily<OperationLabels>,
    tool_calls: Family<ToolCallLabels, Counter>,
    result_rows: HistogramFamily<ToolLabel>,
    backend_calls: Family<BackendLabels, Counter>,
    backend_duration: HistogramFamily<ServiceLabel>,
    backend_retries: Family<ServiceLabel, Counter>,
    token_acquisitions: Family<TokenLabels, Counter>,
    spans_dropped: Family<DroppedSpanLabels, Counter>,
    relays: Family<OutcomeLabel, Counter>,
    /// `requests_in_flight` of each transport, resolved once.
    in_flight_legacy: Gauge,
    in_flight_streamable: Gauge,
    /// Read from the limits when `/metrics` is scraped.
    pub tool_calls_running: Gauge,
    pub tool_calls_waiting: Gauge,
    pub azure_queries_running: Gauge,
    pub azure_queries_waiting: Gauge,
    /// Queries the local engine is running: a cancelled call's query leaves at the engine's
    /// next check, not when its answer is dropped.
    local_queries_running: Gauge,
    pub rate_limit_buckets: Gauge,
    pub uptime_seconds: Gauge,
    /// Kept full results of truncated queries, and the memory they take.
    pub result_store_results: Gauge,
    pub result_store_bytes: Gauge,
}

fn mcp_duration_histogram() -> Histogram {
    Histogram::new(MCP_DURATION_BUCKETS)
}

fn row_histogram() -> Histogram {
    Histogram::new(ROW_BUCKETS)
}

fn backend_histogram() -> Histogram {
    Histogram::new(BACKEND_BUCKETS)
}

/// The cargo features this binary was built with, comma-separated, as the build-info metric
/// names them.
fn features_label() -> String {
    [
        ("datafusion", cfg!(feature = "datafusion")),
        ("parquet", cfg!(feature = "parquet")),
        ("otlp", cfg!(feature = "otlp")),
        ("app-insights", cfg!(feature = "app-insights")),
        ("redis", cfg!(feature = "redis")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect::<Vec<_>>()
    .join(",")
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            sessions_active: Family::default(),
            requests_in_flight: Family::default(),
            sessions_opened: Family::default(),
            sessions_closed: Family::default(),
            session_duration: Family::new_with_constructor(mcp_duration_histogram),
            rejected: Family::default(),
            refused_calls: Family::default(),
            operation_duration: Family::new_with_constructor(mcp_duration_histogram),
            tool_calls: Family::default(),
            result_rows: Family::new_with_constructor(row_histogram),
            backend_calls: Family::default(),
            backend_duration: Family::new_with_constructor(backend_histogram),
            backend_retries: Family::default(),
            token_acquisitions: Family::default(),
            spans_dropped: Family::default(),
            relays: Family::default(),
            in_flight_legacy: Gauge::default(),
            in_flight_streamable: Gauge::default(),
            tool_calls_running: Gauge::default(),
            tool_calls_waiting: Gauge::default(),
            azure_queries_running: Gauge::default(),
            azure_queries_waiting: Gauge::default(),
            local_queries_running: Gauge::default(),
            rate_limit_buckets: Gauge::default(),
            uptime_seconds: Gauge::default(),
            result_store_results: Gauge::default(),
            result_store_bytes: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register(
            "sentinel_mcp_sessions_active",
            "Open MCP sessions by transport (legacy_sse, streamable)",
            m.sessions_active.clone(),
        );
        r.register(
            "sentinel_mcp_requests_in_flight",
            "MCP requests received and not yet answered, by transport (the stateless Streamable HTTP era has no sessions: this is its load)",
            m.requests_in_flight.clone(),
        );
        r.register(
            "sentinel_mcp_sessions_opened",
            "MCP sessions opened, by transport",
            m.sessions_opened.clone(),
        );
        r.register(
            "sentinel_mcp_sessions_closed",
            "MCP sessions closed, by transport and reason (client_gone, idle_timeout, drain)",
            m.sessions_closed.clone(),
        );
        r.register_with_unit(
            "mcp_server_session_duration",
            "How long MCP sessions lasted, by transport (OpenTelemetry mcp.server.session.duration)",
            Unit::Seconds,
            m.session_duration.clone(),
        );
        r.register(
            "sentinel_mcp_rejected_requests",
            "HTTP requests to the MCP endpoints refused before reaching MCP, by reason (host, origin, auth_*, scope, body_size, session_quota, draining, connection_cap)",
            m.rejected.clone(),
        );
        r.register(
            "sentinel_mcp_refused_calls",
            "Tool calls refused by a limit, by reason (rate_limit, busy)",
            m.refused_calls.clone(),
        );
        r.register_with_unit(
            "mcp_server_operation_duration",
            "How long MCP requests took to answer, by method, tool and outcome (OpenTelemetry mcp.server.operation.duration)",
            Unit::Seconds,
            m.operation_duration.clone(),
        );
        r.register(
            "sentinel_mcp_tool_calls",
            "Tool calls answered, by tool and outcome (ok, tool_error, forbidden, invalid_params, busy, internal_error, panic)",
            m.tool_calls.clone(),
        );
        r.register(
            "sentinel_mcp_tool_result_rows",
            "Rows (or items) a successful tool call returned, by tool",
            m.result_rows.clone(),
        );
        r.register(
            "sentinel_mcp_backend_calls",
            "HTTP calls to Azure and Entra (every attempt), by service and status (the HTTP status, timeout or transport_error)",
            m.backend_calls.clone(),
        );
        r.register_with_unit(
            "sentinel_mcp_backend_call_duration",
            "How long each attempt of a backend call took, by service",
            Unit::Seconds,
            m.backend_duration.clone(),
        );
        r.register(
            "sentinel_mcp_backend_retries",
            "Backend call attempts that were retries (after a 429, a 5xx or a transport failure), by service",
            m.backend_retries.clone(),
        );
        r.register(
            "sentinel_mcp_token_acquisitions",
            "Entra access tokens fetched for Azure calls, by identity kind and outcome (ok, error)",
            m.token_acquisitions.clone(),
        );
        r.register(
            "sentinel_mcp_telemetry_spans_dropped",
            "Trace spans not delivered, by exporter and reason (export_failed: the collector or Application Insights refused or could not be reached; queue_full: more spans waiting than the exporter's queue holds)",
            m.spans_dropped.clone(),
        );
        r.register(
            "sentinel_mcp_relays",
            "Requests for a session another replica holds (SENTINEL_MCP_REDIS_URL), by outcome: relayed, no_session (no replica holds it), owner_gone (its replica no longer listens), redis_down, timeout (its replica did not answer)",
            m.relays.clone(),
        );
        r.register(
            "sentinel_mcp_tool_calls_running",
            "Tool calls holding one of the SENTINEL_MCP_MAX_CONCURRENT_CALLS slots",
            m.tool_calls_running.clone(),
        );
        r.register(
            "sentinel_mcp_tool_calls_waiting",
            "Tool calls waiting for a slot",
            m.tool_calls_waiting.clone(),
        );
        r.register(
            "sentinel_mcp_azure_queries_running",
            "Azure queries holding one of the SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES slots (0 with the local backend)",
            m.azure_queries_running.clone(),
        );
        r.register(
            "sentinel_mcp_azure_queries_waiting",
            "Azure queries waiting for a slot",
            m.azure_queries_waiting.clone(),
        );
        r.register(
            "sentinel_mcp_local_queries_running",
            "Queries the local KQL engine is running, from their start on a blocking thread until the engine returns (a cancelled call's query until the engine stops it)",
            m.local_queries_running.clone(),
        );
        r.register(
            "sentinel_mcp_rate_limit_buckets",
            "Principals the rate limiter holds a token bucket for",
            m.rate_limit_buckets.clone(),
        );
        r.register(
            "sentinel_mcp_result_store_results",
            "Full results of truncated queries kept for their callers to read (SENTINEL_MCP_RESULT_STORE_MB)",
            m.result_store_results.clone(),
        );
        r.register_with_unit(
            "sentinel_mcp_result_store",
            "Memory the kept full results take, as the store counts it against SENTINEL_MCP_RESULT_STORE_MB",
            Unit::Bytes,
            m.result_store_bytes.clone(),
        );
        r.register_with_unit(
            "sentinel_mcp_uptime",
            "Seconds since start",
            Unit::Seconds,
            m.uptime_seconds.clone(),
        );
        r.register(
            "sentinel_mcp_build",
            "The running build: version, git commit (SENTINEL_MCP_GIT_COMMIT at build time) and cargo features",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                git_commit: option_env!("SENTINEL_MCP_GIT_COMMIT").unwrap_or("unknown"),
                features: features_label(),
            }),
        );
        #[cfg(target_os = "linux")]
        r.register_collector(Box::new(process::ProcessCollector));
        // The series every dashboard and alert reads exist from the start, at 0.
        for exporter in crate::telemetry::EXPORTERS {
            for reason in ["export_failed", "queue_full"] {
                let _ = m
                    .spans_dropped
                    .get_or_create(&DroppedSpanLabels { exporter, reason });
            }
        }
        for transport in [Transport::LegacySse, Transport::Streamable] {
            let label = transport.label();
            let _ = m.sessions_active.get_or_create(&label);
            let _ = m.requests_in_flight.get_or_create(&label);
            let _ = m.sessions_opened.get_or_create(&label);
        }
        m.in_flight_legacy = m
            .requests_in_flight
            .get_or_create_owned(&Transport::LegacySse.label());
        m.in_flight_streamable = m
            .requests_in_flight
            .get_or_create_owned(&Transport::Streamable.label());
        for reason in ["rate_limit", "busy"] {
            let _ = m.refused_calls.get_or_create(&ReasonLabel { reason });
        }
        m
    }

    /// The registry in OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Sets the open-sessions gauge of a transport (read from its registry at scrape time).
    pub fn set_sessions_active(&self, transport: Transport, open: usize) {
        self.sessions_active
            .get_or_create(&transport.label())
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Counts an MCP request as in flight until the guard is dropped.
    pub fn in_flight(&self, transport: Transport) -> InFlight {
        let gauge = match transport {
            Transport::LegacySse => self.in_flight_legacy.clone(),
            Transport::Streamable => self.in_flight_streamable.clone(),
        };
        gauge.inc();
        InFlight(gauge)
    }

    /// Counts a local engine query as running until the guard is dropped.
    pub fn local_query(&self) -> InFlight {
        self.local_queries_running.inc();
        InFlight(self.local_queries_running.clone())
    }

    /// A session opened.
    pub fn session_opened(&self, transport: Transport) {
        self.sessions_opened.get_or_create(&transport.label()).inc();
    }

    /// A session closed after `lasted`.
    pub fn session_closed(&self, transport: Transport, reason: SessionEnd, lasted: Duration) {
        let transport = transport.label();
        self.sessions_closed
            .get_or_create(&SessionClosedLabels {
                transport: transport.transport,
                reason: reason.label(),
            })
            .inc();
        self.session_duration
            .get_or_create(&transport)
            .observe(lasted.as_secs_f64());
    }

    /// An HTTP request refused before it reached MCP.
    pub fn rejected(&self, reason: &'static str) {
        self.rejected.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// A tool call refused by the rate limit (`rate_limit`) or for want of a slot (`busy`).
    pub fn refused_call(&self, reason: &'static str) {
        self.refused_calls
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// An MCP request other than `tools/call` answered (`tools/call` is [`Metrics::tool_call`]).
    pub fn operation(&self, method: &'static str, outcome: &'static str, took: Duration) {
        self.operation_duration
            .get_or_create(&OperationLabels {
                method,
                tool: "",
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    /// The call counter and duration histogram of a tool and outcome.
    fn tool_call_series(&self, tool: &'static str, outcome: &'static str) -> (Counter, Histogram) {
        (
            self.tool_calls
                .get_or_create_owned(&ToolCallLabels { tool, outcome }),
            self.operation_duration
                .get_or_create_owned(&OperationLabels {
                    method: "tools/call",
                    tool,
                    outcome,
                }),
        )
    }

    /// One attempt of a backend call: `status` is the HTTP status, `timeout` or
    /// `transport_error`; `retry` when it was not the first attempt.
    pub fn backend_attempt(
        &self,
        service: &'static str,
        status: &'static str,
        took: Duration,
        retry: bool,
    ) {
        self.backend_calls
            .get_or_create(&BackendLabels { service, status })
            .inc();
        let service = ServiceLabel { service };
        self.backend_duration
            .get_or_create(&service)
            .observe(took.as_secs_f64());
        if retry {
            self.backend_retries.get_or_create(&service).inc();
        }
    }

    /// Trace spans an exporter could not deliver.
    pub fn spans_dropped(&self, exporter: &'static str, reason: &'static str, count: u64) {
        self.spans_dropped
            .get_or_create(&DroppedSpanLabels { exporter, reason })
            .inc_by(count);
    }

    /// A request for a session another replica holds, and what became of it.
    pub fn relay(&self, outcome: &'static str) {
        self.relays.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// An access token fetched (or not) from Entra or a managed identity endpoint.
    pub fn token_acquired(&self, identity: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.token_acquisitions
            .get_or_create(&TokenLabels { identity, outcome })
            .inc();
    }
}

/// An HTTP status as a label value, without allocating: the codes Azure answers, and a class
/// for any other.
pub fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 14] = [
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (409, "409"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => label,
        None => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// The outcomes of a tool call, as the `outcome` label names them.
const OUTCOMES: [&str; 7] = [
    "ok",
    "tool_error",
    "forbidden",
    "invalid_params",
    "busy",
    "internal_error",
    "panic",
];

/// One tool's series (calls and duration by outcome, result rows), each resolved from its family
/// on first use and kept: recording a call then costs no label hashing and no allocation.
#[derive(Debug)]
pub struct ToolSeries {
    tool: &'static str,
    by_outcome: [OnceLock<(Counter, Histogram)>; OUTCOMES.len()],
    rows: OnceLock<Histogram>,
}

/// The series of every tool name the catalogue does not hold.
pub static UNKNOWN_TOOL: ToolSeries = ToolSeries::new("unknown");

impl ToolSeries {
    /// The series of `tool` (the catalogue's name).
    pub const fn new(tool: &'static str) -> ToolSeries {
        ToolSeries {
            tool,
            by_outcome: [const { OnceLock::new() }; OUTCOMES.len()],
            rows: OnceLock::new(),
        }
    }

    /// A `tools/call` answered with `outcome`; `rows` what a successful call returned.
    pub fn record(&self, outcome: &'static str, took: Duration, rows: Option<u64>) {
        let m = metrics();
        let fresh;
        let (calls, duration) = match OUTCOMES.iter().position(|o| *o == outcome) {
            Some(i) => self.by_outcome[i].get_or_init(|| m.tool_call_series(self.tool, outcome)),
            None => {
                fresh = m.tool_call_series(self.tool, outcome);
                &fresh
            }
        };
        calls.inc();
        duration.observe(took.as_secs_f64());
        if let Some(rows) = rows {
            self.rows
                .get_or_init(|| {
                    m.result_rows
                        .get_or_create_owned(&ToolLabel { tool: self.tool })
                })
                .observe(rows as f64);
        }
    }
}

/// An MCP request in flight (or a local query running); dropping it ends it.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Process metrics read from `/proc/self` at each scrape, with the names Prometheus client
/// libraries use (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, …), so standard dashboards work.
#[cfg(target_os = "linux")]
mod process {
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
    use prometheus_client::metrics::counter::ConstCounter;
    use prometheus_client::metrics::gauge::ConstGauge;
    use prometheus_client::registry::Unit;

    #[derive(Debug)]
    pub(super) struct ProcessCollector;

    fn gauge(
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        unit: Option<&Unit>,
        value: i64,
    ) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(value);
        gauge.encode(encoder.encode_descriptor(name, help, unit, gauge.metric_type())?)
    }

    impl Collector for ProcessCollector {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            // A process that cannot read its own /proc entry exports no process series.
            let Ok(me) = procfs::process::Process::myself() else {
                return Ok(());
            };
            if let Ok(stat) = me.stat() {
                let ticks = procfs::ticks_per_second() as f64;
                let cpu = ConstCounter::new((stat.utime + stat.stime) as f64 / ticks);
                cpu.encode(encoder.encode_descriptor(
                    "process_cpu",
                    "User and system CPU time the process used.",
                    Some(&Unit::Seconds),
                    cpu.metric_type(),
                )?)?;
                let rss = stat.rss.saturating_mul(procfs::page_size());
                gauge(
                    &mut encoder,
                    "process_resident_memory",
                    "Resident memory size.",
                    Some(&Unit::Bytes),
                    i64::try_from(rss).unwrap_or(i64::MAX),
                )?;
                gauge(
                    &mut encoder,
                    "process_virtual_memory",
                    "Virtual memory size.",
                    Some(&Unit::Bytes),
                    i64::try_from(stat.vsize).unwrap_or(i64::MAX),
                )?;
                gauge(
                    &mut encoder,
                    "process_threads",
                    "OS threads of the process.",
                    None,
                    stat.num_threads,
                )?;
            }
            if let Ok(fds) = me.fd_count() {
                gauge(
                    &mut encoder,
                    "process_open_fds",
                    "Open file descriptors.",
                    None,
                    i64::try_from(fds).unwrap_or(i64::MAX),
                )?;
            }
            if let Ok(limits) = me.limits()
                && let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit
            {
                gauge(
                    &mut encoder,
                    "process_max_fds",
                    "The most file descriptors the process may open.",
                    None,
                    i64::try_from(max).unwrap_or(i64::MAX),
                )?;
            }
            Ok(())
        }
    }
}

/// The `/metrics` endpoint's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsSettings {
    /// Serve Prometheus metrics at /metrics; false removes the endpoint (404).
    #[arg(long = "metrics", env = "SENTINEL_MCP_METRICS", default_value_t = true, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enabled: bool,

    /// When set, /metrics answers only requests with `Authorization: Bearer <this token>` (401 otherwise); unset, it is open (it carries no secrets).
    #[arg(
        long,
        env = "SENTINEL_MCP_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<crate::secret::Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_name_common_codes_and_class_the_rest() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(429), "429");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(307), "3xx");
        assert_eq!(status_label(599), "5xx");
    }
}
