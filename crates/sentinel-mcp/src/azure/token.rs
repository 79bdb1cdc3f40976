//! Identity: `TokenProvider`s chained like DefaultAzureCredential (client secret → workload
//! identity → managed identity → Azure CLI), and a per-resource token cache with single-flight
//! refresh five minutes before expiry.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value as J;

use super::{encode, join};
use crate::clock::Clock;
use crate::outbound::{OutboundClient, OutboundRequest, OutboundResponse};
use crate::secret::Secret;

/// Tokens are refreshed this long before they expire.
pub const REFRESH_EARLY_SECS: i64 = 300;
/// How long IMDS may take before the chain moves on (it is absent off Azure).
const IMDS_TIMEOUT: Duration = Duration::from_secs(3);

/// An access token and when it expires (Unix seconds).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_on: i64,
}

/// Why a provider could not get a token; names the provider, never carries a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{provider}: {reason}")]
pub struct TokenError {
    pub provider: &'static str,
    pub reason: String,
    /// The provider is not usable here (endpoint absent, tool missing): try the next one.
    pub unavailable: bool,
}

impl TokenError {
    fn new(provider: &'static str, reason: impl Into<String>) -> TokenError {
        TokenError {
            provider,
            reason: reason.into(),
            unavailable: false,
        }
    }

    fn unavailable(provider: &'static str, reason: impl Into<String>) -> TokenError {
        TokenError {
            provider,
            reason: reason.into(),
            unavailable: true,
        }
    }
}

/// One way to get an access token for a resource (`https://api.loganalytics.io`).
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// The provider's name in errors and logs.
    fn name(&self) -> &'static str;
    /// The kind of identity, as the token metric's `identity` label names it.
    fn kind(&self) -> &'static str;
    /// Asks the identity service for a new token.
    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError>;
}

/// Settings of the identity chain.
#[derive(Debug, Clone, Default)]
pub struct IdentityConfig {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub federated_token_file: Option<PathBuf>,
    /// Entra's authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: String,
    /// Container Apps / App Service managed identity endpoint (`IDENTITY_ENDPOINT`).
    pub identity_endpoint: Option<String>,
    /// Its header secret (`IDENTITY_HEADER`).
    pub identity_header: Option<Secret>,
    /// A user-assigned identity by resource id (`mi_res_id`).
    pub managed_identity_resource_id: Option<String>,
    /// The instance metadata service, e.g. `http://169.254.169.254`.
    pub imds_endpoint: String,
    /// Whether managed identity through IMDS is tried.
    pub imds: bool,
    /// Whether the Azure CLI is tried last (development).
    pub azure_cli: bool,
}

/// The providers the configuration enables, in DefaultAzureCredential's order.
pub fn providers(config: &IdentityConfig, http: &OutboundClient) -> Vec<Arc<dyn TokenProvider>> {
    let mut out: Vec<Arc<dyn TokenProvider>> = Vec::new();
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let tenant = non_empty(&config.tenant_id);
    let client = non_empty(&config.client_id);
    if let (Some(tenant), Some(client), Some(secret)) =
        (&tenant, &client, config.client_secret.as_ref())
        && !secret.expose().is_empty()
    {
        out.push(Arc::new(ClientSecretProvider {
            http: http.clone(),
            authority: config.authority_host.clone(),
            tenant: tenant.clone(),
            client_id: client.clone(),
            secret: secret.clone(),
        }));
    }
    if let (Some(tenant), Some(client), Some(file)) =
        (&tenant, &client, config.federated_token_file.as_ref())
    {
        out.push(Arc::new(WorkloadIdentityProvider {
            http: http.clone(),
            authority: config.authority_host.clone(),
            tenant: tenant.clone(),
            client_id: client.clone(),
            file: file.clone(),
        }));
    }
    if let Some(managed) = managed_identity(config, http) {
        out.push(managed);
    }
    if config.azure_cli {
        out.push(Arc::new(AzureCliProvider {
            clock: http.clock().clone(),
        }));
    }
    out
}

/// The managed identity the configuration reaches: the Container Apps / App Service endpoint
/// when `IDENTITY_ENDPOINT` and its header are set, else IMDS when enabled. User-assigned by
/// resource id, else by `AZURE_CLIENT_ID`; system-assigned without either.
pub fn managed_identity(
    config: &IdentityConfig,
    http: &OutboundClient,
) -> Option<Arc<dyn TokenProvider>> {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let user_assigned = match non_empty(&config.managed_identity_resource_id) {
        Some(id) => Some(UserAssigned::ResourceId(id)),
        None => non_empty(&config.client_id).map(UserAssigned::ClientId),
    };
    let source = if let (Some(endpoint), Some(header)) = (
        non_empty(&config.identity_endpoint),
        config.identity_header.as_ref(),
    ) {
        ManagedIdentitySource::AppService {
            endpoint,
            header: header.clone(),
        }
    } else if config.imds {
        ManagedIdentitySource::Imds {
            endpoint: config.imds_endpoint.clone(),
        }
    } else {
        return None;
    };
    Some(Arc::new(ManagedIdentityProvider {
        http: http.clone(),
        source,
        user_assigned,
    }))
}

/// Entra's client credentials grant with a client secret.
pub struct ClientSecretProvider {
    http: OutboundClient,
    authority: String,
    tenant: String,
    client_id: String,
    secret: Secret,
}

#[async_trait]
impl TokenProvider for ClientSecretProvider {
    fn name(&self) -> &'static str {
        "client secret"
    }

    fn kind(&self) -> &'static str {
        "client_secret"
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError> {
        let fields = vec![
            ("grant_type".to_string(), Secret::from("client_credentials")),
            ("client_id".to_string(), Secret::new(self.client_id.clone())),
            ("client_secret".to_string(), self.secret.clone()),
            ("scope".to_string(), Secret::new(scope(resource))),
        ];
        let url = join(
            &self.authority,
            &format!("{}/oauth2/v2.0/token", encode(&self.tenant)),
        );
        let request = OutboundRequest::new(Method::POST, url)
            .form(fields)
            .idempotent(true);
        let response = send(&self.http, self.name(), request).await?;
        parse_token(self.name(), &response, self.http.clock().now_secs()).map_err(|mut e| {
            e.reason = e.reason.replace(self.secret.expose(), "***");
            e
        })
    }
}

/// Entra's client credentials grant with a federated token read from a file (AKS workload
/// identity); the file is read on every fetch because the platform rotates it.
pub struct WorkloadIdentityProvider {
    http: OutboundClient,
    authority: String,
    tenant: String,
    client_id: String,
    file: PathBuf,
}

#[async_trait]
impl TokenProvider for WorkloadIdentityProvider {
    fn name(&self) -> &'static str {
        "workload identity"
    }

    fn kind(&self) -> &'static str {
        "workload_identity"
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError> {
        let file = self.file.clone();
        let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(file))
            .await
            .map_err(|e| TokenError::new(self.name(), format!("file read task failed: {e}")))?;
        let assertion = read.map_err(|e| {
            TokenError::unavailable(
                self.name(),
                format!(
                    "cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}",
                    self.file.display()
                ),
            )
        })?;
        let fields = vec![
            ("grant_type".to_string(), Secret::from("client_credentials")),
            ("client_id".to_string(), Secret::new(self.client_id.clone())),
            (
                "client_assertion_type".to_string(),
                Secret::from("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ),
            (
                "client_assertion".to_string(),
                Secret::new(assertion.trim().to_string()),
            ),
            ("scope".to_string(), Secret::new(scope(resource))),
        ];
        let url = join(
            &self.authority,
            &format!("{}/oauth2/v2.0/token", encode(&self.tenant)),
        );
        let request = OutboundRequest::new(Method::POST, url)
            .form(fields)
            .idempotent(true);
        let response = send(&self.http, self.name(), request).await?;
        parse_token(self.name(), &response, self.http.clock().now_secs())
    }
}

/// A user-assigned managed identity.
#[derive(Debug, Clone)]
pub enum UserAssigned {
    ClientId(String),
    ResourceId(String),
}

/// Where a managed identity token comes from.
#[derive(Debug, Clone)]
pub enum ManagedIdentitySource {
    /// Container Apps / App Service: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
    AppService { endpoint: String, header: Secret },
    /// The VM instance metadata service.
    Imds { endpoint: String },
}

/// Managed identity through the Container Apps endpoint or IMDS.
pub struct ManagedIdentityProvider {
    http: OutboundClient,
    source: ManagedIdentitySource,
    user_assigned: Option<UserAssigned>,
}

#[async_trait]
impl TokenProvider for ManagedIdentityProvider {
    fn name(&self) -> &'static str {
        match self.source {
            ManagedIdentitySource::AppService { .. } => "managed identity (Container Apps)",
            ManagedIdentitySource::Imds { .. } => "managed identity (IMDS)",
        }
    }

    fn kind(&self) -> &'static str {
        "managed_identity"
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError> {
        let (mut url, id_param) = match &self.source {
            ManagedIdentitySource::AppService { endpoint, .. } => (
                format!(
                    "{endpoint}?api-version=2019-08-01&resource={}",
                    encode(resource)
                ),
                "mi_res_id",
            ),
            ManagedIdentitySource::Imds { endpoint } => (
                format!(
                    "{}?api-version=2018-02-01&resource={}",
                    join(endpoint, "metadata/identity/oauth2/token"),
                    encode(resource)
                ),
                "msi_res_id",
            ),
        };
        match &self.user_assigned {
            Some(UserAssigned::ClientId(id)) => url.push_str(&format!("&client_id={}", encode(id))),
            Some(UserAssigned::ResourceId(id)) => {
                url.push_str(&format!("&{id_param}={}", encode(id)))
            }
            None => {}
        }
        let request = match &self.source {
            ManagedIdentitySource::AppService { header, .. } => {
                OutboundRequest::new(Method::GET, url).header("X-IDENTITY-HEADER", header.expose())
            }
            ManagedIdentitySource::Imds { .. } => OutboundRequest::new(Method::GET, url)
                .header("Metadata", "true")
                .timeout(IMDS_TIMEOUT)
                // Off Azure IMDS does not answer; do not spend retries discovering that.
                .idempotent(false),
        };
        let response = send(&self.http, self.name(), request).await?;
        parse_token(self.name(), &response, self.http.clock().now_secs())
    }
}

/// `az account get-access-token`, for development on a signed-in machine.
pub struct AzureCliProvider {
    /// Turns a relative lifetime into an expiry.
    clock: Clock,
}

#[async_trait]
impl TokenProvider for AzureCliProvider {
    fn name(&self) -> &'static str {
        "Azure CLI"
    }

    fn kind(&self) -> &'static str {
        "azure_cli"
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError> {
        let resource = resource.to_string();
        let run = tokio::task::spawn_blocking(move || {
            std::process::Command::new("az")
                .args([
                    "account",
                    "get-access-token",
                    "--output",
                    "json",
                    "--resource",
                    &resource,
                ])
                .stdin(std::process::Stdio::null())
                .output()
        });
        let output = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .map_err(|_| TokenError::new("Azure CLI", "az did not answer within 30 s"))?
            .map_err(|e| TokenError::new("Azure CLI", format!("az could not run: {e}")))?
            .map_err(|e| {
                TokenError::unavailable("Azure CLI", format!("az is not installed: {e}"))
            })?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            let first = err.lines().next().unwrap_or("").trim().to_string();
            return Err(TokenError::unavailable(
                "Azure CLI",
                format!("az account get-access-token failed (run `az login`): {first}"),
            ));
        }
        let v: J = serde_json::from_slice(&output.stdout)
            .map_err(|e| TokenError::new("Azure CLI", format!("unreadable output: {e}")))?;
        token_from_json("Azure CLI", &v, self.clock.now_secs())
    }
}

/// Asks a provider for a token, counting the acquisition by identity kind and outcome.
async fn fetch_counted(
    provider: &dyn TokenProvider,
    resource: &str,
) -> Result<AccessToken, TokenError> {
    let token = provider.fetch(resource).await;
    crate::metrics::metrics().token_acquired(provider.kind(), token.is_ok());
    token
}

/// `https://x` → `https://x/.default`.
pub(crate) fn scope(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

async fn send(
    http: &OutboundClient,
    provider: &'static str,
    request: OutboundRequest,
) -> Result<OutboundResponse, TokenError> {
    http.send(request.service("entra"))
        .await
        .map_err(|e| TokenError::unavailable(provider, e.to_string()))
}

fn parse_token(
    provider: &'static str,
    response: &OutboundResponse,
    now: i64,
) -> Result<AccessToken, TokenError> {
    let body: Option<J> = serde_json::from_slice(&response.body).ok();
    if !response.is_success() {
        return Err(TokenError::new(
            provider,
            describe_error(response.status, body.as_ref(), &response.body_excerpt()),
        ));
    }
    let Some(v) = body else {
        return Err(TokenError::new(provider, "the token response is not JSON"));
    };
    token_from_json(provider, &v, now)
}

/// A sentence from an identity service's error: the AADSTS code first, then the description.
pub(crate) fn describe_error(status: u16, body: Option<&J>, raw: &str) -> String {
    let Some(v) = body else {
        return format!("HTTP {status}: {raw}");
    };
    let text = |k: &str| v.get(k).and_then(J::as_str).map(str::to_string);
    let description = text("error_description")
        .or_else(|| text("message"))
        .or_else(|| text("Message"))
        .or_else(|| {
            v.get("error")
                .and_then(|e| e.get("message"))
                .and_then(J::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| raw.to_string());
    let description = description.lines().next().unwrap_or("").trim().to_string();
    let code = aadsts_code(&description).or_else(|| {
        v.get("error_codes")
            .and_then(J::as_array)
            .and_then(|a| a.first())
            .and_then(J::as_i64)
            .map(|c| format!("AADSTS{c}"))
    });
    let error = text("error");
    match (code, error) {
        (Some(code), Some(err)) => format!("HTTP {status} {code} ({err}): {description}"),
        (Some(code), None) => format!("HTTP {status} {code}: {description}"),
        (None, Some(err)) => format!("HTTP {status} ({err}): {description}"),
        (None, None) => format!("HTTP {status}: {description}"),
    }
}

fn aadsts_code(text: &str) -> Option<String> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// Reads `access_token`/`accessToken` and the expiry from `expires_on` (number, numeric string
/// or date), falling back to `expires_in` from `now` (Unix seconds).
pub(crate) fn token_from_json(
    provider: &'static str,
    v: &J,
    now: i64,
) -> Result<AccessToken, TokenError> {
    let token = v
        .get("access_token")
        .or_else(|| v.get("accessToken"))
        .and_then(J::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::new(provider, "the response carries no access_token"))?;
    let expires_on = ["expires_on", "expiresOn"]
        .iter()
        .find_map(|k| v.get(*k).and_then(epoch_seconds))
        .or_else(|| v.get("expires_in").and_then(number).map(|secs| now + secs))
        .ok_or_else(|| {
            TokenError::new(
                provider,
                "the response says neither expires_on nor expires_in",
            )
        })?;
    Ok(AccessToken {
        token: Secret::new(token),
        expires_on,
    })
}

fn number(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        J::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
}

fn epoch_seconds(v: &J) -> Option<i64> {
    if let Some(n) = number(v) {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for fmt in ["%m/%d/%Y %I:%M:%S %p %z", "%m/%d/%Y %H:%M:%S %z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp());
        }
    }
    // The Azure CLI's `expiresOn` is local time without a zone.
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .and_then(|t| t.and_local_timezone(chrono::Local).single())
        .map(|t| t.timestamp())
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// The chain plus a cache: one token per resource, refreshed five minutes early, one refresh
/// in flight per resource (concurrent callers wait for it).
pub struct TokenCredential {
    providers: Vec<Arc<dyn TokenProvider>>,
    /// The provider that last succeeded (`usize::MAX`: none yet), tried first.
    chosen: AtomicUsize,
    cache: std::sync::Mutex<HashMap<String, Slot>>,
    /// When a cached token is due for refresh.
    clock: Clock,
}

impl TokenCredential {
    /// A credential over these providers, in order, refreshing tokens by `clock`.
    pub fn new(providers: Vec<Arc<dyn TokenProvider>>, clock: Clock) -> TokenCredential {
        TokenCredential {
            providers,
            chosen: AtomicUsize::new(usize::MAX),
            cache: std::sync::Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// The clock its tokens' lifetimes are read by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The names of the providers, in order.
    pub fn provider_names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    fn slot(&self, resource: &str) -> Slot {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(resource.to_string()).or_default().clone()
    }

    /// A valid token for `resource`, from the cache or a refresh.
    pub async fn token(&self, resource: &str) -> Result<Secret, TokenError> {
        let slot = self.slot(resource);
        let mut held = slot.lock().await;
        let now = self.clock.now_secs();
        if let Some(t) = held.as_ref()
            && t.expires_on - now > REFRESH_EARLY_SECS
        {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch(resource).await?;
        let token = fresh.token.clone();
        *held = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token of `resource` (a service answered 401 to it).
    pub async fn invalidate(&self, resource: &str) {
        let slot = self.slot(resource);
        *slot.lock().await = None;
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, TokenError> {
        if self.providers.is_empty() {
            return Err(TokenError::new(
                "identity",
                "no identity is configured: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, run in Azure with a managed identity, or sign in with `az login`",
            ));
        }
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some(p) = self.providers.get(chosen) {
            return fetch_counted(p.as_ref(), resource).await;
        }
        let mut failures = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            match fetch_counted(p.as_ref(), resource).await {
                Ok(t) => {
                    tracing::info!(provider = p.name(), resource, "identity chosen");
                    self.chosen.store(i, Ordering::Relaxed);
                    return Ok(t);
                }
                Err(e) if e.unavailable => {
                    tracing::debug!(provider = p.name(), error = %e.reason, "identity unavailable");
                    failures.push(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        Err(TokenError::new(
            "identity chain",
            format!(
                "no identity could get a token for {resource}: {}",
                failures.join("; ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_numbers_strings_and_dates() {
        let t = token_from_json(
            "t",
            &serde_json::json!({"access_token": "a", "expires_on": "1700000000"}),
            0,
        )
        .unwrap();
        assert_eq!(t.expires_on, 1_700_000_000);
        let t = token_from_json(
            "t",
            &serde_json::json!({"access_token": "a", "expires_on": 1700000000}),
            0,
        )
        .unwrap();
        assert_eq!(t.expires_on, 1_700_000_000);
        let t = token_from_json(
            "t",
            &serde_json::json!({"access_token": "a", "expires_on": "2023-11-14T22:13:20Z"}),
            0,
        )
        .unwrap();
        assert_eq!(t.expires_on, 1_700_000_000);
        let t = token_from_json(
            "t",
            &serde_json::json!({"access_token": "a", "expires_in": "3600"}),
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(t.expires_on, 1_700_003_600);
        assert!(token_from_json("t", &serde_json::json!({"access_token": "a"}), 0).is_err());
    }

    #[test]
    fn entra_errors_lead_with_the_aadsts_code() {
        let body = serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x", "error_codes": [7000215]});
        let msg = describe_error(401, Some(&body), "");
        assert_eq!(
            msg,
            "HTTP 401 AADSTS7000215 (invalid_client): AADSTS7000215: Invalid client secret provided."
        );
    }
}
