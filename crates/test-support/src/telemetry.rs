//! Telemetry receivers on loopback: an OTLP/HTTP trace receiver (what an OpenTelemetry Collector
//! listens with on :4318, decoded with the protocol's own protobuf types) and Application
//! Insights' ingestion endpoint (`POST /v2/track`, gzip'd JSON envelopes, the breeze response).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::Value;

/// One span as the receiver got it; ids as lowercase hex (empty when absent).
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub name: String,
    /// OTLP's `SpanKind`: 2 server, 3 client.
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: BTreeMap<String, String>,
    /// OTLP's status code: 0 unset, 1 ok, 2 error.
    pub status: i32,
    /// The resource's attributes (`service.name`, …).
    pub resource: BTreeMap<String, String>,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

pub const SERVER: i32 = 2;
pub const CLIENT: i32 = 3;

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    headers: Vec<HeaderMap>,
    envelopes: Vec<Value>,
}

type Shared = Arc<Mutex<Received>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Received> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind telemetry receiver");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

/// Polls `items` until one matches `pred`, for at most `timeout`.
async fn wait_for<T>(
    timeout: Duration,
    items: impl Fn() -> Vec<T>,
    pred: impl Fn(&T) -> bool,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(item) = items().into_iter().find(|i| pred(i)) {
            return Some(item);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An OTLP/HTTP (protobuf) trace receiver: `POST /v1/traces`.
pub struct OtlpReceiver {
    received: Shared,
    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to.
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OtlpReceiver {
    pub async fn start() -> OtlpReceiver {
        let received = Shared::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(otlp_traces))
            .with_state(received.clone());
        let (endpoint, task) = serve(app).await;
        OtlpReceiver {
            received,
            endpoint,
            task,
        }
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        lock(&self.received).spans.clone()
    }

    /// The headers of every export request.
    pub fn headers(&self) -> Vec<HeaderMap> {
        lock(&self.received).headers.clone()
    }

    /// Waits (up to `timeout`) for a span matching `pred`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&ReceivedSpan) -> bool,
    ) -> Option<ReceivedSpan> {
        wait_for(timeout, || self.spans(), pred).await
    }
}

async fn otlp_traces(State(received): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != "application/x-protobuf" {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "OTLP/HTTP takes application/x-protobuf",
        )
            .into_response();
    }
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an ExportTraceServiceRequest: {e}"),
            )
                .into_response();
        }
    };
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = attributes(
            resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(ReceivedSpan {
                    name: span.name,
                    kind: span.kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(span.attributes),
                    status: span.status.map_or(0, |s| s.code),
                    resource: resource.clone(),
                });
            }
        }
    }
    let mut shared = lock(&received);
    shared.spans.extend(spans);
    shared.headers.push(headers);
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(list: Vec<KeyValue>) -> BTreeMap<String, String> {
    list.into_iter()
        .map(|kv| (kv.key, kv.value.map(text).unwrap_or_default()))
        .collect()
}

fn text(value: AnyValue) -> String {
    match value.value {
        Some(any_value::Value::StringValue(s)) => s,
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// Application Insights' ingestion ("breeze") endpoint: `POST /v2/track` with a gzip'd JSON array
/// of envelopes, answered with the counts of items received and accepted.
pub struct FakeAppInsights {
    received: Shared,
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAppInsights {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAppInsights {
    pub async fn start() -> FakeAppInsights {
        let received = Shared::default();
        let app = axum::Router::new()
            .route("/v2/track", axum::routing::post(track))
            .with_state(received.clone());
        let (base, task) = serve(app).await;
        FakeAppInsights {
            received,
            base,
            task,
        }
    }

    /// A connection string whose ingestion endpoint is this fake.
    pub fn connection_string(&self, instrumentation_key: &str) -> String {
        format!(
            "InstrumentationKey={instrumentation_key};IngestionEndpoint={}/;LiveEndpoint={}/",
            self.base, self.base
        )
    }

    pub fn envelopes(&self) -> Vec<Value> {
        lock(&self.received).envelopes.clone()
    }

    /// Waits (up to `timeout`) for an envelope matching `pred`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        wait_for(timeout, || self.envelopes(), pred).await
    }
}

async fn track(State(received): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == b"gzip");
    let mut json = Vec::new();
    let read = if gzip {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut json)
            .map(|_| ())
    } else {
        json.extend_from_slice(&body);
        Ok(())
    };
    let items: Vec<Value> = match read.ok().and_then(|()| serde_json::from_slice(&json).ok()) {
        Some(items) => items,
        None => {
            return (
                StatusCode::BAD_REQUEST,
                "expected a JSON array of envelopes",
            )
                .into_response();
        }
    };
    let count = items.len();
    lock(&received).envelopes.extend(items);
    axum::Json(serde_json::json!({"itemsReceived": count, "itemsAccepted": count, "errors": []}))
        .into_response()
}
