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
pub mod heap;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod progress;
#[cfg(feature = "redis")]
pub mod replicas;
pub mod results;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use auth::{JwksCache, TokenValidator};
use azure::access::CallerAccess;
use azure::obo::OnBehalfOf;
use backend::local::{LocalBackend, LocalSource};
use clock::Clock;
use config::{BackendConfig, EntraConfig, OnBehalfOfConfig, ServerConfig};
use config::{Cli, Command, ConfigError, KqlCommand, Settings, Transport};
use http::auth::Authenticator;
use server::{AppState, SentinelServer};
use shutdown::Shutdown;
use tools::{ToolCatalog, ToolContext, ToolSettings};

/// Why the process stops with a failure; each message tells the operator what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid configuration: {0}")]
    Settings(#[from] ConfigError),
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
        Command::Query {
            format,
            query,
            chart,
            ..
        } => cli::query(&settings, query, format, chart.as_deref()).await,
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
        Clock::system(),
    )
    .map_err(|e| RunError::Config(e.to_string()))
}

/// The bearer-token authenticator, with `SENTINEL_MCP_AUTH=entra`.
fn authenticator(
    entra: Option<EntraConfig>,
    clock_skew_secs: u64,
    clock: &Clock,
) -> Result<Option<Authenticator>, RunError> {
    let Some(entra) = entra else {
        return Ok(None);
    };
    let client = outbound::OutboundClient::new(std::time::Duration::from_secs(10))
        .map_err(|e| RunError::Config(e.to_string()))?
        .with_clock(clock.clone());
    let validator = TokenValidator::new(
        JwksCache::new(client, &entra.authority),
        &entra.authority,
        &entra.tenants,
        entra.audiences,
        clock_skew_secs,
        clock.clone(),
    );
    let (tenants, app_id) = (&entra.tenants, &entra.app_id);
    tracing::info!(tenants = ?tenants, app_id, "Entra ID authentication on");
    Ok(Some(Authenticator {
        validator,
        metadata: entra.metadata,
    }))
}

/// The backend the settings chose: the embedded engine or Azure's services; with
/// `on_behalf_of` (the server with SENTINEL_MCP_AZURE_ACCESS=on-behalf-of; the CLI runs as the
/// server's identity) also the exchange that gives callers their own access.
fn start_backend(
    settings: &Settings,
    backend: BackendConfig,
    clock: &Clock,
) -> Result<(Arc<dyn backend::Backend>, Option<CallerAccess>), RunError> {
    match backend {
        BackendConfig::Local => Ok((
            LocalBackend::start(
                local_source(settings),
                state_dir(settings),
                settings.memory_budgets(),
                clock.clone(),
            ),
            None,
        )),
        BackendConfig::Azure {
            config,
            on_behalf_of,
        } => {
            let timeout = settings.query_timeout() + std::time::Duration::from_secs(30);
            let callers = match on_behalf_of {
                Some(obo) => Some(caller_access(*obo, &config, timeout, clock)?),
                None => None,
            };
            let mode = match &callers {
                Some(c) => backend::azure::AccessMode::OnBehalfOf(c.exchange.clone()),
                None => backend::azure::AccessMode::ServerIdentity,
            };
            let backend =
                backend::azure::AzureBackend::start(*config, timeout, mode, clock.clone())
                    .map_err(RunError::Config)?;
            Ok((backend, callers))
        }
    }
}

/// The on-behalf-of exchange, with its own outbound client.
fn caller_access(
    obo: OnBehalfOfConfig,
    config: &backend::azure::AzureConfig,
    timeout: std::time::Duration,
    clock: &Clock,
) -> Result<CallerAccess, RunError> {
    let http = outbound::OutboundClient::new(timeout)
        .map_err(|e| RunError::Config(e.to_string()))?
        .with_clock(clock.clone());
    let exchange =
        OnBehalfOf::new(obo.exchange, http, &config.identity).map_err(RunError::Config)?;
    let app_callers = obo.app_callers;
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

/// Drops expired kept results every 30 s while the server runs, so an idle server gives their
/// memory back (and, with replicas, so expired shared copies leave Redis's count).
async fn sweep_results(app: std::sync::Weak<AppState>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app.upgrade() {
            Some(app) => {
                app.context.results.sweep();
                app.context.results.sweep_shared().await;
            }
            None => return,
        }
    }
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
    let ServerConfig {
        settings,
        policy,
        entra,
        backend,
        guard,
        trusted_proxies,
        charts,
    } = settings.validate()?;
    if settings.unauthenticated_on_network() {
        tracing::warn!(host = %settings.host, "serving WITHOUT authentication on a non-loopback address (SENTINEL_MCP_ALLOW_UNAUTHENTICATED=true): anyone who reaches the port can query the workspace");
    }
    // The one clock of this server: its token checks, caches and time windows read it.
    let clock = Clock::system();
    let authenticator = authenticator(entra, settings.clock_skew_secs, &clock)?;
    let (backend, caller_access) = start_backend(&settings, backend, &clock)?;
    let shutdown = Shutdown::new(settings.lifecycle.drain_timeout());
    tokio::spawn(shutdown::on_signal(shutdown.clone()));
    let app = Arc::new(AppState {
        tools: ToolCatalog::new(settings.enable_write_tools),
        context: ToolContext {
            backend,
            results: results::ResultStore::new(
                clock.clone(),
                settings.result_ttl(),
                settings.result_store_bytes(),
            ),
            clock: clock.clone(),
            settings: ToolSettings {
                max_rows: settings.max_rows,
                max_rows_limit: settings.max_rows_limit,
                max_result_bytes: settings.max_result_bytes,
                query_timeout: settings.query_timeout(),
                default_timespan: settings.default_timespan.clone(),
                write_tools: settings.enable_write_tools,
                guard,
                charts,
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
    tokio::spawn(sweep_results(Arc::downgrade(&app)));
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
    let replicas = replicas::Replicas::connect(
        &settings.replicas,
        || {
            let http = outbound::OutboundClient::new(std::time::Duration::from_secs(30))
                .map_err(|e| e.to_string())?
                .with_clock(clock.clone());
            let identity = settings.identity_config();
            Ok(Arc::new(azure::token::TokenCredential::new(
                azure::token::providers(&identity, &http),
                clock.clone(),
            )))
        },
        clock.clone(),
    )
    .await
    .map_err(|e| RunError::Config(e.to_string()))?;
    // With replicas, kept results are shared through Redis, so a link answers on any of them.
    #[cfg(feature = "redis")]
    if let Some(replicas) = &replicas {
        app.context.results.share_with(replicas.clone());
    }
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
    tokio::spawn(
        state
            .mcp_sessions
            .clone()
            .expire_idle(shutdown.closed().clone()),
    );
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
