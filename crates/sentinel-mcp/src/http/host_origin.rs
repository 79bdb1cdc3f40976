//! DNS-rebinding and cross-origin protection for the MCP endpoints: the `Host` header must name
//! this server and a browser `Origin`, when present, must be allowed.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;

use super::{HttpState, json_error};

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const LOOPBACK_ORIGINS: [&str; 3] = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// Which `Host` and `Origin` values the MCP endpoints accept.
#[derive(Debug, Clone)]
pub struct HostOriginPolicy {
    /// Host names or `host:port`; empty means any host.
    hosts: Vec<String>,
    origins: OriginList,
}

/// Browser origins as `scheme://host[:port|:*]`, lower-case, without a trailing slash.
#[derive(Debug, Clone, Default)]
pub struct OriginList(Vec<String>);

impl OriginList {
    /// The non-empty entries of a configured list.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a String>) -> OriginList {
        OriginList(
            entries
                .into_iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        )
    }

    /// True when no origin is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an `Origin` header value matches an entry (scheme, host and port).
    pub fn matches(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        let name = strip_port(authority);
        let port = authority[name.len()..].trim_start_matches(':');
        let port = if port.is_empty() {
            default_port(scheme)
        } else {
            port
        };
        self.0.iter().any(|allowed| {
            let Some((a_scheme, a_auth)) = allowed.split_once("://") else {
                return false;
            };
            let a_name = strip_port(a_auth);
            let a_port = a_auth[a_name.len()..].trim_start_matches(':');
            let port_ok = match a_port {
                "*" => true,
                "" => port == default_port(a_scheme),
                p => p == port,
            };
            a_scheme == scheme && a_name == name && port_ok
        })
    }
}

impl HostOriginPolicy {
    /// Loopback names and origins plus the configured ones; a host entry `*` accepts any host.
    pub fn new(extra_hosts: &[String], extra_origins: &[String]) -> HostOriginPolicy {
        let extra_hosts: Vec<String> = extra_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let hosts = if extra_hosts.iter().any(|h| h == "*") {
            Vec::new()
        } else {
            LOOPBACK_HOSTS
                .iter()
                .map(|s| s.to_string())
                .chain(extra_hosts)
                .collect()
        };
        let loopback = LOOPBACK_ORIGINS.map(String::from);
        let origins = OriginList::new(loopback.iter().chain(extra_origins));
        HostOriginPolicy { hosts, origins }
    }

    /// Configures rmcp's Streamable HTTP service with the same policy (defence in depth).
    pub fn apply_to(&self, config: StreamableHttpServerConfig) -> StreamableHttpServerConfig {
        let config = if self.hosts.is_empty() {
            config.disable_allowed_hosts()
        } else {
            config.with_allowed_hosts(self.hosts.clone())
        };
        config
            .with_allowed_origins(self.origins.0.clone())
            .enforce_origin_validation()
    }

    /// Whether a `Host` header value is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        if self.hosts.is_empty() {
            return true;
        }
        let host = host.trim().to_ascii_lowercase();
        let name = strip_port(&host);
        self.hosts.iter().any(|h| *h == host || h == name)
    }

    /// Whether an `Origin` header value is allowed.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.matches(origin)
    }
}

fn default_port(scheme: &str) -> &'static str {
    if scheme == "https" { "443" } else { "80" }
}

/// `host:port` → `host`, keeping IPv6 brackets (`[::1]:80` → `[::1]`).
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    match authority.rsplit_once(':') {
        Some((name, port))
            if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit() || c == '*') =>
        {
            name
        }
        _ => authority,
    }
}

/// Why a request was refused: its `Host` or its `Origin`.
pub(super) enum Refused {
    Host,
    Origin,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let message = match self {
            Refused::Host => {
                "Forbidden: the Host header does not name this server; add the name to SENTINEL_MCP_ALLOWED_HOSTS"
            }
            Refused::Origin => {
                "Forbidden: this Origin is not allowed; add it to SENTINEL_MCP_ALLOWED_ORIGINS"
            }
        };
        json_error(StatusCode::FORBIDDEN, message)
    }
}

/// Refuses (403) a foreign `Host` or a disallowed `Origin`.
pub(super) fn check_host_and_origin(state: &HttpState, request: &Request) -> Result<(), Refused> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host_name = strip_port(host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    if !state.host_policy.host_allowed(host) && !state.host_policy.host_allowed(host_name) {
        crate::metrics::metrics().rejected("host");
        tracing::warn!(host, "request refused: Host not allowed");
        return Err(Refused::Host);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !state.host_policy.origin_allowed(origin) {
            crate::metrics::metrics().rejected("origin");
            tracing::warn!(origin, "request refused: Origin not allowed");
            return Err(Refused::Origin);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_foreign_hosts_fail() {
        let p = HostOriginPolicy::new(&[], &[]);
        for ok in ["localhost", "localhost:8000", "127.0.0.1:1", "[::1]:8000"] {
            assert!(
                p.host_allowed(ok) || p.host_allowed(strip_port(ok).trim_matches(['[', ']'])),
                "{ok}"
            );
        }
        assert!(!p.host_allowed("evil.example.com"));
        assert!(!p.host_allowed("evil.example.com:8000"));
    }

    #[test]
    fn configured_hosts_and_wildcard() {
        let p = HostOriginPolicy::new(&["mcp.contoso.com".into()], &[]);
        assert!(p.host_allowed("mcp.contoso.com:443"));
        assert!(HostOriginPolicy::new(&["*".into()], &[]).host_allowed("anything"));
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let p = HostOriginPolicy::new(&[], &["https://app.contoso.com".into()]);
        assert!(p.origin_allowed("http://localhost:6274"));
        assert!(p.origin_allowed("https://app.contoso.com"));
        assert!(p.origin_allowed("https://app.contoso.com:443"));
        assert!(!p.origin_allowed("http://app.contoso.com"));
        assert!(!p.origin_allowed("https://app.contoso.com:8443"));
        assert!(!p.origin_allowed("https://evil.example.com"));
        assert!(!p.origin_allowed("null"));
    }
}
