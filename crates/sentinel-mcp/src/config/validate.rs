//! [`Settings::validate`]: the settings checked, and what the server is built from derived from
//! them ([`ServerConfig`]), or a [`ConfigError`] naming the setting to fix.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{AuthMode, AzureAccess, BackendKind, Settings, Transport};
use crate::auth::AccessPolicy;
use crate::auth::metadata::ResourceMetadata;
use crate::azure::Audiences;
use crate::azure::obo::{ClientCredentialConfig, OboConfig, Services};
use crate::azure::token::IdentityConfig;
use crate::backend::TimeRange;
use crate::backend::azure::AzureConfig;
use crate::clock;
use crate::http::client::TrustedProxies;
use crate::model::{AppCallers, IncidentsApi};
use crate::outbound::RetryPolicy;

/// The largest result store (`SENTINEL_MCP_RESULT_STORE_MB`): 1 TiB.
const MAX_RESULT_STORE_MB: usize = 1 << 20;

/// Why the settings cannot start a server; each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("SENTINEL_MCP_DEFAULT_TIMESPAN: {0}")]
    DefaultTimespan(String),
    #[error("SENTINEL_MCP_MAX_TIMESPAN: {0}")]
    MaxTimespan(String),
    #[error("SENTINEL_MCP_MAX_TIMESPAN: give a duration (P90D, 90d), not an interval")]
    MaxTimespanInterval,
    #[error("SENTINEL_MCP_MAX_ROWS and SENTINEL_MCP_MAX_ROWS_LIMIT must be at least 1")]
    NoRows,
    #[error("SENTINEL_MCP_QUERY_MEMORY_MB and SENTINEL_MCP_ENGINE_MEMORY_MB must be at least 1")]
    NoMemory,
    #[error("SENTINEL_MCP_MAX_QUERY_CHARS must be at least 1")]
    NoQueryChars,
    #[error(
        "SENTINEL_MCP_RESULT_TTL_SECS must be from 1 to 86400 seconds, not {0} (to keep no full results, set SENTINEL_MCP_RESULT_STORE_MB=0)"
    )]
    ResultTtl(u64),
    #[error("SENTINEL_MCP_RESULT_STORE_MB must be at most 1048576 (1 TiB), not {0}; 0 keeps none")]
    ResultStoreSize(usize),
    #[error("SENTINEL_MCP_CHART_SIZE: '{0}' is not WIDTHxHEIGHT with each from 200 to 4000 pixels")]
    ChartSize(String),
    #[error("SENTINEL_MCP_CHART_MAX_KB must be at least 16")]
    ChartBytes,
    #[error("SENTINEL_MCP_DATA_DIR {} is not a directory", .0.display())]
    DataDirNotADirectory(PathBuf),
    #[error(
        "refusing to serve {0} without authentication: set SENTINEL_MCP_AUTH=entra (with AZURE_TENANT_ID and MCP_SERVER_APP_ID), or SENTINEL_MCP_ALLOW_UNAUTHENTICATED=true to accept that anyone who reaches the port can query your data"
    )]
    Unauthenticated(IpAddr),
    #[error("SENTINEL_MCP_AUTH=entra needs AZURE_TENANT_ID (or SENTINEL_MCP_ALLOWED_TENANTS)")]
    EntraWithoutTenant,
    #[error("SENTINEL_MCP_AUTH=entra needs MCP_SERVER_APP_ID, the API's application (client) id")]
    EntraWithoutAppId,
    #[error("SENTINEL_MCP_AUTHORITY_HOST {0} must use https (plain http only on a loopback host)")]
    AuthorityNotHttps(String),
    #[error("SENTINEL_WORKSPACE_ID is required when SENTINEL_MCP_BACKEND=azure")]
    NoWorkspaceId,
    #[error("SENTINEL_MCP_WORKSPACES: '{0}' is not name=workspace-id")]
    WorkspacePair(String),
    #[error("SENTINEL_MCP_WORKSPACE_RESOURCE_ID is required when SENTINEL_MCP_INCIDENTS_API=arm")]
    NoWorkspaceResourceId,
    #[error("SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs SENTINEL_MCP_BACKEND=azure")]
    OnBehalfOfWithoutAzure,
    #[error(
        "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of acts with each caller's token: it needs SENTINEL_MCP_AUTH=entra over HTTP (not stdio)"
    )]
    OnBehalfOfWithoutEntra,
    #[error("SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs MCP_SERVER_APP_ID and AZURE_TENANT_ID")]
    OnBehalfOfWithoutApp,
    /// `SENTINEL_MCP_TRUSTED_PROXIES` (the message names it).
    #[error("{0}")]
    TrustedProxies(String),
}

/// The settings, checked, with what the server derives from them.
#[derive(Debug)]
pub struct ServerConfig {
    pub settings: Settings,
    /// Which roles and scopes reach which tool class (open when authentication is off).
    pub policy: AccessPolicy,
    /// Entra ID token validation, with `SENTINEL_MCP_AUTH=entra`.
    pub entra: Option<EntraConfig>,
    pub backend: BackendConfig,
    /// The guard every query passes.
    pub guard: kql::QueryGuard,
    pub trusted_proxies: TrustedProxies,
    /// How big the charts of `render` may be; `None` when SENTINEL_MCP_RENDER_CHARTS=false.
    pub charts: Option<sentinel_charts::Limits>,
}

/// What bearer tokens are validated against, and what the protected-resource metadata says.
#[derive(Debug)]
pub struct EntraConfig {
    /// The authority host, without a trailing `/`.
    pub authority: String,
    /// Accepted tenants, lowercase.
    pub tenants: Vec<String>,
    pub app_id: String,
    pub audiences: Vec<String>,
    pub metadata: ResourceMetadata,
}

/// The backend the settings choose.
#[derive(Debug)]
pub enum BackendConfig {
    /// The embedded engine.
    Local,
    /// Azure's services; with `SENTINEL_MCP_AZURE_ACCESS=on-behalf-of`, as each caller.
    Azure {
        config: Box<AzureConfig>,
        on_behalf_of: Option<Box<OnBehalfOfConfig>>,
    },
}

/// The on-behalf-of exchange and which app-only callers may use the server's own identity.
#[derive(Debug)]
pub struct OnBehalfOfConfig {
    pub exchange: OboConfig,
    pub app_callers: AppCallers,
}

impl Settings {
    /// Checks the settings and derives what the server is built from; the first problem found
    /// is the error.
    pub fn validate(self) -> Result<ServerConfig, ConfigError> {
        self.check_limits()?;
        let (policy, entra) = self.authentication()?;
        let backend = self.backend_config()?;
        let trusted_proxies = TrustedProxies::parse(&self.lifecycle.trusted_proxies)
            .map_err(ConfigError::TrustedProxies)?;
        let guard = self.query_guard()?;
        let charts = match self.render_charts {
            true => Some(self.chart_limits()?),
            false => None,
        };
        Ok(ServerConfig {
            settings: self,
            policy,
            entra,
            backend,
            guard,
            trusted_proxies,
            charts,
        })
    }

    /// The size a chart may take (SENTINEL_MCP_CHART_SIZE, SENTINEL_MCP_CHART_MAX_KB).
    pub fn chart_limits(&self) -> Result<sentinel_charts::Limits, ConfigError> {
        let bad = || ConfigError::ChartSize(self.chart_size.clone());
        let (w, h) = self.chart_size.split_once(['x', 'X']).ok_or_else(bad)?;
        let side = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|v| (200..=4000).contains(v))
                .ok_or_else(bad)
        };
        let (width, height) = (side(w)?, side(h)?);
        if self.chart_max_kb < 16 {
            return Err(ConfigError::ChartBytes);
        }
        Ok(sentinel_charts::Limits {
            width,
            height,
            max_bytes: self.chart_max_kb.saturating_mul(1024),
        })
    }

    fn check_limits(&self) -> Result<(), ConfigError> {
        TimeRange::parse(&self.default_timespan, clock::now_ticks())
            .map_err(|e| ConfigError::DefaultTimespan(e.to_string()))?;
        if self.max_rows == 0 || self.max_rows_limit == 0 {
            return Err(ConfigError::NoRows);
        }
        if self.query_memory_mb == 0 || self.engine_memory_mb == Some(0) {
            return Err(ConfigError::NoMemory);
        }
        if !(1..=86_400).contains(&self.result_ttl_secs) {
            return Err(ConfigError::ResultTtl(self.result_ttl_secs));
        }
        if self.result_store_mb > MAX_RESULT_STORE_MB {
            return Err(ConfigError::ResultStoreSize(self.result_store_mb));
        }
        if let Some(dir) = &self.data_dir
            && !dir.is_dir()
        {
            return Err(ConfigError::DataDirNotADirectory(dir.clone()));
        }
        Ok(())
    }

    /// The guard every query passes (the tools' and the one-shot commands'): the local engine
    /// refuses what it cannot parse; a remote service, whose KQL is the authority, gets such
    /// queries once the token scan found nothing forbidden.
    pub fn query_guard(&self) -> Result<kql::QueryGuard, ConfigError> {
        let max_timespan = match TimeRange::parse(&self.max_timespan, clock::now_ticks()) {
            Ok(r) if !self.max_timespan.contains('/') => r.end - r.start - 1,
            Ok(_) => return Err(ConfigError::MaxTimespanInterval),
            Err(e) => return Err(ConfigError::MaxTimespan(e.to_string())),
        };
        let default_timespan = TimeRange::parse(&self.default_timespan, 0)
            .map(|r| r.end - r.start)
            .map_err(|e| ConfigError::DefaultTimespan(e.to_string()))?;
        if self.max_query_chars == 0 {
            return Err(ConfigError::NoQueryChars);
        }
        Ok(kql::QueryGuard {
            max_query_chars: self.max_query_chars,
            default_timespan,
            max_timespan,
            max_rows: self.max_rows_limit,
            max_result_bytes: self.max_result_bytes,
            timeout: self.query_timeout(),
            // The default workspace and every named one (by name and by id) may be referenced.
            allowed_workspaces: self
                .azure
                .workspace_id
                .iter()
                .cloned()
                .chain(
                    self.azure
                        .workspaces
                        .iter()
                        .filter_map(|p| p.split_once('='))
                        .flat_map(|(name, id)| [name.trim().to_string(), id.trim().to_string()]),
                )
                .collect(),
            syntax: match self.azure.backend {
                BackendKind::Local => kql::guard::SyntaxPolicy::Strict,
                BackendKind::Azure => kql::guard::SyntaxPolicy::LeaveToService,
            },
        })
    }

    /// The access policy and, with `SENTINEL_MCP_AUTH=entra`, what tokens are validated against.
    /// Refuses an unauthenticated server on a non-loopback address unless explicitly allowed.
    fn authentication(&self) -> Result<(AccessPolicy, Option<EntraConfig>), ConfigError> {
        if self.auth == AuthMode::None {
            if self.unauthenticated_on_network() && !self.allow_unauthenticated {
                return Err(ConfigError::Unauthenticated(self.host));
            }
            return Ok((AccessPolicy::open(), None));
        }
        let mut tenants: Vec<String> = self
            .tenant_id
            .iter()
            .chain(&self.allowed_tenants)
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        tenants.dedup();
        if tenants.is_empty() {
            return Err(ConfigError::EntraWithoutTenant);
        }
        let app_id = self
            .server_app_id
            .clone()
            .filter(|a| !a.trim().is_empty())
            .ok_or(ConfigError::EntraWithoutAppId)?;
        let authority = self.authority_host.trim_end_matches('/').to_string();
        let authority_ok = authority.starts_with("https://")
            || authority.strip_prefix("http://").is_some_and(|rest| {
                let host = rest.split('/').next().unwrap_or_default();
                let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
                matches!(name, "localhost" | "127.0.0.1" | "[::1]")
            });
        if !authority_ok {
            return Err(ConfigError::AuthorityNotHttps(authority));
        }
        let app_uri = self
            .app_id_uri
            .clone()
            .unwrap_or_else(|| format!("api://{app_id}"));
        let mut audiences = vec![app_id.clone(), format!("api://{app_id}")];
        if !audiences.contains(&app_uri) {
            audiences.push(app_uri.clone());
        }
        let policy = AccessPolicy {
            read: self.read_roles.clone(),
            hunt: self.hunt_roles.clone(),
            write: self.write_roles.clone(),
            enforced: true,
        };
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| {
                format!("http://{}", std::net::SocketAddr::new(self.host, self.port))
            })
            .trim_end_matches('/')
            .to_string();
        let scopes = policy
            .read
            .iter()
            .chain(&policy.hunt)
            .chain(&policy.write)
            .map(|n| format!("{app_uri}/{n}"))
            .collect();
        let metadata = ResourceMetadata {
            public_url,
            authorization_servers: tenants
                .iter()
                .map(|t| format!("{authority}/{t}/v2.0"))
                .collect(),
            scopes,
        };
        Ok((
            policy,
            Some(EntraConfig {
                authority,
                tenants,
                app_id,
                audiences,
                metadata,
            }),
        ))
    }

    /// Whether the server would answer anyone who reaches a non-loopback address without a token.
    pub fn unauthenticated_on_network(&self) -> bool {
        self.auth == AuthMode::None
            && self.transport != Transport::Stdio
            && !self.host.is_loopback()
    }

    fn backend_config(&self) -> Result<BackendConfig, ConfigError> {
        let on_behalf_of = self.azure.access == AzureAccess::OnBehalfOf;
        match self.azure.backend {
            BackendKind::Local if on_behalf_of => Err(ConfigError::OnBehalfOfWithoutAzure),
            BackendKind::Local => Ok(BackendConfig::Local),
            BackendKind::Azure => {
                let config = self.azure_config()?;
                let on_behalf_of = if on_behalf_of {
                    Some(Box::new(self.on_behalf_of(&config)?))
                } else {
                    None
                };
                Ok(BackendConfig::Azure {
                    config: Box::new(config),
                    on_behalf_of,
                })
            }
        }
    }

    /// The Azure backend's configuration (the server's and the one-shot commands').
    pub fn azure_config(&self) -> Result<AzureConfig, ConfigError> {
        let azure = &self.azure;
        let workspace_id = azure
            .workspace_id
            .clone()
            .filter(|w| !w.trim().is_empty())
            .ok_or(ConfigError::NoWorkspaceId)?;
        let mut workspaces = Vec::new();
        for pair in azure.workspaces.iter().filter(|p| !p.trim().is_empty()) {
            let Some((name, id)) = pair.split_once('=') else {
                return Err(ConfigError::WorkspacePair(pair.clone()));
            };
            workspaces.push((name.trim().to_string(), id.trim().to_string()));
        }
        if azure.incidents_api == IncidentsApi::Arm && azure.workspace_resource_id.is_none() {
            return Err(ConfigError::NoWorkspaceResourceId);
        }
        Ok(AzureConfig {
            workspace_id,
            workspaces,
            workspace_resource_id: azure.workspace_resource_id.clone(),
            incidents_api: azure.incidents_api,
            identity: self.identity_config(),
            log_analytics_endpoint: azure.log_analytics_endpoint.clone(),
            graph_endpoint: azure.graph_endpoint.clone(),
            arm_endpoint: azure.arm_endpoint.clone(),
            audiences: Audiences {
                log_analytics: azure.log_analytics_audience.clone(),
                graph: azure.graph_audience.clone(),
                arm: azure.arm_audience.clone(),
            },
            retry: RetryPolicy {
                max_retries: azure.max_retries,
                max_delay: Duration::from_secs(azure.max_retry_wait_secs.max(1)),
                ..RetryPolicy::default()
            },
            schema_cache: Duration::from_secs(azure.schema_cache_secs),
            default_timespan: self.default_timespan.clone(),
            max_concurrent_queries: azure.max_concurrent_queries,
            query_queue: self.limits.call_queue,
        })
    }

    /// The server's own identity chain, as the settings configure it (the Azure backend's, and
    /// Redis sign-in with Entra).
    pub fn identity_config(&self) -> IdentityConfig {
        let azure = &self.azure;
        IdentityConfig {
            tenant_id: self.tenant_id.clone(),
            client_id: azure.identity_client_id.clone(),
            client_secret: azure.identity_client_secret.clone(),
            federated_token_file: azure.federated_token_file.clone(),
            authority_host: self.authority_host.clone(),
            identity_endpoint: azure.identity_endpoint.clone(),
            identity_header: azure.identity_header.clone(),
            managed_identity_resource_id: azure.managed_identity_resource_id.clone(),
            imds_endpoint: azure.imds_endpoint.clone(),
            imds: true,
            azure_cli: azure.azure_cli,
        }
    }

    /// The on-behalf-of exchange: the API's app registration as its client, authenticated by
    /// the managed identity (when the Container Apps / App Service endpoint is there), a
    /// certificate, a secret, or else the managed identity through IMDS.
    fn on_behalf_of(&self, config: &AzureConfig) -> Result<OnBehalfOfConfig, ConfigError> {
        let azure = &self.azure;
        if self.auth != AuthMode::Entra || self.transport == Transport::Stdio {
            return Err(ConfigError::OnBehalfOfWithoutEntra);
        }
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let (Some(client_id), Some(home_tenant)) =
            (non_empty(&self.server_app_id), non_empty(&self.tenant_id))
        else {
            return Err(ConfigError::OnBehalfOfWithoutApp);
        };
        let app_service =
            non_empty(&azure.identity_endpoint).is_some() && azure.identity_header.is_some();
        let credential = match (&azure.client_certificate_path, &azure.client_secret) {
            _ if app_service => ClientCredentialConfig::ManagedIdentity {
                audience: azure.token_exchange_audience.clone(),
            },
            (Some(path), _) => ClientCredentialConfig::Certificate(path.clone()),
            (None, Some(secret)) => ClientCredentialConfig::Secret(secret.clone()),
            (None, None) => ClientCredentialConfig::ManagedIdentity {
                audience: azure.token_exchange_audience.clone(),
            },
        };
        Ok(OnBehalfOfConfig {
            exchange: OboConfig {
                client_id,
                authority_host: self.authority_host.clone(),
                home_tenant,
                credential,
                services: Services {
                    log_analytics: config.audiences.log_analytics.clone(),
                    graph: config.audiences.graph.clone(),
                    arm: config.audiences.arm.clone(),
                    incidents_api: config.incidents_api,
                    write_tools: self.enable_write_tools,
                },
                cache_entries: azure.obo_cache_entries,
            },
            app_callers: azure.app_callers.unwrap_or(AppCallers::Deny),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cli;
    use clap::Parser;

    /// Settings as the command line gives them (the defaults, then `args`).
    fn settings(args: &[&str]) -> Settings {
        Cli::try_parse_from(std::iter::once("sentinel-mcp").chain(args.iter().copied()))
            .expect("the test's flags parse")
            .settings
    }

    fn rejection(args: &[&str]) -> String {
        match settings(args).validate() {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    const ENTRA: [&str; 6] = [
        "--auth",
        "entra",
        "--tenant-id",
        "contoso",
        "--server-app-id",
        "app",
    ];
    const AZURE: [&str; 4] = ["--backend", "azure", "--workspace-id", "ws"];

    #[test]
    fn the_defaults_are_a_valid_local_server() {
        let config = settings(&[]).validate().expect("the defaults are valid");
        assert!(matches!(config.backend, BackendConfig::Local));
        assert!(config.entra.is_none() && !config.policy.enforced);
        assert_eq!(config.guard.syntax, kql::guard::SyntaxPolicy::Strict);
    }

    #[test]
    fn charts_are_on_at_1200_by_800_and_300_kib_unless_turned_off() {
        let limits = settings(&[]).validate().unwrap().charts.expect("charts on");
        assert_eq!((limits.width, limits.height), (1200, 800));
        assert_eq!(limits.max_bytes, 300 * 1024);
        let off = settings(&["--render-charts", "false"]).validate().unwrap();
        assert!(off.charts.is_none());
        let small = settings(&["--chart-size", "640X480"]).validate().unwrap();
        let small = small.charts.unwrap();
        assert_eq!((small.width, small.height), (640, 480));
    }

    #[test]
    fn a_chart_size_or_byte_cap_out_of_range_is_rejected() {
        for size in ["1200", "100x800", "1200x5000", "wide x tall", "1200x"] {
            assert_eq!(
                rejection(&["--chart-size", size]),
                format!(
                    "SENTINEL_MCP_CHART_SIZE: '{size}' is not WIDTHxHEIGHT with each from 200 to 4000 pixels"
                )
            );
        }
        assert_eq!(
            rejection(&["--chart-max-kb", "8"]),
            "SENTINEL_MCP_CHART_MAX_KB must be at least 16"
        );
    }

    #[test]
    fn a_default_timespan_that_does_not_parse_is_rejected() {
        let e = rejection(&["--default-timespan", "soon"]);
        assert!(e.starts_with("SENTINEL_MCP_DEFAULT_TIMESPAN: "), "{e}");
    }

    #[test]
    fn results_are_kept_600_seconds_in_256_mib_unless_set() {
        let config = settings(&[]).validate().unwrap();
        assert_eq!(config.settings.result_ttl(), Duration::from_secs(600));
        assert_eq!(config.settings.result_store_bytes(), 256 << 20);
        let off = settings(&["--result-store-mb", "0"]).validate().unwrap();
        assert_eq!(off.settings.result_store_bytes(), 0);
    }

    #[test]
    fn a_result_ttl_out_of_range_is_rejected() {
        for ttl in ["0", "86401"] {
            assert_eq!(
                rejection(&["--result-ttl-secs", ttl]),
                format!(
                    "SENTINEL_MCP_RESULT_TTL_SECS must be from 1 to 86400 seconds, not {ttl} (to keep no full results, set SENTINEL_MCP_RESULT_STORE_MB=0)"
                )
            );
        }
    }

    #[test]
    fn a_result_store_past_1_tib_is_rejected() {
        assert_eq!(
            rejection(&["--result-store-mb", "1048577"]),
            "SENTINEL_MCP_RESULT_STORE_MB must be at most 1048576 (1 TiB), not 1048577; 0 keeps none"
        );
    }

    #[test]
    fn zero_rows_are_rejected() {
        for flag in ["--max-rows", "--max-rows-limit"] {
            assert_eq!(
                rejection(&[flag, "0"]),
                "SENTINEL_MCP_MAX_ROWS and SENTINEL_MCP_MAX_ROWS_LIMIT must be at least 1"
            );
        }
    }

    #[test]
    fn zero_memory_is_rejected() {
        for flag in ["--query-memory-mb", "--engine-memory-mb"] {
            assert_eq!(
                rejection(&[flag, "0"]),
                "SENTINEL_MCP_QUERY_MEMORY_MB and SENTINEL_MCP_ENGINE_MEMORY_MB must be at least 1"
            );
        }
    }

    #[test]
    fn a_data_dir_that_is_not_a_directory_is_rejected() {
        let e = rejection(&["--data-dir", "/no/such/sentinel-mcp-dir"]);
        assert_eq!(
            e,
            "SENTINEL_MCP_DATA_DIR /no/such/sentinel-mcp-dir is not a directory"
        );
    }

    #[test]
    fn a_max_timespan_interval_or_nonsense_is_rejected() {
        let e = rejection(&[
            "--max-timespan",
            "2024-01-01T00:00:00Z/2024-02-01T00:00:00Z",
        ]);
        assert_eq!(
            e,
            "SENTINEL_MCP_MAX_TIMESPAN: give a duration (P90D, 90d), not an interval"
        );
        let e = rejection(&["--max-timespan", "forever"]);
        assert!(e.starts_with("SENTINEL_MCP_MAX_TIMESPAN: "), "{e}");
    }

    #[test]
    fn zero_query_chars_are_rejected() {
        assert_eq!(
            rejection(&["--max-query-chars", "0"]),
            "SENTINEL_MCP_MAX_QUERY_CHARS must be at least 1"
        );
    }

    #[test]
    fn no_authentication_on_a_network_address_is_refused_unless_allowed() {
        let e = rejection(&["--host", "0.0.0.0"]);
        assert!(
            e.starts_with("refusing to serve 0.0.0.0 without authentication"),
            "{e}"
        );
        let allowed = settings(&["--host", "0.0.0.0", "--allow-unauthenticated", "true"]);
        assert!(allowed.unauthenticated_on_network());
        assert!(allowed.validate().is_ok());
        // stdio listens on no address.
        assert!(
            settings(&["--host", "0.0.0.0", "--transport", "stdio"])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn entra_without_a_tenant_is_rejected() {
        assert_eq!(
            rejection(&["--auth", "entra", "--server-app-id", "app"]),
            "SENTINEL_MCP_AUTH=entra needs AZURE_TENANT_ID (or SENTINEL_MCP_ALLOWED_TENANTS)"
        );
    }

    #[test]
    fn entra_without_an_app_id_is_rejected() {
        assert_eq!(
            rejection(&["--auth", "entra", "--tenant-id", "contoso"]),
            "SENTINEL_MCP_AUTH=entra needs MCP_SERVER_APP_ID, the API's application (client) id"
        );
    }

    #[test]
    fn a_plain_http_authority_off_loopback_is_rejected() {
        let args = [
            &ENTRA[..],
            &["--authority-host", "http://login.example.com/"],
        ]
        .concat();
        assert_eq!(
            rejection(&args),
            "SENTINEL_MCP_AUTHORITY_HOST http://login.example.com must use https (plain http only on a loopback host)"
        );
        let loopback = [&ENTRA[..], &["--authority-host", "http://127.0.0.1:9000"]].concat();
        let config = settings(&loopback)
            .validate()
            .expect("loopback http is allowed");
        let entra = config.entra.expect("entra is on");
        assert_eq!(entra.audiences, ["app", "api://app"]);
        assert_eq!(
            entra.metadata.authorization_servers,
            ["http://127.0.0.1:9000/contoso/v2.0"]
        );
    }

    #[test]
    fn the_azure_backend_without_a_workspace_is_rejected() {
        assert_eq!(
            rejection(&["--backend", "azure"]),
            "SENTINEL_WORKSPACE_ID is required when SENTINEL_MCP_BACKEND=azure"
        );
    }

    #[test]
    fn a_named_workspace_without_an_id_is_rejected() {
        let args = [&AZURE[..], &["--workspaces", "archive"]].concat();
        assert_eq!(
            rejection(&args),
            "SENTINEL_MCP_WORKSPACES: 'archive' is not name=workspace-id"
        );
    }

    #[test]
    fn arm_incidents_without_the_workspace_resource_id_are_rejected() {
        let args = [&AZURE[..], &["--incidents-api", "arm"]].concat();
        assert_eq!(
            rejection(&args),
            "SENTINEL_MCP_WORKSPACE_RESOURCE_ID is required when SENTINEL_MCP_INCIDENTS_API=arm"
        );
    }

    #[test]
    fn on_behalf_of_with_the_local_backend_is_rejected() {
        assert_eq!(
            rejection(&["--access", "on-behalf-of"]),
            "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs SENTINEL_MCP_BACKEND=azure"
        );
    }

    #[test]
    fn on_behalf_of_without_entra_or_over_stdio_is_rejected() {
        let message = "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of acts with each caller's token: it needs SENTINEL_MCP_AUTH=entra over HTTP (not stdio)";
        let args = [&AZURE[..], &["--access", "on-behalf-of"]].concat();
        assert_eq!(rejection(&args), message);
        let stdio = [&args[..], &ENTRA[..], &["--transport", "stdio"]].concat();
        assert_eq!(rejection(&stdio), message);
    }

    #[test]
    fn on_behalf_of_without_the_home_tenant_is_rejected() {
        // Entra accepts a tenant list, the exchange needs the server's own tenant.
        let args = [
            &AZURE[..],
            &[
                "--access",
                "on-behalf-of",
                "--auth",
                "entra",
                "--server-app-id",
                "app",
            ],
            &["--allowed-tenants", "contoso"],
        ]
        .concat();
        assert_eq!(
            rejection(&args),
            "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs MCP_SERVER_APP_ID and AZURE_TENANT_ID"
        );
        let ok = [&AZURE[..], &ENTRA[..], &["--access", "on-behalf-of"]].concat();
        let config = settings(&ok)
            .validate()
            .expect("on-behalf-of is configured");
        assert!(matches!(
            config.backend,
            BackendConfig::Azure {
                on_behalf_of: Some(_),
                ..
            }
        ));
        assert_eq!(
            config.guard.syntax,
            kql::guard::SyntaxPolicy::LeaveToService
        );
    }

    #[test]
    fn a_trusted_proxy_that_is_not_an_address_is_rejected() {
        let e = rejection(&["--trusted-proxies", "not-an-address"]);
        assert!(e.contains("SENTINEL_MCP_TRUSTED_PROXIES"), "{e}");
    }
}
