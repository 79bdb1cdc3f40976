//! The trace exporters: OTLP over http/protobuf and Application Insights, each behind a batch
//! processor (a request never waits for an export), sending through the server's own HTTP
//! client on its runtime. Spans an exporter cannot deliver are counted, never retried into
//! memory: `sentinel_mcp_telemetry_spans_dropped_total`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http;
use bytes::Bytes;
use opentelemetry::KeyValue;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, Span, SpanData,
    SpanExporter, SpanProcessor,
};

use super::TelemetrySettings;
use crate::metrics::metrics;

/// Spans waiting for an exporter, at most (`OTEL_BSP_MAX_QUEUE_SIZE`, the SDK's default).
const DEFAULT_QUEUE: usize = 2048;
/// One export request's time limit.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The tracer provider of the configured exporters; `None` when none is configured.
pub(super) fn provider(settings: &TelemetrySettings) -> Result<Option<SdkTracerProvider>, String> {
    let app_insights = settings.applicationinsights_connection_string.as_ref();
    let otlp = settings
        .otel_exporter_otlp_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if app_insights.is_none() && otlp.is_none() {
        return Ok(None);
    }
    let (sampler, ratio) = sampler(
        &settings.otel_traces_sampler,
        settings.otel_traces_sampler_arg.as_deref(),
    )?;
    let queue = queue_size()?;
    let client = ExportClient::new()?;
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource(settings)?)
        .with_sampler(sampler);
    if let Some(endpoint) = otlp {
        builder = builder.with_span_processor(Bounded::new(
            "otlp",
            otlp_exporter(endpoint, settings, client.clone())?,
            queue,
        ));
    }
    if let Some(connection_string) = app_insights {
        builder = builder.with_span_processor(Bounded::new(
            "app_insights",
            app_insights_exporter(connection_string.expose(), ratio, client)?,
            queue,
        ));
    }
    tracing::info!(
        otlp = otlp.is_some(),
        app_insights = app_insights.is_some(),
        sampler = settings.otel_traces_sampler,
        "exporting traces"
    );
    Ok(Some(builder.build()))
}

#[cfg(feature = "otlp")]
fn otlp_exporter(
    endpoint: &str,
    settings: &TelemetrySettings,
    client: ExportClient,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
    let headers = match &settings.otel_exporter_otlp_headers {
        Some(headers) => key_values(headers.expose(), "OTEL_EXPORTER_OTLP_HEADERS")?,
        None => Vec::new(),
    };
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    reqwest::Url::parse(&url)
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT {endpoint:?} is not a URL: {e}"))?;
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(headers.into_iter().collect())
        .with_http_client(client)
        .build()
        .map_err(|e| format!("cannot start the OTLP exporter: {e}"))
}

#[cfg(not(feature = "otlp"))]
fn otlp_exporter(
    _endpoint: &str,
    _settings: &TelemetrySettings,
    _client: ExportClient,
) -> Result<Unavailable, String> {
    Err("OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no `otlp` feature".into())
}

#[cfg(feature = "app-insights")]
fn app_insights_exporter(
    connection_string: &str,
    ratio: f64,
    client: ExportClient,
) -> Result<opentelemetry_application_insights::Exporter<ExportClient>, String> {
    // The parse error names the part that is wrong, never the string (it holds the key).
    let exporter = opentelemetry_application_insights::Exporter::new_from_connection_string(
        connection_string,
        client,
    )
    .map_err(|e| format!("APPLICATIONINSIGHTS_CONNECTION_STRING cannot be used: {e}"))?
    .with_sample_rate(ratio);
    // The crate rewrites an `http://` ingestion endpoint to `https://`, which a plain-HTTP
    // endpoint (a local relay, an ingestion proxy inside the network) cannot answer: the
    // endpoint the operator wrote is the one used.
    match plain_http_ingestion(connection_string) {
        #[allow(deprecated)]
        Some(endpoint) => exporter.with_endpoint(endpoint).map_err(|e| {
            format!("APPLICATIONINSIGHTS_CONNECTION_STRING: IngestionEndpoint cannot be used: {e}")
        }),
        None => Ok(exporter),
    }
}

/// The connection string's `IngestionEndpoint` when it is plain `http://`.
#[cfg(feature = "app-insights")]
fn plain_http_ingestion(connection_string: &str) -> Option<&str> {
    connection_string.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        let value = value.trim();
        (key.trim().eq_ignore_ascii_case("IngestionEndpoint") && value.starts_with("http://"))
            .then(|| value.trim_end_matches('/'))
    })
}

#[cfg(not(feature = "app-insights"))]
fn app_insights_exporter(
    _connection_string: &str,
    _ratio: f64,
    _client: ExportClient,
) -> Result<Unavailable, String> {
    Err(
        "APPLICATIONINSIGHTS_CONNECTION_STRING is set but this build has no `app-insights` feature"
            .into(),
    )
}

/// The exporter a build without its feature cannot make (never constructed).
#[cfg(not(all(feature = "otlp", feature = "app-insights")))]
#[derive(Debug)]
enum Unavailable {}

#[cfg(not(all(feature = "otlp", feature = "app-insights")))]
impl SpanExporter for Unavailable {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        match *self {}
    }
}

/// `service.name`, `service.version`, `service.instance.id` (the Container Apps replica, else
/// the host name), then `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(settings: &TelemetrySettings) -> Result<Resource, String> {
    let instance = std::env::var("CONTAINER_APP_REPLICA_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
    let mut attributes = vec![
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.instance.id", instance),
    ];
    if let Some(extra) = &settings.otel_resource_attributes {
        attributes.extend(
            key_values(extra, "OTEL_RESOURCE_ATTRIBUTES")?
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v)),
        );
    }
    Ok(Resource::builder_empty()
        .with_service_name(settings.otel_service_name.clone())
        .with_attributes(attributes)
        .build())
}

/// `key=value,key=value` with percent-encoded values, as the OpenTelemetry variables write them.
fn key_values(text: &str, setting: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| format!("{setting} must be key=value pairs separated by commas; one entry has no key=value form"))?;
            let value = percent_decode(value.trim())
                .ok_or_else(|| format!("{setting}: the value of {:?} is not valid percent-encoding", key.trim()))?;
            Ok((key.trim().to_string(), value))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The sampler `OTEL_TRACES_SAMPLER` names, and the ratio it keeps (Application Insights is told,
/// so its counts are scaled back).
fn sampler(name: &str, arg: Option<&str>) -> Result<(Sampler, f64), String> {
    let ratio = || match arg.map(str::trim) {
        None | Some("") => Ok(1.0),
        Some(a) => a
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| {
                format!("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not {a:?}")
            }),
    };
    Ok(match name.trim() {
        "always_on" => (Sampler::AlwaysOn, 1.0),
        "always_off" => (Sampler::AlwaysOff, 0.0),
        "traceidratio" => {
            let r = ratio()?;
            (Sampler::TraceIdRatioBased(r), r)
        }
        "parentbased_always_on" => (Sampler::ParentBased(Box::new(Sampler::AlwaysOn)), 1.0),
        "parentbased_always_off" => (Sampler::ParentBased(Box::new(Sampler::AlwaysOff)), 0.0),
        "parentbased_traceidratio" => {
            let r = ratio()?;
            (
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r))),
                r,
            )
        }
        other => {
            return Err(format!(
                "OTEL_TRACES_SAMPLER {other:?} is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
            ));
        }
    })
}

fn queue_size() -> Result<usize, String> {
    match std::env::var("OTEL_BSP_MAX_QUEUE_SIZE") {
        Err(_) => Ok(DEFAULT_QUEUE),
        Ok(n) => n
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("OTEL_BSP_MAX_QUEUE_SIZE must be a positive number, not {n:?}")),
    }
}

/// The exporters' HTTP client: the server's reqwest (rustls), its requests run on the server's
/// runtime (the batch processor's own thread has none).
#[derive(Debug, Clone)]
struct ExportClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ExportClient {
    fn new() -> Result<ExportClient, String> {
        let http = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .user_agent(concat!("sentinel-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the trace exporters' HTTP client: {e}"))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "trace exporters start inside the server's runtime".to_string())?;
        Ok(ExportClient { http, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let client = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let mut answer = http::Response::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, HttpError>(answer)
        });
        sent.await?
    }
}

/// A batch processor that admits at most `limit` spans not yet exported, counting the rest as
/// dropped (`queue_full`) rather than letting the SDK drop them unseen.
#[derive(Debug)]
struct Bounded {
    inner: BatchSpanProcessor,
    pending: Arc<AtomicUsize>,
    limit: usize,
    exporter: &'static str,
}

impl Bounded {
    fn new(exporter: &'static str, inner: impl SpanExporter + 'static, limit: usize) -> Bounded {
        let pending = Arc::new(AtomicUsize::new(0));
        let counted = Counted {
            inner,
            pending: pending.clone(),
            exporter,
        };
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(limit)
            .build();
        Bounded {
            inner: BatchSpanProcessor::builder(counted)
                .with_batch_config(config)
                .build(),
            pending,
            limit,
            exporter,
        }
    }
}

impl SpanProcessor for Bounded {
    fn on_start(&self, span: &mut Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            metrics().spans_dropped(self.exporter, "queue_full", 1);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// An exporter whose failed batches are counted as dropped spans.
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    pending: Arc<AtomicUsize>,
    exporter: &'static str,
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.pending.fetch_sub(spans, Ordering::Relaxed);
        if let Err(e) = &result {
            metrics().spans_dropped(self.exporter, "export_failed", spans as u64);
            tracing::warn!(exporter = self.exporter, spans, error = %e, "trace export failed; the spans are dropped");
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_are_percent_decoded_and_malformed_ones_named() {
        let kv = key_values("deployment.environment=prod, team=soc%20one", "X").unwrap();
        assert_eq!(
            kv,
            vec![
                ("deployment.environment".into(), "prod".into()),
                ("team".into(), "soc one".into())
            ]
        );
        let e = key_values("novalue", "OTEL_RESOURCE_ATTRIBUTES").unwrap_err();
        assert!(e.contains("OTEL_RESOURCE_ATTRIBUTES"), "{e}");
        assert!(key_values("k=%zz", "X").is_err());
        assert!(key_values("=v", "X").is_err());
    }

    #[cfg(feature = "app-insights")]
    #[test]
    fn a_plain_http_ingestion_endpoint_is_kept() {
        let http =
            "InstrumentationKey=k;IngestionEndpoint=http://relay.internal:8080/;LiveEndpoint=x";
        assert_eq!(
            plain_http_ingestion(http),
            Some("http://relay.internal:8080")
        );
        let https = "InstrumentationKey=k;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/";
        assert_eq!(plain_http_ingestion(https), None);
    }

    #[test]
    fn samplers_are_the_standard_names_and_ratios_are_checked() {
        assert!(matches!(
            sampler("always_on", None),
            Ok((Sampler::AlwaysOn, _))
        ));
        assert_eq!(sampler("traceidratio", Some("0.25")).unwrap().1, 0.25);
        assert!(sampler("traceidratio", Some("2")).is_err());
        assert!(sampler("traceidratio", Some("half")).is_err());
        let e = sampler("sometimes", None).unwrap_err();
        assert!(e.contains("parentbased_always_on"), "{e}");
    }
}
