//! Telemetry: JSON log lines that name their request, trace context, and the trace exporters
//! (OpenTelemetry over OTLP/HTTP, Application Insights). Metrics are `crate::metrics`.

#[cfg(any(feature = "otlp", feature = "app-insights"))]
mod export;
mod logs;
pub mod trace;

use clap::Args;
#[cfg(any(feature = "otlp", feature = "app-insights"))]
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, Settings};
use crate::secret::Secret;
pub use logs::{InRequest, LogContext, current_log_context, in_request};

/// The exporters this build has, as `sentinel_mcp_telemetry_spans_dropped_total` names them.
pub const EXPORTERS: &[&str] = &[
    #[cfg(feature = "otlp")]
    "otlp",
    #[cfg(feature = "app-insights")]
    "app_insights",
];

/// Where traces go (docs/observability.md). Neither exporter set: none are built.
#[derive(Debug, Clone, Args)]
pub struct TelemetrySettings {
    /// Application Insights connection string: export traces straight to it (its IngestionEndpoint is honoured). A secret: never logged.
    #[arg(long, env = "APPLICATIONINSIGHTS_CONNECTION_STRING", global = true)]
    pub applicationinsights_connection_string: Option<Secret>,

    /// OTLP endpoint (e.g. http://localhost:4318): export traces over OTLP http/protobuf to `<endpoint>/v1/traces`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// Headers sent with each OTLP export (`key=value,key=value`, values percent-encoded), e.g. a collector's API key. A secret: never logged.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_HEADERS", global = true)]
    pub otel_exporter_otlp_headers: Option<Secret>,

    /// The service name traces carry (`service.name`; Application Insights' cloud role).
    #[arg(
        long,
        env = "OTEL_SERVICE_NAME",
        default_value = "sentinel-mcp",
        global = true
    )]
    pub otel_service_name: String,

    /// More resource attributes (`key=value,key=value`, values percent-encoded), e.g. deployment.environment=prod.
    #[arg(long, env = "OTEL_RESOURCE_ATTRIBUTES", global = true)]
    pub otel_resource_attributes: Option<String>,

    /// Which requests are traced: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio.
    #[arg(
        long,
        env = "OTEL_TRACES_SAMPLER",
        default_value = "parentbased_always_on",
        global = true
    )]
    pub otel_traces_sampler: String,

    /// The ratio (0 to 1) of the traceidratio samplers.
    #[arg(long, env = "OTEL_TRACES_SAMPLER_ARG", global = true)]
    pub otel_traces_sampler_arg: Option<String>,

    /// Put each tool call's arguments on its span (`gen_ai.tool.call.arguments`), redacted as SENTINEL_MCP_AUDIT_ARGUMENTS says.
    #[arg(long, env = "SENTINEL_MCP_TRACE_ARGUMENTS", default_value_t = false, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub trace_arguments: bool,
}

/// The running telemetry: flushes the exporters when the server stops.
#[must_use]
pub struct Telemetry {
    #[cfg(any(feature = "otlp", feature = "app-insights"))]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (graceful shutdown), waiting at most the exporters' timeout.
    pub async fn flush(self) {
        #[cfg(any(feature = "otlp", feature = "app-insights"))]
        if let Some(provider) = self.provider {
            // The exporters' requests run on this runtime: wait for them off its threads.
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = provider.shutdown() {
                    tracing::warn!(error = %e, "trace export did not finish at shutdown");
                }
            })
            .await;
        }
    }
}

/// Installs the global subscriber (`RUST_LOG` overrides the level from `DEBUG`) and, when one is
/// configured, the trace exporters. A setting an exporter cannot use is an error.
pub fn init(settings: &Settings) -> Result<Telemetry, String> {
    let default = if settings.debug {
        "debug,hyper=info,h2=info"
    } else {
        // rmcp logs every stateless request and session at info; its warnings are what matter.
        "info,rmcp=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match settings.log_format {
        LogFormat::Json => lines
            .fmt_fields(JsonFields::new())
            .event_format(logs::JsonLines::default())
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => lines.with_filter(filter).boxed(),
    };
    #[cfg(any(feature = "otlp", feature = "app-insights"))]
    let (spans, provider) = match export::provider(&settings.telemetry)? {
        Some(provider) => {
            use opentelemetry::trace::TracerProvider as _;
            let tracer = provider.tracer("sentinel-mcp");
            // Spans and the lines inside them (as span events), whatever RUST_LOG says.
            let spans = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(
                    Targets::new()
                        .with_default(tracing::Level::INFO)
                        .with_target("rmcp", tracing::Level::WARN),
                );
            trace::start_exporting();
            (Some(spans), Some(provider))
        }
        None => (None, None),
    };
    #[cfg(not(any(feature = "otlp", feature = "app-insights")))]
    let spans =
        no_exporters(&settings.telemetry).map(|()| None::<tracing_subscriber::layer::Identity>)?;
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init();
    // Spans name the address clients use: the public URL's, else the bound one.
    let public = settings
        .public_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| Some((u.host_str()?.to_string(), u.port_or_known_default()?)));
    let (host, port) = public.unwrap_or_else(|| (settings.host.to_string(), settings.port));
    trace::set_server_address(host, port);
    Ok(Telemetry {
        #[cfg(any(feature = "otlp", feature = "app-insights"))]
        provider,
    })
}

/// A build without exporters refuses the settings that ask for one, rather than run silently
/// without the traces the operator configured.
#[cfg(not(any(feature = "otlp", feature = "app-insights")))]
fn no_exporters(settings: &TelemetrySettings) -> Result<(), String> {
    if settings.applicationinsights_connection_string.is_some()
        || settings.otel_exporter_otlp_endpoint.is_some()
    {
        return Err("trace export is configured (APPLICATIONINSIGHTS_CONNECTION_STRING or OTEL_EXPORTER_OTLP_ENDPOINT) but this build has neither the `otlp` nor the `app-insights` feature".into());
    }
    Ok(())
}
