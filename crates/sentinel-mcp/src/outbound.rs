//! The one way out: every outbound HTTP call (Entra metadata and keys, Azure APIs) goes through
//! `OutboundClient`, which sets timeouts and the user agent and turns failures into sentences.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::clock::Clock;
use crate::metrics::{self, metrics};
use crate::telemetry::trace;

/// Why an outbound call failed; never carries a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("request to {url} timed out")]
    Timeout { url: String },
    #[error("{url} answered with JSON that could not be read: {reason}")]
    Decode { url: String, reason: String },
}

/// A shared HTTP client (connection pooling, rustls).
#[derive(Debug, Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    retry: RetryPolicy,
    /// Wall time for `Retry-After` dates, and for the callers' token lifetimes.
    clock: Clock,
}

/// The most of an error body worth repeating in a message.
const MAX_ERROR_BODY: usize = 512;

impl OutboundClient {
    /// A client whose every request times out after `timeout`.
    pub fn new(timeout: Duration) -> Result<OutboundClient, OutboundError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("sentinel-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboundError::Transport {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(OutboundClient {
            http,
            retry: RetryPolicy::default(),
            clock: Clock::system(),
        })
    }

    /// GET a JSON document (Entra's OpenID metadata and signing keys: the `jwks` service of the
    /// backend metrics).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, OutboundError> {
        let started = std::time::Instant::now();
        let (span, traceparent) = backend_span("jwks", &reqwest::Method::GET, url);
        let response = self
            .http
            .get(url)
            .header("traceparent", traceparent)
            .send()
            .instrument(span.clone())
            .await;
        let status = match &response {
            Ok(r) => metrics::status_label(r.status().as_u16()),
            Err(e) if e.is_timeout() => "timeout",
            Err(_) => "transport_error",
        };
        record_attempt(&span, status, 0);
        metrics().backend_attempt("jwks", status, started.elapsed(), false);
        let response = response.map_err(|e| OutboundError::Transport {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| OutboundError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]).to_string();
            return Err(OutboundError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_slice(&body).map_err(|e| OutboundError::Decode {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }
}

/// How an outbound call retries throttling (429) and server errors (5xx).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// First backoff when the service names no `Retry-After`; doubles per attempt, jittered.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever `Retry-After` asks.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// One outbound request, described before it is sent so it can be retried.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Bearer token for `Authorization`; never logged.
    pub bearer: Option<crate::secret::Secret>,
    pub body: RequestBody,
    /// Overrides the client's timeout for this call (long queries).
    pub timeout: Option<Duration>,
    /// Whether a 5xx or a transport failure may be retried (429 always may: nothing ran).
    pub idempotent: bool,
    /// The service called, as the backend metrics' `service` label names it.
    pub service: &'static str,
}

/// The body of an outbound request.
#[derive(Debug, Clone)]
pub enum RequestBody {
    Empty,
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`; values may hold secrets and are never logged.
    Form(Vec<(String, crate::secret::Secret)>),
}

impl OutboundRequest {
    /// A request with no body or headers.
    pub fn new(method: reqwest::Method, url: impl Into<String>) -> OutboundRequest {
        let idempotent = method != reqwest::Method::POST;
        OutboundRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            bearer: None,
            body: RequestBody::Empty,
            timeout: None,
            idempotent,
            service: "other",
        }
    }

    /// Names the service called, for the backend metrics.
    pub fn service(mut self, service: &'static str) -> Self {
        self.service = service;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the bearer token.
    pub fn bearer(mut self, token: crate::secret::Secret) -> Self {
        self.bearer = Some(token);
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = RequestBody::Json(body);
        self
    }

    /// Sets a form body.
    pub fn form(mut self, fields: Vec<(String, crate::secret::Secret)>) -> Self {
        self.body = RequestBody::Form(fields);
        self
    }

    /// Marks the request safe (or not) to repeat after a 5xx.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// Sets this call's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The final answer of a call, whatever its status (callers read services' error bodies).
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub url: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
    /// The `x-ms-client-request-id` sent, for correlating with the service's logs.
    pub client_request_id: String,
}

impl OutboundResponse {
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, OutboundError> {
        serde_json::from_slice(&self.body).map_err(|e| OutboundError::Decode {
            url: self.url.clone(),
            reason: e.to_string(),
        })
    }

    /// The start of the body, for error messages.
    pub fn body_excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(MAX_ERROR_BODY)]).to_string()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The CLIENT span of one backend call (all its attempts) and the `traceparent` it sends: inside
/// an MCP request, a child of the request's span, in its trace.
fn backend_span(service: &str, method: &reqwest::Method, url: &str) -> (tracing::Span, String) {
    let (host, template) = trace::url_template(url);
    let name = format!("{method} {template}");
    let (span, traceparent) = trace::client_span(&name, service, method.as_str(), &template);
    span.record("server.address", host);
    (span, traceparent)
}

/// An attempt's outcome on the call's span: status (or failure kind) and retries so far.
fn record_attempt(span: &tracing::Span, status: &str, attempt: u32) {
    match status.parse::<u16>() {
        Ok(code) => {
            span.record("http.response.status_code", code);
            if code >= 400 {
                span.record("error.type", status);
                span.record("otel.status_code", "ERROR");
            }
        }
        Err(_) => {
            span.record("error.type", status);
            span.record("otel.status_code", "ERROR");
        }
    }
    if attempt > 0 {
        span.record("http.request.resend_count", attempt);
    }
}

/// The `status` label of one attempt: its HTTP status, `timeout` or `transport_error`.
fn attempt_status(outcome: &Result<OutboundResponse, OutboundError>) -> &'static str {
    match outcome {
        Ok(response) => metrics::status_label(response.status),
        Err(OutboundError::Timeout { .. }) => "timeout",
        Err(_) => "transport_error",
    }
}

/// The wait a throttled or failing service asked for: `Retry-After` (seconds or HTTP date) or
/// `x-ms-retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap, clock: &Clock) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("x-ms-retry-after-ms").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    let value = text("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - clock.now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter between half and all of the step.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let step = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(attempt.min(16)));
    let jittered = step.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    jittered.min(policy.max_delay)
}

fn retryable(status: u16, idempotent: bool) -> bool {
    status == 429 || (idempotent && matches!(status, 500 | 502 | 503 | 504))
}

impl OutboundClient {
    /// The same client with another retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> OutboundClient {
        self.retry = policy;
        self
    }

    /// The same client reading wall time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> OutboundClient {
        self.clock = clock;
        self
    }

    /// The clock the client, and the components that call through it, read wall time from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Sends a request, retrying 429 and (for idempotent requests) 5xx and transport failures,
    /// and answers the final response whatever its status. Every attempt carries the same
    /// `x-ms-client-request-id` and a `traceparent` of one trace.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let (span, traceparent) = backend_span(request.service, &request.method, &request.url);
        span.record("azure.client_request_id", client_request_id.as_str());
        self.send_attempts(&request, &client_request_id, &traceparent, &span)
            .instrument(span.clone())
            .await
    }

    async fn send_attempts(
        &self,
        request: &OutboundRequest,
        client_request_id: &str,
        traceparent: &str,
        span: &tracing::Span,
    ) -> Result<OutboundResponse, OutboundError> {
        let mut attempt = 0u32;
        loop {
            let started = std::time::Instant::now();
            let outcome = self.attempt(request, client_request_id, traceparent).await;
            let status = attempt_status(&outcome);
            record_attempt(span, status, attempt);
            metrics().backend_attempt(request.service, status, started.elapsed(), attempt > 0);
            let wait = match &outcome {
                Ok(resp) => {
                    tracing::debug!(
                        method = %request.method,
                        url = %request.url,
                        status = resp.status,
                        client_request_id = %client_request_id,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        attempt,
                        "outbound call"
                    );
                    if !retryable(resp.status, request.idempotent) {
                        return outcome;
                    }
                    retry_after(&resp.headers, &self.clock).map(|d| d.min(self.retry.max_delay))
                }
                Err(e) => {
                    tracing::debug!(
                        method = %request.method,
                        url = %request.url,
                        client_request_id = %client_request_id,
                        error = %e,
                        attempt,
                        "outbound call failed"
                    );
                    // A call that timed out would time out again: report it now.
                    if !request.idempotent || matches!(e, OutboundError::Timeout { .. }) {
                        return outcome;
                    }
                    None
                }
            };
            if attempt >= self.retry.max_retries {
                return outcome;
            }
            let wait = wait.unwrap_or_else(|| backoff(&self.retry, attempt));
            tracing::info!(
                url = %request.url,
                client_request_id = %client_request_id,
                wait_ms = wait.as_millis() as u64,
                attempt,
                "retrying outbound call"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: &OutboundRequest,
        client_request_id: &str,
        traceparent: &str,
    ) -> Result<OutboundResponse, OutboundError> {
        let url = &request.url;
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header("x-ms-client-request-id", client_request_id)
            .header("x-ms-return-client-request-id", "true")
            .header("traceparent", traceparent);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(token) = &request.bearer {
            builder = builder.header(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            );
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        builder = match &request.body {
            RequestBody::Empty => builder,
            RequestBody::Json(v) => builder.json(v),
            RequestBody::Form(fields) => {
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.expose()))
                    .collect();
                builder.form(&pairs)
            }
        };
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                OutboundError::Timeout { url: url.clone() }
            } else {
                OutboundError::Transport {
                    url: url.clone(),
                    reason: e.to_string(),
                }
            }
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        Ok(OutboundResponse {
            url: url.clone(),
            status,
            headers,
            body,
            client_request_id: client_request_id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let manual = crate::clock::ManualClock::new();
        let clock = manual.clock();
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), &clock),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("x-ms-retry-after-ms", "1500"), ("retry-after", "9")]),
                &clock
            ),
            Some(Duration::from_millis(1500))
        );
        let soon = (clock.now() + chrono::Duration::seconds(20)).to_rfc2822();
        let wait = retry_after(&headers(&[("retry-after", &soon)]), &clock).unwrap();
        assert!(
            wait <= Duration::from_secs(20) && wait >= Duration::from_secs(19),
            "{wait:?}"
        );
        // A date is a wait from the clock's now: later, less is left.
        manual.advance(Duration::from_secs(15));
        let wait = retry_after(&headers(&[("retry-after", &soon)]), &clock).unwrap();
        assert!(wait <= Duration::from_secs(5), "{wait:?}");
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            retry_after(&headers(&[("retry-after", past)]), &clock),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[]), &clock), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_bounded() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 0..3u32 {
            let step = Duration::from_millis(100 * 2u64.pow(attempt));
            let d = backoff(&policy, attempt);
            assert!(d >= step / 2 && d <= step, "{attempt}: {d:?}");
        }
        assert!(backoff(&policy, 30) <= Duration::from_secs(1));
    }

    #[test]
    fn only_throttling_is_retried_for_requests_that_are_not_idempotent() {
        assert!(retryable(429, false));
        assert!(!retryable(503, false));
        assert!(retryable(503, true));
        assert!(!retryable(400, true));
    }
}
