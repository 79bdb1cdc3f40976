//! Entra ID authentication (OAuth 2.1 resource server) and authorization by tool class.

mod jwks;
pub mod metadata;
pub mod policy;
mod validator;

use serde::Serialize;

pub use jwks::JwksCache;
pub use policy::AccessPolicy;
pub use validator::{AuthError, TokenValidator, UnverifiedToken, read_unverified};

/// Who is calling: the validated claims of the bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub tenant_id: String,
    pub object_id: String,
    /// The client application (`appid` in v1 tokens, `azp` in v2).
    pub app_id: String,
    pub upn: Option<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// An application calling as itself (client credentials: `idtyp=app`, or no `scp`): there
    /// is no user to act on behalf of.
    pub app_only: bool,
    /// The token's `exp` (Unix seconds; 0 when authentication is off).
    pub expires_at: i64,
}

impl Principal {
    /// The caller when authentication is off (loopback development, stdio).
    pub fn anonymous() -> Principal {
        Principal {
            tenant_id: String::new(),
            object_id: "anonymous".into(),
            app_id: String::new(),
            upn: None,
            roles: Vec::new(),
            scopes: Vec::new(),
            app_only: false,
            expires_at: 0,
        }
    }

    /// Sessions belong to this key: tenant and object id. Built on every request (session
    /// ownership, the rate limit), so without `format!`'s machinery (~760 instructions a call).
    pub fn owner_key(&self) -> String {
        let mut key = String::with_capacity(self.tenant_id.len() + 1 + self.object_id.len());
        key.push_str(&self.tenant_id);
        key.push('/');
        key.push_str(&self.object_id);
        key
    }

    /// A name for logs, comments and the audit trail.
    pub fn display_name(&self) -> &str {
        self.upn.as_deref().unwrap_or(&self.object_id)
    }
}

/// What the HTTP layer learned about a request, handed to the MCP handler.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub principal: Principal,
    /// The identity its tool calls reach Azure with; `None` when it may not reach Azure at all
    /// (an app-only caller with SENTINEL_MCP_APP_CALLERS=deny).
    pub access: Option<crate::azure::access::DataAccess>,
    pub request_id: String,
    /// The MCP session the request belongs to, when it names one.
    pub session_id: Option<String>,
    /// Who the request counts against for every per-principal limit: the principal's tenant and
    /// object id ([`Principal::owner_key`]) when authenticated, else the client's address (from
    /// `X-Forwarded-For` only behind a trusted proxy). Computed once, when authenticating.
    pub limit_key: String,
    /// The W3C trace context the HTTP request carried (`traceparent`, `tracestate`).
    pub trace_parent: Option<crate::telemetry::trace::TraceParent>,
    /// `MCP-Protocol-Version`, when the client sent it.
    pub protocol_version: Option<String>,
}
