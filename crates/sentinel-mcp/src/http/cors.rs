//! CORS for browser-based MCP clients on the origins `SENTINEL_MCP_CORS_ORIGINS` lists: preflight
//! answers and the headers of actual responses. Other origins, and every origin when the list is
//! empty, get no CORS header at all.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::host_origin::OriginList;

const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";
const EXPOSE_HEADERS: &str = "Mcp-Session-Id, WWW-Authenticate";
/// How long a browser may cache a preflight answer.
const MAX_AGE_SECS: &str = "600";

/// The origins that get CORS headers.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: OriginList,
}

impl CorsPolicy {
    /// CORS for the configured origins; none when the list is empty.
    pub fn new(origins: &[String]) -> CorsPolicy {
        CorsPolicy {
            origins: OriginList::new(origins),
        }
    }

    /// The request's `Origin`, when CORS headers are due to it.
    pub(super) fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        if self.origins.is_empty() {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?;
        self.origins
            .matches(origin.to_str().ok()?)
            .then(|| origin.clone())
    }

    /// The answer to an `OPTIONS` request, which carries no credentials and so is answered
    /// before authentication: 204, with the preflight headers when the origin is listed.
    pub(super) fn preflight(&self, request: &Request) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ALLOW, HeaderValue::from_static(ALLOW_METHODS));
        if let Some(origin) = self.allowed_origin(request.headers()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE_SECS),
            );
        }
        if !self.origins.is_empty() {
            headers.insert(
                header::VARY,
                HeaderValue::from_static(
                    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
                ),
            );
        }
        response
    }

    /// Adds the CORS headers of an actual response for `origin` (from [`Self::allowed_origin`]).
    pub(super) fn decorate(&self, headers: &mut HeaderMap, origin: Option<HeaderValue>) {
        if self.origins.is_empty() {
            return;
        }
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
        }
    }
}
