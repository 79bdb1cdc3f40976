//! sentinel-mcp: an MCP server that gives AI agents secure access to Microsoft Sentinel,
//! Log Analytics and Defender XDR data, or to an embedded demo workspace.
//!
//! `main.rs` parses the command line and calls [`run`]; everything else lives here so tests can
//! drive it.

pub mod auth;
pub mod azure;
pub mod backend;
mod cli;
pub mod clock;
pub mod config;
pub mod failure;
mod heap;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod outbound;
#[cfg(feature = "redis")]
pub mod replicas;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use auth::metadata::ResourceMetadata;
use auth::{AccessPolicy, JwksCache, TokenValidator};
use azure::access::CallerAccess;
use azure::obo::{ClientCredentialConfig, OboConfig, OnBehalfOf, Services};
use backend::local::{LocalBackend, LocalSource};
use config::{AppCallers, AuthMode};
use config::{Cli, Command, KqlCommand, Settings, Transport};
use http::auth::Authenticator;
use server::{AppState, SentinelServer};
use shutdown::Shutdown;
use tools::{ToolCatalog, ToolContext, ToolSettings};

/// Why the process stops with a failure; each message tells the operator what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(
        "cannot listen on {addr}: {source} (is another process using the port? set PORT or --port)"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Query(String),
    #[error("unhealthy: {0}")]
    Unhealthy(String),
    #[error("the MCP session on stdio failed: {0}")]
    Stdio(String),
}

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> Result<(), RunError> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Query {
            batch: Some(file), ..
        } => cli::query_batch(&settings, &file).await,
        Command::Query { format, query, .. } => cli::query(&settings, query, format).await,
        Command::Kql {
            command: KqlCommand::Parse { file },
        } => cli::parse(file.as_deref()),
        Command::Healthcheck { url } => cli::healthcheck(&settings, url.as_deref()).await,
    }
}

fn local_source(settings: &Settings) -> LocalSource {
    match &settings.data_dir {
        Some(dir) => LocalSource::Dir(dir.clone()),
        None => LocalSource::Demo {
            rows: settings.demo_rows,
        },
    }
}

fn state_dir(settings: &Settings) -> PathBuf {
    settings
        .state_dir
        .clone()
        .or_else(|| settings.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(".sentinel-mcp"))
}

/// The local backend, loaded before returning (for one-shot commands).
fn local_backend_now(settings: &Settings) -> Result<LocalBackend, RunError> {
    LocalBackend::load_now(
        local_source(settings),
        state_dir(settings),
        settings.memory_budgets(),
    )
    .map_err(|e| RunError::Config(e.to_string()))
}

fn validate(settings: &Settings) -> Result<(), RunError> {
    if let Err(e) = backend::TimeRange::parse(&settings.default_timespan, clock::now_ticks()) {
        return Err(RunError::Config(format!(
            "SENTINEL_MCP_DEFAULT_TIMESPAN: {e}"
        )));
    }
    if settings.max_rows == 0 || settings.max_rows_limit == 0 {
        return Err(RunError::Config(
            "SENTINEL_MCP_MAX_ROWS and SENTINEL_MCP_MAX_ROWS_LIMIT must be at least 1".into(),
        ));
    }
    if settings.query_memory_mb == 0 || settings.engine_memory_mb == Some(0) {
        return Err(RunError::Config(
            "SENTINEL_MCP_QUERY_MEMORY_MB and SENTINEL_MCP_ENGINE_MEMORY_MB must be at least 1"
                .into(),
        ));
    }
    if let Some(dir) = &settings.data_dir
        && !dir.is_dir()
    {
        return Err(RunError::Config(format!(
            "SENTINEL_MCP_DATA_DIR {} is not a directory",
            dir.display()
        )));
    }
    Ok(())
}

/// The guard every query passes: the local engine refuses what it cannot parse; a remote service,
/// whose KQL is the authority, gets such queries once the token scan found nothing forbidden.
fn query_guard(settings: &Settings, backend_kind: &str) -> Result<kql::QueryGuard, RunError> {
    let window = |name: &str, text: &str| {
        let now = clock::now_ticks();
        match backend::TimeRange::parse(text, now) {
            Ok(r) if !text.contains('/') => Ok(r.end - r.start - 1),
            Ok(_) => Err(RunError::Config(format!(
                "{name}: give a duration (P90D, 90d), not an interval"
            ))),
            Err(e) => Err(RunError::Config(format!("{name}: {e}"))),
        }
    };
    let max_timespan = window("SENTINEL_MCP_MAX_TIMESPAN", &settings.max_timespan)?;
    let default_timespan = match backend::TimeRange::parse(&settings.default_timespan, 0) {
        Ok(r) => r.end - r.start,
        Err(e) => {
            return Err(RunError::Config(format!(
                "SENTINEL_MCP_DEFAULT_TIMESPAN: {e}"
            )));
        }
    };
    if settings.max_query_chars == 0 {
        return Err(RunError::Config(
            "SENTINEL_MCP_MAX_QUERY_CHARS must be at least 1".into(),
        ));
    }
    Ok(kql::QueryGuard {
        max_query_chars: settings.max_query_chars,
        default_timespan,
        max_timespan,
        max_rows: settings.max_rows_limit,
        max_result_bytes: settings.max_result_bytes,
        timeout: settings.query_timeout(),
        // The default workspace and every named one (by name and by id) may be referenced.
        allowed_workspaces: settings
            .azure
            .workspace_id
            .iter()
            .cloned()
            .chain(
                settings
                    .azure
                    .workspaces
                    .iter()
                    .filter_map(|p| p.split_once('='))
                    .flat_map(|(name, id)| [name.trim().to_string(), id.trim().to_string()]),
            )
            .collect(),
        syntax: if backend_kind == "local" {
            kql::guard::SyntaxPolicy::Strict
        } else {
            kql::guard::SyntaxPolicy::LeaveToService
        },
    })
}

/// The access policy and, with `SENTINEL_MCP_AUTH=entra`, the token authenticator.
/// Refuses an unauthenticated server on a non-loopback address unless explicitly allowed.
fn authentication(settings: &Settings) -> Result<(AccessPolicy, Option<Authenticator>), RunError> {
    let http = settings.transport != Transport::Stdio;
    if settings.auth == AuthMode::None {
        if http && !settings.host.is_loopback() {
            if !settings.allow_unauthenticated {
                return Err(RunError::Config(format!(
                    "refusing to serve {} without authentication: set SENTINEL_MCP_AUTH=entra (with AZURE_TENANT_ID and MCP_SERVER_APP_ID), or SENTINEL_MCP_ALLOW_UNAUTHENTICATED=true to accept that anyone who reaches the port can query your data",
                    settings.host
                )));
            }
            tracing::warn!(host = %settings.host, "serving WITHOUT authentication on a non-loopback address (SENTINEL_MCP_ALLOW_UNAUTHENTICATED=true): anyone who reaches the port can query the workspace");
        }
        return Ok((AccessPolicy::open(), None));
    }
    let mut tenants: Vec<String> = settings
        .tenant_id
        .iter()
        .chain(&settings.allowed_tenants)
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    tenants.dedup();
    if tenants.is_empty() {
        return Err(RunError::Config(
            "SENTINEL_MCP_AUTH=entra needs AZURE_TENANT_ID (or SENTINEL_MCP_ALLOWED_TENANTS)"
                .into(),
        ));
    }
    let app_id = settings.server_app_id.clone().filter(|a| !a.trim().is_empty()).ok_or_else(|| RunError::Config("SENTINEL_MCP_AUTH=entra needs MCP_SERVER_APP_ID, the API's application (client) id".into()))?;
    let authority = settings.authority_host.trim_end_matches('/').to_string();
    let authority_ok = authority.starts_with("https://")
        || authority.strip_prefix("http://").is_some_and(|rest| {
            let host = rest.split('/').next().unwrap_or_default();
            let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
            matches!(name, "localhost" | "127.0.0.1" | "[::1]")
        });
    if !authority_ok {
        return Err(RunError::Config(format!(
            "SENTINEL_MCP_AUTHORITY_HOST {authority} must use https (plain http only on a loopback host)"
        )));
    }
    let app_uri = settings
        .app_id_uri
        .clone()
        .unwrap_or_else(|| format!("api://{app_id}"));
    let mut audiences = vec![app_id.clone(), format!("api://{app_id}")];
    if !audiences.contains(&app_uri) {
        audiences.push(app_uri.clone());
    }
    let policy = AccessPolicy {
        read: settings.read_roles.clone(),
        hunt: settings.hunt_roles.clone(),
        write: settings.write_roles.clone(),
        enforced: true,
    };
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| {
            format!(
                "http://{}",
                std::net::SocketAddr::new(settings.host, settings.port)
            )
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
    let client = outbound::OutboundClient::new(std::time::Duration::from_secs(10))
        .map_err(|e| RunError::Config(e.to_string()))?;
    let validator = TokenValidator::new(
        JwksCache::new(client, &authority),
        &authority,
        &tenants,
        audiences,
        settings.clock_skew_secs,
    );
    tracing::info!(tenants = ?tenants, app_id, "Entra ID authentication on");
    Ok((
        policy,
        Some(Authenticator {
            validator,
            metadata,
        }),
    ))
}

/// The backend the settings choose: the embedded engine or Azure's services; with
/// `on_behalf_of` (the server with SENTINEL_MCP_AZURE_ACCESS=on-behalf-of; the CLI runs as the
/// server's identity) also the exchange that gives callers their own access.
fn start_backend(
    settings: &Settings,
    on_behalf_of: bool,
) -> Result<(Arc<dyn backend::Backend>, Option<CallerAccess>), RunError> {
    match settings.azure.backend {
        config::BackendKind::Local if on_behalf_of => Err(RunError::Config(
            "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs SENTINEL_MCP_BACKEND=azure".into(),
        )),
        config::BackendKind::Local => Ok((
            LocalBackend::start(
                local_source(settings),
                state_dir(settings),
                settings.memory_budgets(),
            ),
            None,
        )),
        config::BackendKind::Azure => {
            let config =
                backend::azure::AzureConfig::from_settings(settings).map_err(RunError::Config)?;
            let timeout = settings.query_timeout() + std::time::Duration::from_secs(30);
            let callers = if on_behalf_of {
                Some(caller_access(settings, &config, timeout)?)
            } else {
                None
            };
            let mode = match &callers {
                Some(c) => backend::azure::AccessMode::OnBehalfOf(c.exchange.clone()),
                None => backend::azure::AccessMode::ServerIdentity,
            };
            let backend = backend::azure::AzureBackend::start(config, timeout, mode)
                .map_err(RunError::Config)?;
            Ok((backend, callers))
        }
    }
}

/// The on-behalf-of exchange: the API's app registration as its client, authenticated by the
/// managed identity (when the Container Apps / App Service endpoint is there), a certificate, a
/// secret, or else the managed identity through IMDS.
fn caller_access(
    settings: &Settings,
    config: &backend::azure::AzureConfig,
    timeout: std::time::Duration,
) -> Result<CallerAccess, RunError> {
    let azure = &settings.azure;
    if settings.auth != AuthMode::Entra || settings.transport == Transport::Stdio {
        return Err(RunError::Config("SENTINEL_MCP_AZURE_ACCESS=on-behalf-of acts with each caller's token: it needs SENTINEL_MCP_AUTH=entra over HTTP (not stdio)".into()));
    }
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let (Some(client_id), Some(home_tenant)) = (
        non_empty(&settings.server_app_id),
        non_empty(&settings.tenant_id),
    ) else {
        return Err(RunError::Config(
            "SENTINEL_MCP_AZURE_ACCESS=on-behalf-of needs MCP_SERVER_APP_ID and AZURE_TENANT_ID"
                .into(),
        ));
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
    let http =
        outbound::OutboundClient::new(timeout).map_err(|e| RunError::Config(e.to_string()))?;
    let exchange = OnBehalfOf::new(
        OboConfig {
            client_id,
            authority_host: settings.authority_host.clone(),
            home_tenant,
            credential,
            services: Services {
                log_analytics: config.audiences.log_analytics.clone(),
                graph: config.audiences.graph.clone(),
                arm: config.audiences.arm.clone(),
                incidents_api: config.incidents_api,
                write_tools: settings.enable_write_tools,
            },
            cache_entries: azure.obo_cache_entries,
        },
        http,
        &config.identity,
    )
    .map_err(RunError::Config)?;
    let app_callers = azure.app_callers.unwrap_or(AppCallers::Deny);
    tracing::info!(credential = exchange.credential_name(), app_callers = ?app_callers, "Azure access on behalf of each caller");
    Ok(CallerAccess {
        exchange: Arc::new(exchange),
        app_callers,
    })
}

async fn serve(mut settings: Settings) -> Result<(), RunError> {
    // Bound first, so that with port 0 the port the OS chose is the one everything names: the
    // default public URL, the spans' `server.port` and the "listening" line.
    let listener = match settings.transport {
        Transport::Stdio => None,
        _ => Some(bind(&mut settings).await?),
    };
    let telemetry = telemetry::init(&settings).map_err(RunError::Config)?;
    let outcome = serve_with(settings, listener).await;
    // Spans still queued go out before the process exits.
    telemetry.flush().await;
    outcome
}

/// Binds the HTTP listener and writes the bound port back into the settings.
async fn bind(settings: &mut Settings) -> Result<tokio::net::TcpListener, RunError> {
    let addr = std::net::SocketAddr::new(settings.host, settings.port);
    let bind_error = |source| RunError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(bind_error)?;
    settings.port = listener.local_addr().map_err(bind_error)?.port();
    Ok(listener)
}

/// Serves HTTP on `listener`, or stdio when there is none.
async fn serve_with(
    settings: Settings,
    listener: Option<tokio::net::TcpListener>,
) -> Result<(), RunError> {
    validate(&settings)?;
    let (policy, authenticator) = authentication(&settings)?;
    let on_behalf_of = settings.azure.access == config::AzureAccess::OnBehalfOf;
    let (backend, caller_access) = start_backend(&settings, on_behalf_of)?;
    let backend_kind = backend.kind();
    let trusted_proxies = http::client::TrustedProxies::parse(&settings.lifecycle.trusted_proxies)
        .map_err(RunError::Config)?;
    let shutdown = Shutdown::new(settings.lifecycle.drain_timeout());
    tokio::spawn(shutdown::on_signal(shutdown.clone()));
    let app = Arc::new(AppState {
        tools: ToolCatalog::new(settings.enable_write_tools),
        context: ToolContext {
            backend,
            settings: ToolSettings {
                max_rows: settings.max_rows,
                max_rows_limit: settings.max_rows_limit,
                max_result_bytes: settings.max_result_bytes,
                query_timeout: settings.query_timeout(),
                default_timespan: settings.default_timespan.clone(),
                write_tools: settings.enable_write_tools,
                guard: query_guard(&settings, backend_kind)?,
            },
        },
        policy,
        audit_arguments: settings.audit_arguments,
        transport: settings.transport,
        started: Instant::now(),
        shutdown: shutdown.clone(),
        limits: limits::Limits {
            rate: limits::RateLimiter::new(
                settings.limits.rate_limit_per_minute,
                settings.limits.rate_limit_burst,
            ),
            calls: limits::Slots::new(
                "tool calls",
                settings.limits.max_concurrent_calls,
                settings.limits.call_queue,
            ),
        },
        debug_errors: settings.debug,
        trace_arguments: settings.telemetry.trace_arguments,
    });
    let Some(listener) = listener else {
        return serve_stdio(app, &shutdown).await;
    };
    // Asking starts the first readiness probe (Azure's `print ready = 1`), so /ready turns 200
    // soon after start. Only the HTTP server has a /ready: stdio and one-shot commands never ask.
    let _ = app.context.backend.readiness();
    let addr = std::net::SocketAddr::new(settings.host, settings.port);
    let lifecycle = &settings.lifecycle;
    let allowed_origins = [
        settings.allowed_origins.as_slice(),
        lifecycle.cors_origins.as_slice(),
    ]
    .concat();
    #[cfg(feature = "redis")]
    let replicas = replicas::Replicas::connect(&settings.replicas, || {
        let http = outbound::OutboundClient::new(std::time::Duration::from_secs(30))
            .map_err(|e| e.to_string())?;
        let identity = backend::azure::identity_config(&settings);
        Ok(Arc::new(azure::token::TokenCredential::new(
            azure::token::providers(&identity, &http),
        )))
    })
    .await
    .map_err(|e| RunError::Config(e.to_string()))?;
    #[cfg(not(feature = "redis"))]
    if std::env::var_os("SENTINEL_MCP_REDIS_URL").is_some() {
        return Err(RunError::Config(
            "SENTINEL_MCP_REDIS_URL is set, but this build has no Redis client: build with the `redis` feature".into(),
        ));
    }
    let state = Arc::new(http::HttpState {
        app,
        sse: Default::default(),
        keepalive: settings.sse_keepalive(),
        host_policy: http::HostOriginPolicy::new(&settings.allowed_hosts, &allowed_origins),
        cors: http::cors::CorsPolicy::new(&lifecycle.cors_origins),
        max_body_bytes: settings.max_body_bytes,
        metrics_token: settings.metrics.metrics_token.clone(),
        metrics_enabled: settings.metrics.enabled,
        authenticator,
        caller_access,
        mcp_sessions: Arc::new(http::mcp_sessions::McpSessions::new(
            lifecycle.session_idle_timeout(),
            shutdown.clone(),
            #[cfg(feature = "redis")]
            replicas.clone(),
        )),
        #[cfg(feature = "redis")]
        replicas: replicas.clone(),
        session_quota: http::quota::SessionQuota::new(lifecycle.max_sessions_per_principal),
        session_idle: lifecycle.session_idle_timeout(),
        trusted_proxies,
    });
    tokio::spawn(http::heap::trim_after_session_closes(
        state.clone(),
        shutdown.closed().clone(),
    ));
    let router = http::router(state);
    #[cfg(feature = "redis")]
    if let Some(replicas) = &replicas {
        replicas.serve_with(router.clone());
    }
    // Its own target, so a launcher that keeps other logs quiet can still read the bound port.
    tracing::info!(target: "sentinel_mcp::listening", %addr, transport = settings.transport.name(), "listening: legacy SSE at /sse, Streamable HTTP at /mcp");
    let limits = http::ConnectionLimits {
        max_connections: settings.max_connections,
        header_read_timeout: lifecycle.header_read_timeout(),
        idle_timeout: lifecycle.connection_idle(),
    };
    http::serve(listener, router, shutdown, limits).await;
    #[cfg(feature = "redis")]
    if let Some(replicas) = &replicas {
        replicas.leave().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// MCP on stdin/stdout until the client closes stdin, or until a shutdown signal's drain is done.
async fn serve_stdio(app: Arc<AppState>, shutdown: &Arc<Shutdown>) -> Result<(), RunError> {
    tracing::info!("serving MCP on stdio");
    let running = rmcp::service::serve_server(SentinelServer::new(app), rmcp::transport::stdio())
        .await
        .map_err(|e| RunError::Stdio(e.to_string()))?;
    let stop = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    tokio::select! {
        _ = &mut waiting => {}
        _ = shutdown.drain() => {
            // rmcp writes the answers already produced before it stops.
            stop.cancel();
            let _ = waiting.await;
        }
    }
    Ok(())
}
