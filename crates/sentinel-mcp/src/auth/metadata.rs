//! OAuth 2.0 Protected Resource Metadata (RFC 9728) and the `WWW-Authenticate` challenges.

use serde_json::{Value, json};

/// What clients need to find the authorization server and the scopes.
#[derive(Debug, Clone)]
pub struct ResourceMetadata {
    /// Public base URL of this server, no trailing slash.
    pub public_url: String,
    /// `{authority}/{tenant}/v2.0` for each allowed tenant.
    pub authorization_servers: Vec<String>,
    /// Fully qualified scopes, e.g. `api://<app id>/SecOps.Read`.
    pub scopes: Vec<String>,
}

impl ResourceMetadata {
    /// The resource identifier for an MCP endpoint path (`""`, `"/mcp"`, `"/sse"`).
    pub fn resource(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The metadata URL that describes an endpoint path.
    pub fn metadata_url(&self, path: &str) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource{path}",
            self.public_url
        )
    }

    /// The RFC 9728 document for an endpoint path.
    pub fn document(&self, path: &str) -> Value {
        json!({
            "resource": self.resource(path),
            "authorization_servers": self.authorization_servers,
            "scopes_supported": self.scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": "sentinel-mcp",
        })
    }
}
