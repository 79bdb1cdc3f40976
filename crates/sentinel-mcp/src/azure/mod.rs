//! Azure clients: identity (token providers, on-behalf-of), Log Analytics, Microsoft Graph
//! security and Sentinel's ARM API. Every call carries a [`access::DataAccess`]: the identity it
//! reaches Azure with. Every base URL is configurable, for sovereign clouds and for tests' fakes.

pub mod access;
pub mod arm;
pub mod graph;
pub mod guard;
pub mod log_analytics;
pub mod obo;
pub mod token;

use std::sync::Arc;

use crate::outbound::{OutboundClient, OutboundRequest, OutboundResponse};
use crate::secret::Secret;
use access::DataAccess;

/// The audiences (token resources) of the services, public cloud by default.
#[derive(Debug, Clone)]
pub struct Audiences {
    pub log_analytics: String,
    pub graph: String,
    pub arm: String,
}

impl Default for Audiences {
    fn default() -> Self {
        Audiences {
            log_analytics: "https://api.loganalytics.io".into(),
            graph: "https://graph.microsoft.com".into(),
            arm: "https://management.azure.com".into(),
        }
    }
}

/// Why an Azure call failed; each message names the service and what it said.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("could not get an access token: {0}")]
    Token(#[from] token::TokenError),
    /// The caller's token could not be exchanged (on-behalf-of).
    #[error(transparent)]
    OnBehalfOf(#[from] obo::OboError),
    /// In on-behalf-of mode, a call that names no identity: it is refused rather than made
    /// with the server's own.
    #[error("internal error: an Azure call was made without the caller's identity; it was refused")]
    NoIdentity,
    #[error("{0}")]
    Transport(#[from] crate::outbound::OutboundError),
    #[error("{service} answered HTTP {status}{code}: {message}{hint} (x-ms-client-request-id {request_id})", code = code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), hint = hint(*status, service))]
    Service {
        service: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
        /// The id the call carried, for finding it in the service's logs.
        request_id: String,
    },
    #[error("{service} answered with a body that could not be read: {reason}")]
    Decode {
        service: &'static str,
        reason: String,
    },
}

/// What to do about an HTTP status, for the status codes that have one answer.
fn hint(status: u16, service: &str) -> String {
    match status {
        401 => format!(" (the token was refused; check the identity's tenant and that {service} accepts it)"),
        403 => " (the identity lacks a role or permission; docs/configuration.md lists the roles each tool needs)".into(),
        429 => " (throttled and still throttled after retrying; wait and try again)".into(),
        _ => String::new(),
    }
}

impl AzureError {
    /// The HTTP status of a service error.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A service error from a response, reading `{"error":{"code","message","innererror"}}`
    /// (Log Analytics, Graph and ARM all use that shape).
    pub fn from_response(service: &'static str, response: &OutboundResponse) -> AzureError {
        let body: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
        let error = body.as_ref().and_then(|b| b.get("error"));
        let (code, message) = match error {
            Some(serde_json::Value::Object(e)) => {
                let mut code = e.get("code").and_then(|c| c.as_str()).map(str::to_string);
                let mut message = e
                    .get("message")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string();
                // The innermost error says what was wrong (SyntaxError at line…).
                let mut inner = e.get("innererror");
                while let Some(i) = inner {
                    if let Some(c) = i.get("code").and_then(|c| c.as_str()) {
                        code = Some(match code {
                            Some(outer) if outer != c => format!("{outer}/{c}"),
                            _ => c.to_string(),
                        });
                    }
                    if let Some(m) = i.get("message").and_then(|c| c.as_str())
                        && !m.is_empty()
                    {
                        message = format!("{message}: {m}");
                    }
                    inner = i.get("innererror");
                }
                (code, message)
            }
            Some(serde_json::Value::String(s)) => (Some(s.clone()), response.body_excerpt()),
            _ => (None, response.body_excerpt()),
        };
        AzureError::Service {
            service,
            status: response.status,
            code,
            message,
            request_id: response.client_request_id.clone(),
        }
    }
}

/// The outbound client plus the server's identity: sends a request with a bearer token for an
/// audience, as the call's identity ([`access::current`]: the server's, or the caller's
/// exchanged token), and on a 401 forgets the token and sends once more with a new one.
pub struct AzureHttp {
    pub http: OutboundClient,
    pub credential: Arc<token::TokenCredential>,
    /// The identity of a call made outside any [`access::scope`]: the server's in
    /// server-identity mode; none in on-behalf-of mode, where such a call is refused.
    pub unscoped: Option<DataAccess>,
}

impl AzureHttp {
    /// Sends `request` with a token for `audience`; answers the final response.
    pub async fn call(
        &self,
        audience: &str,
        request: OutboundRequest,
    ) -> Result<OutboundResponse, AzureError> {
        let access = access::current()
            .or_else(|| self.unscoped.clone())
            .ok_or(AzureError::NoIdentity)?;
        let token = self.token(&access, audience).await?;
        let response = self.http.send(request.clone().bearer(token)).await?;
        if response.status != 401 {
            return Ok(response);
        }
        tracing::info!(
            audience,
            identity = access.label(),
            "token refused with 401; getting a new one once"
        );
        match &access {
            DataAccess::Server => self.credential.invalidate(audience).await,
            DataAccess::Caller(grant) => grant.invalidate(audience),
        }
        let token = self.token(&access, audience).await?;
        Ok(self.http.send(request.bearer(token)).await?)
    }

    async fn token(&self, access: &DataAccess, audience: &str) -> Result<Secret, AzureError> {
        Ok(match access {
            DataAccess::Server => self.credential.token(audience).await?,
            DataAccess::Caller(grant) => grant.token(audience).await?,
        })
    }

    /// Sends and decodes a JSON success, or turns the response into a service error.
    pub async fn json(
        &self,
        service: &'static str,
        audience: &str,
        request: OutboundRequest,
    ) -> Result<serde_json::Value, AzureError> {
        let response = self.call(audience, request).await?;
        if !response.is_success() {
            return Err(AzureError::from_response(service, &response));
        }
        if response.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|e| AzureError::Decode {
            service,
            reason: e.to_string(),
        })
    }
}

/// A paging link the service returned, accepted only on the service's own host: the bearer
/// token goes with it, so a link elsewhere is refused rather than followed.
pub(crate) fn same_origin(service: &'static str, base: &str, link: &str) -> Result<(), AzureError> {
    let origin = |u: &str| {
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        let host = rest
            .split(['/', '?'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        (
            u.split("://")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            host,
        )
    };
    if origin(base) == origin(link) {
        Ok(())
    } else {
        Err(AzureError::Decode {
            service,
            reason: format!(
                "a paging link points outside {base}; refusing to send the token there"
            ),
        })
    }
}

/// Joins a base URL and a path with exactly one slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Percent-encodes a query-string value.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn encode_escapes_reserved_characters() {
        assert_eq!(encode("status eq 'active'"), "status%20eq%20%27active%27");
        assert_eq!(join("http://a/", "/b"), "http://a/b");
    }

    #[test]
    fn paging_links_must_stay_on_the_service_host() {
        let base = "https://graph.microsoft.com";
        assert!(same_origin("g", base, "https://graph.microsoft.com/v1.0/x?$skiptoken=1").is_ok());
        assert!(same_origin("g", base, "https://evil.example/v1.0/x").is_err());
        assert!(same_origin("g", base, "http://graph.microsoft.com/v1.0/x").is_err());
        assert!(same_origin("g", "http://127.0.0.1:5", "http://127.0.0.1:5/a").is_ok());
    }
}
