//! On-behalf-of: the caller's validated access token is exchanged with Entra's OAuth 2.0
//! on-behalf-of grant for a token to the downstream service (Log Analytics, Microsoft Graph, ARM),
//! so Azure enforces the caller's own permissions and logs the caller. The server authenticates
//! to Entra as the API's app registration (`MCP_SERVER_APP_ID`) with its managed identity as a
//! federated credential, a certificate or a secret (`client`). Downstream tokens are cached per
//! tenant, caller and resource, one exchange at a time per key (`cache`).

mod cache;
mod client;

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::Value as J;

use super::token::{AccessToken, REFRESH_EARLY_SECS, describe_error, scope, token_from_json};
use super::{encode, join};
use crate::model::{DataKind, IncidentsApi};
use crate::outbound::{OutboundClient, OutboundRequest};
use crate::secret::Secret;
pub use client::{ClientCredential, ClientCredentialConfig};

/// The most an exchange may take: it runs before the caller's request is answered.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Why the caller's access to an Azure service could not be established. Every message says
/// who can act on it; none carries a token, an assertion or a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OboError {
    /// AADSTS65001: nobody consented to the delegated permissions of this service.
    #[error(
        "this server's app registration ({app_id}) has no admin consent for the {api} permission {permissions}: an administrator must grant admin consent (Entra admin center → App registrations → API permissions → Grant admin consent). Entra said: {detail}"
    )]
    ConsentRequired {
        app_id: String,
        api: &'static str,
        permissions: String,
        detail: String,
    },
    /// Conditional Access wants more of the caller's sign-in (MFA, a compliant device).
    #[error(
        "Conditional Access requires you to sign in again for {api} (for example with multi-factor authentication); your client must request a new token with the claims challenge. Entra said: {detail}"
    )]
    ClaimsChallenge {
        api: &'static str,
        /// The `claims` JSON Entra returned, to hand to the client (base64 in the challenge).
        claims: String,
        detail: String,
    },
    /// Entra refused the caller's token as the user assertion (expired, revoked, MFA needed).
    #[error("your token cannot be used to reach {api}: {detail}; sign in again")]
    CallerToken { api: &'static str, detail: String },
    /// The server's own credential failed: the operator must act, not the caller.
    #[error(
        "the server cannot authenticate to Entra ID to act on your behalf ({detail}); this is the server's configuration, not your sign-in: try again later or tell its operator"
    )]
    ServerCredential { detail: String },
    /// Entra did not answer, or answered with a server error.
    #[error("Entra ID is unavailable for the on-behalf-of exchange ({detail}); try again shortly")]
    Unavailable { detail: String },
    /// Any other refusal (e.g. the service is unknown in the tenant).
    #[error("Entra ID refused the on-behalf-of exchange for {api}: {detail}")]
    Refused { api: &'static str, detail: String },
}

impl OboError {
    /// The HTTP status that answers it before a tool runs (401: sign in again; 503: the
    /// server's credential or Entra), or `None` when it is the tool's error to report.
    pub fn status(&self) -> Option<u16> {
        match self {
            OboError::ClaimsChallenge { .. } | OboError::CallerToken { .. } => Some(401),
            OboError::ServerCredential { .. } | OboError::Unavailable { .. } => Some(503),
            OboError::ConsentRequired { .. } | OboError::Refused { .. } => None,
        }
    }

    /// The `WWW-Authenticate: Bearer` parameters of a 401: `insufficient_claims` with the
    /// base64 claims of a Conditional Access challenge, else `invalid_token`.
    pub fn bearer_params(&self) -> Vec<(&'static str, String)> {
        match self {
            OboError::ClaimsChallenge { api, claims, .. } => vec![
                ("error", "insufficient_claims".into()),
                (
                    "claims",
                    base64::engine::general_purpose::STANDARD.encode(claims),
                ),
                (
                    "error_description",
                    format!("Conditional Access requires a new sign-in for {api}"),
                ),
            ],
            OboError::CallerToken { api, .. } => vec![
                ("error", "invalid_token".into()),
                (
                    "error_description",
                    format!("the token cannot be exchanged for {api}; sign in again"),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// The challenge as a `WWW-Authenticate` value, for transports that carry it in a body.
    pub fn www_authenticate(&self) -> Option<String> {
        let params = self.bearer_params();
        (!params.is_empty()).then(|| {
            let parts: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace(['"', '\\'], "")))
                .collect();
            format!("Bearer {}", parts.join(", "))
        })
    }
}

/// The caller's validated access token: whom it names, and the token, which is the exchange's
/// user assertion.
#[derive(Clone)]
pub struct CallerToken {
    pub tenant_id: String,
    pub object_id: String,
    pub token: Secret,
    /// The token's `exp` (Unix seconds).
    pub expires_at: i64,
}

/// Where the Azure services are and what the server calls them for.
#[derive(Debug, Clone)]
pub struct Services {
    pub log_analytics: String,
    pub graph: String,
    pub arm: String,
    pub incidents_api: IncidentsApi,
    /// Whether the write tools are on (they need Graph's ReadWrite permission).
    pub write_tools: bool,
}

impl Services {
    /// The audience of the service that holds `kind`.
    pub fn audience(&self, kind: DataKind) -> &str {
        match kind {
            DataKind::Logs => &self.log_analytics,
            DataKind::Incidents | DataKind::IncidentChanges
                if self.incidents_api == IncidentsApi::Arm =>
            {
                &self.arm
            }
            DataKind::Hunting
            | DataKind::Incidents
            | DataKind::IncidentChanges
            | DataKind::Alerts => &self.graph,
        }
    }

    /// The API's name in the Entra admin center and the delegated permissions the server needs
    /// of it.
    fn describe(&self, audience: &str) -> (&'static str, String) {
        if audience == self.log_analytics {
            ("Log Analytics API", "Data.Read".into())
        } else if audience == self.arm {
            ("Azure Service Management", "user_impersonation".into())
        } else if audience == self.graph {
            let mut permissions =
                "SecurityIncident.Read.All, SecurityAlert.Read.All, ThreatHunting.Read.All"
                    .to_string();
            if self.write_tools && self.incidents_api == IncidentsApi::Graph {
                permissions.push_str(", SecurityIncident.ReadWrite.All");
            }
            ("Microsoft Graph", permissions)
        } else {
            ("the Azure service", String::from("(see docs/security.md)"))
        }
    }
}

/// What the exchange is configured with.
#[derive(Debug, Clone)]
pub struct OboConfig {
    /// The API's app registration (`MCP_SERVER_APP_ID`): the exchange's client.
    pub client_id: String,
    pub authority_host: String,
    /// The server's tenant (`AZURE_TENANT_ID`), whose token endpoint readiness checks against.
    pub home_tenant: String,
    pub credential: ClientCredentialConfig,
    pub services: Services,
    /// Most downstream tokens kept.
    pub cache_entries: usize,
}

/// Exchanges callers' tokens for downstream tokens and keeps them.
pub struct OnBehalfOf {
    http: OutboundClient,
    client_id: String,
    authority: String,
    home_tenant: String,
    client: ClientCredential,
    services: Services,
    cache: cache::TokenCache,
}

impl OnBehalfOf {
    /// The exchange over `http`; the managed identity, when that is the credential, comes from
    /// `identity`. Errors name the setting to fix.
    pub fn new(
        config: OboConfig,
        http: OutboundClient,
        identity: &super::token::IdentityConfig,
    ) -> Result<OnBehalfOf, String> {
        let client = ClientCredential::new(&config.credential, identity, &http)?;
        Ok(OnBehalfOf {
            http,
            client_id: config.client_id,
            authority: config.authority_host,
            home_tenant: config.home_tenant,
            client,
            services: config.services,
            cache: cache::TokenCache::new(config.cache_entries),
        })
    }

    /// How the server authenticates to Entra, for logs and readiness.
    pub fn credential_name(&self) -> &'static str {
        self.client.name()
    }

    /// The audience of the service that holds `kind`.
    pub fn audience(&self, kind: DataKind) -> &str {
        self.services.audience(kind)
    }

    /// Whether the server can authenticate to Entra right now: it obtains its client
    /// assertion (the managed identity's token, or a signed certificate assertion).
    pub async fn check_client_credential(&self) -> Result<(), OboError> {
        let endpoint = self.token_endpoint(&self.home_tenant);
        self.client
            .fields(&self.client_id, &endpoint, self.http.clock().now_secs())
            .await
            .map(drop)
    }

    /// A token for `audience` as the caller: cached, or exchanged (one exchange at a time per
    /// caller and audience; concurrent calls wait for it). A cached token serves until five
    /// minutes before it expires and never past the caller's own token.
    pub async fn token(
        &self,
        caller: &CallerToken,
        audience: &str,
    ) -> Result<AccessToken, OboError> {
        let key = cache::Key::new(caller, audience);
        if caller.expires_at <= self.http.clock().now_secs() {
            self.cache.remove(&key);
            let (api, _) = self.services.describe(audience);
            return Err(OboError::CallerToken {
                api,
                detail: "your token has expired".into(),
            });
        }
        let slot = self.cache.slot(&key);
        let mut held = slot.lock().await;
        if let Some(cached) = held.as_ref()
            && cached.usable_until > self.http.clock().now_secs()
        {
            return Ok(cached.token.clone());
        }
        *held = None;
        let fresh = self.exchange(caller, audience).await?;
        *held = Some(cache::Cached {
            usable_until: (fresh.expires_on - REFRESH_EARLY_SECS).min(caller.expires_at),
            token: fresh.clone(),
        });
        Ok(fresh)
    }

    /// Forgets the caller's token for `audience` (the service refused it).
    pub fn invalidate(&self, caller: &CallerToken, audience: &str) {
        self.cache.remove(&cache::Key::new(caller, audience));
    }

    fn token_endpoint(&self, tenant: &str) -> String {
        join(
            &self.authority,
            &format!("{}/oauth2/v2.0/token", encode(tenant)),
        )
    }

    /// One on-behalf-of request to the caller's tenant.
    async fn exchange(
        &self,
        caller: &CallerToken,
        audience: &str,
    ) -> Result<AccessToken, OboError> {
        let endpoint = self.token_endpoint(&caller.tenant_id);
        let mut fields = vec![
            ("grant_type".to_string(), Secret::from(JWT_BEARER)),
            ("client_id".to_string(), Secret::new(self.client_id.clone())),
            ("assertion".to_string(), caller.token.clone()),
            ("scope".to_string(), Secret::new(scope(audience))),
            (
                "requested_token_use".to_string(),
                Secret::from("on_behalf_of"),
            ),
        ];
        fields.extend(
            self.client
                .fields(&self.client_id, &endpoint, self.http.clock().now_secs())
                .await?,
        );
        let request = OutboundRequest::new(Method::POST, endpoint)
            .form(fields)
            .timeout(EXCHANGE_TIMEOUT)
            .idempotent(true);
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| OboError::Unavailable {
                detail: e.to_string(),
            })?;
        let body: Option<J> = serde_json::from_slice(&response.body).ok();
        if response.is_success() {
            let Some(body) = body else {
                return Err(OboError::Unavailable {
                    detail: "Entra answered the exchange with a body that is not JSON".into(),
                });
            };
            tracing::debug!(
                tid = caller.tenant_id,
                oid = caller.object_id,
                audience,
                "on-behalf-of token issued"
            );
            return token_from_json("on-behalf-of", &body, self.http.clock().now_secs())
                .map_err(|e| OboError::Unavailable { detail: e.reason });
        }
        let error = self.classify(
            audience,
            response.status,
            body.as_ref(),
            &response.body_excerpt(),
        );
        tracing::warn!(
            tid = caller.tenant_id,
            oid = caller.object_id,
            audience,
            status = response.status,
            error = %error,
            "on-behalf-of exchange refused"
        );
        Err(error)
    }

    /// Entra's refusal, sorted by who can act on it.
    fn classify(&self, audience: &str, status: u16, body: Option<&J>, raw: &str) -> OboError {
        let (api, permissions) = self.services.describe(audience);
        let detail = describe_error(status, body, raw);
        let text = |k: &str| {
            body.and_then(|b| b.get(k))
                .and_then(J::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let codes: Vec<i64> = body
            .and_then(|b| b.get("error_codes"))
            .and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_i64).collect())
            .unwrap_or_default();
        let has = |code: i64| codes.contains(&code) || detail.contains(&format!("AADSTS{code}:"));
        let error = text("error");
        let claims = text("claims");
        if status >= 500 || status == 429 {
            OboError::Unavailable { detail }
        } else if has(65001) || text("suberror") == "consent_required" {
            OboError::ConsentRequired {
                app_id: self.client_id.clone(),
                api,
                permissions,
                detail,
            }
        } else if !claims.is_empty() {
            OboError::ClaimsChallenge {
                api,
                claims,
                detail,
            }
        } else if matches!(error.as_str(), "invalid_client" | "unauthorized_client") {
            OboError::ServerCredential { detail }
        } else if matches!(error.as_str(), "invalid_grant" | "interaction_required")
            || has(50076)
            || has(50079)
        {
            OboError::CallerToken { api, detail }
        } else {
            OboError::Refused { api, detail }
        }
    }
}

impl std::fmt::Debug for OnBehalfOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnBehalfOf")
            .field("client_id", &self.client_id)
            .field("credential", &self.client.name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
