//! One `Config` from flags and environment variables (every setting is both), and
//! [`Settings::validate`]: the settings checked and derived into the [`ServerConfig`] the server
//! is built from, or a [`ConfigError`] naming the setting to fix.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::{AppCallers, IncidentsApi};

mod validate;

pub use validate::{BackendConfig, ConfigError, EntraConfig, OnBehalfOfConfig, ServerConfig};

/// Which transport the `serve` command speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// Newline-delimited JSON-RPC on stdin/stdout; logs go to stderr.
    Stdio,
    /// The HTTP server with every endpoint (legacy SSE, Streamable HTTP, probes).
    Sse,
    /// Same as `sse`: the HTTP server with every endpoint.
    Http,
}

impl Transport {
    /// The name reported by `/health`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Sse => "sse",
            Transport::Http => "http",
        }
    }
}

/// Output format of `sentinel-mcp query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// sentinel-mcp: an MCP server that gives AI agents secure access to Microsoft Sentinel,
/// Log Analytics and Defender XDR data, or to an embedded demo workspace with no Azure at all.
#[derive(Debug, Parser)]
#[command(name = "sentinel-mcp", version, about, long_about = None, max_term_width = 110)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

/// The subcommands; `serve` is the default.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over HTTP (legacy SSE + Streamable HTTP) or stdio (the default command).
    Serve,
    /// Run a KQL query on the configured backend and print the result.
    Query {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// Run every query of a JSON Lines file instead (one object with a "query" string per
        /// line) and print one JSON line per query: its row count or its error.
        #[arg(long, value_name = "FILE", conflicts_with = "query")]
        batch: Option<PathBuf>,
        /// Also write the chart the query's `render` asks for (timechart, columnchart, piechart, ...) to this PNG file, sized by SENTINEL_MCP_CHART_SIZE and SENTINEL_MCP_CHART_MAX_KB.
        #[arg(long, value_name = "FILE.png", conflicts_with = "batch")]
        chart: Option<PathBuf>,
        /// The KQL query text; `-` (or none, without --batch) reads it from stdin, for queries
        /// longer than a command line holds.
        query: Option<String>,
    },
    /// KQL language tools.
    Kql {
        #[command(subcommand)]
        command: KqlCommand,
    },
    /// Exit 0 if the server's /health answers 200 (for container health checks without curl).
    Healthcheck {
        /// Health URL to probe; defaults to http://127.0.0.1:$PORT/health.
        #[arg(long)]
        url: Option<String>,
    },
}

/// `sentinel-mcp kql …`
#[derive(Debug, Subcommand)]
pub enum KqlCommand {
    /// Parse one query from FILE (or stdin) without running it; exit 1 with a located error.
    Parse {
        /// File holding the query; stdin when absent.
        file: Option<PathBuf>,
    },
}

/// Every setting, as a flag and an environment variable.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Transport: stdio, or sse/http (both start the HTTP server with every endpoint).
    #[arg(
        long,
        env = "MCP_TRANSPORT",
        value_enum,
        default_value = "sse",
        global = true
    )]
    pub transport: Transport,

    /// Address the HTTP server binds.
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    pub host: IpAddr,

    /// Port the HTTP server binds.
    #[arg(long, env = "PORT", default_value_t = 8000, global = true)]
    pub port: u16,

    /// Verbose (debug-level) logs.
    #[arg(long, env = "DEBUG", default_value_t = false, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub debug: bool,

    /// Log format: json (production) or text.
    #[arg(
        long,
        env = "SENTINEL_MCP_LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,

    /// Extra Host header values accepted on /sse, /messages and /mcp (comma list; loopback names are always accepted). `*` accepts any host.
    #[arg(
        long,
        env = "SENTINEL_MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_hosts: Vec<String>,

    /// Browser origins allowed to call the MCP endpoints (comma list, e.g. https://app.example.com:443, http://localhost:*). A request carrying any other Origin is refused with 403.
    #[arg(
        long,
        env = "SENTINEL_MCP_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

    /// Seconds between keep-alive comments on SSE streams.
    #[arg(
        long,
        env = "SENTINEL_MCP_SSE_KEEPALIVE_SECS",
        default_value_t = 15,
        global = true
    )]
    pub sse_keepalive_secs: u64,

    /// Largest accepted request body in bytes (413 beyond).
    #[arg(long, env = "SENTINEL_MCP_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Most concurrent HTTP connections (SSE streams and POST connections alike); a connection beyond it is answered 503 (probes are still answered, on a reserve of 64 more). Keep it below the open-file limit.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 19_000, global = true)]
    pub max_connections: usize,

    /// Directory of the user's own exports (one <Table>.jsonl, .csv or .parquet per table); the embedded demo workspace when absent.
    #[arg(long, env = "SENTINEL_MCP_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Approximate total rows of the generated demo workspace.
    #[arg(
        long,
        env = "SENTINEL_MCP_DEMO_ROWS",
        default_value_t = 120_000,
        global = true
    )]
    pub demo_rows: usize,

    /// Directory for the local backend's state file (incident updates and comments). Defaults to the data directory, or ./.sentinel-mcp for the demo workspace.
    #[arg(long, env = "SENTINEL_MCP_STATE_DIR", global = true)]
    pub state_dir: Option<PathBuf>,

    /// Offer the write tools (update_incident, add_incident_comment).
    #[arg(long, env = "SENTINEL_MCP_ENABLE_WRITE_TOOLS", default_value_t = false, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_write_tools: bool,

    /// Default row cap of a tool result (a caller may ask for fewer or, up to the hard cap, more).
    #[arg(
        long,
        env = "SENTINEL_MCP_MAX_ROWS",
        default_value_t = 200,
        global = true
    )]
    pub max_rows: usize,

    /// Hard row cap no caller can exceed.
    #[arg(
        long,
        env = "SENTINEL_MCP_MAX_ROWS_LIMIT",
        default_value_t = 5_000,
        global = true
    )]
    pub max_rows_limit: usize,

    /// Cap on the bytes of one tool result's rows, so results fit a model's context.
    #[arg(long, env = "SENTINEL_MCP_MAX_RESULT_BYTES", default_value_t = 256 * 1024, global = true)]
    pub max_result_bytes: usize,

    /// Seconds the full result of a query cut by the row or size cap is kept, for the caller that ran it to read in pages at the `sentinel://results/{id}` link the tool result carries (1 to 86400).
    #[arg(
        long,
        env = "SENTINEL_MCP_RESULT_TTL_SECS",
        default_value_t = 600,
        global = true
    )]
    pub result_ttl_secs: u64,

    /// Most memory, in MiB, the kept full results take in all; the oldest are dropped to make room, and a result larger than this is not kept. 0 keeps none (no links).
    #[arg(
        long,
        env = "SENTINEL_MCP_RESULT_STORE_MB",
        default_value_t = 256,
        global = true
    )]
    pub result_store_mb: usize,

    /// Draw the chart a query's `render` asks for (timechart, columnchart, piechart, ...) as a PNG beside the table.
    #[arg(long, env = "SENTINEL_MCP_RENDER_CHARTS", default_value_t = true, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub render_charts: bool,

    /// Largest chart, WIDTHxHEIGHT in pixels (each 200 to 4000).
    #[arg(
        long,
        env = "SENTINEL_MCP_CHART_SIZE",
        default_value = "1200x800",
        global = true
    )]
    pub chart_size: String,

    /// Largest chart PNG in KiB; a busier chart is drawn smaller until it fits.
    #[arg(
        long,
        env = "SENTINEL_MCP_CHART_MAX_KB",
        default_value_t = 300,
        global = true
    )]
    pub chart_max_kb: usize,

    /// Seconds a query may run before it is cancelled.
    #[arg(
        long,
        env = "SENTINEL_MCP_QUERY_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub query_timeout_secs: u64,

    /// Memory one query may use on the local engine, in MB (MiB): the values and tables it builds, DataFusion's joins, aggregations and sorts, and its result. Past it the query stops with an error naming this setting.
    #[arg(
        long,
        env = "SENTINEL_MCP_QUERY_MEMORY_MB",
        default_value_t = 1024,
        global = true
    )]
    pub query_memory_mb: usize,

    /// Memory all queries running at once may use together on the local engine, in MB (MiB); a query gets the smaller of its own budget and what is left, and waits (up to 10 s) to start when less than a quarter of its budget is left. Default: half the memory the process may use (the cgroup limit in a container, else physical memory).
    #[arg(long, env = "SENTINEL_MCP_ENGINE_MEMORY_MB", global = true)]
    pub engine_memory_mb: Option<usize>,

    /// Authentication of the MCP endpoints: `entra` validates Entra ID bearer tokens; `none` trusts every caller (loopback only unless SENTINEL_MCP_ALLOW_UNAUTHENTICATED=true).
    #[arg(
        long,
        env = "SENTINEL_MCP_AUTH",
        value_enum,
        default_value = "none",
        global = true
    )]
    pub auth: AuthMode,

    /// Allow `SENTINEL_MCP_AUTH=none` on a non-loopback HOST (a warning is logged at every start).
    #[arg(long, env = "SENTINEL_MCP_ALLOW_UNAUTHENTICATED", default_value_t = false, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_unauthenticated: bool,

    /// Entra tenant (directory) id whose tokens are accepted.
    #[arg(long, env = "AZURE_TENANT_ID", global = true)]
    pub tenant_id: Option<String>,

    /// More tenants whose tokens are accepted, for multi-tenant app registrations (comma list).
    #[arg(
        long,
        env = "SENTINEL_MCP_ALLOWED_TENANTS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_tenants: Vec<String>,

    /// Application (client) id of this API's app registration; tokens must carry it (or api://<id>) as audience.
    #[arg(long, env = "MCP_SERVER_APP_ID", global = true)]
    pub server_app_id: Option<String>,

    /// The API's App ID URI when it is not api://<app id> (also accepted as audience).
    #[arg(long, env = "SENTINEL_MCP_APP_ID_URI", global = true)]
    pub app_id_uri: Option<String>,

    /// Entra authority host (sovereign clouds differ); plain http only for a loopback host.
    #[arg(
        long,
        env = "SENTINEL_MCP_AUTHORITY_HOST",
        default_value = "https://login.microsoftonline.com",
        global = true
    )]
    pub authority_host: String,

    /// Clock skew tolerated on exp, nbf and iat, in seconds.
    #[arg(
        long,
        env = "SENTINEL_MCP_CLOCK_SKEW_SECS",
        default_value_t = 300,
        global = true
    )]
    pub clock_skew_secs: u64,

    /// App roles or delegated scopes that grant the read tools (queries, schema, incidents and alerts read).
    #[arg(
        long,
        env = "SENTINEL_MCP_READ_ROLES",
        value_delimiter = ',',
        default_value = "SecOps.Read",
        global = true
    )]
    pub read_roles: Vec<String>,

    /// App roles or delegated scopes that grant advanced hunting.
    #[arg(
        long,
        env = "SENTINEL_MCP_HUNT_ROLES",
        value_delimiter = ',',
        default_value = "SecOps.Hunt",
        global = true
    )]
    pub hunt_roles: Vec<String>,

    /// App roles or delegated scopes that grant the write tools (update incident, comment).
    #[arg(
        long,
        env = "SENTINEL_MCP_WRITE_ROLES",
        value_delimiter = ',',
        default_value = "SecOps.Write",
        global = true
    )]
    pub write_roles: Vec<String>,

    /// Public base URL of this server (no trailing slash), used in OAuth protected-resource metadata; defaults to http://HOST:PORT.
    #[arg(long, env = "SENTINEL_MCP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// How tool arguments appear in the audit log: `full` or `redacted` (queries and comments replaced by their length and hash).
    #[arg(
        long,
        env = "SENTINEL_MCP_AUDIT_ARGUMENTS",
        value_enum,
        default_value = "full",
        global = true
    )]
    pub audit_arguments: AuditArguments,

    /// Timespan applied to queries that name none (ISO 8601 duration like P1D or a KQL timespan like 7d).
    #[arg(
        long,
        env = "SENTINEL_MCP_DEFAULT_TIMESPAN",
        default_value = "P30D",
        global = true
    )]
    pub default_timespan: String,

    /// Longest query text accepted, in characters; a longer query is refused before it runs or is sent.
    #[arg(
        long,
        env = "SENTINEL_MCP_MAX_QUERY_CHARS",
        default_value_t = 20_000,
        global = true
    )]
    pub max_query_chars: usize,

    /// Longest time window a query may ask for (ISO 8601 duration like P90D or a KQL timespan like 90d); a longer window is refused.
    #[arg(
        long,
        env = "SENTINEL_MCP_MAX_TIMESPAN",
        default_value = "P365D",
        global = true
    )]
    pub max_timespan: String,

    #[command(flatten)]
    pub lifecycle: LifecycleSettings,

    #[command(flatten)]
    pub limits: CallLimits,

    #[command(flatten)]
    pub metrics: crate::metrics::MetricsSettings,

    #[command(flatten)]
    pub telemetry: crate::telemetry::TelemetrySettings,

    #[cfg(feature = "redis")]
    #[command(flatten)]
    pub replicas: crate::replicas::ReplicaSettings,

    #[command(flatten)]
    pub azure: AzureSettings,
}

/// Shutdown, connection and session lifetimes, and who a session counts against
/// (docs/operations.md says what each protects against and how to size it). `0` turns each off.
#[derive(Debug, Clone, Args)]
pub struct LifecycleSettings {
    /// Seconds from SIGTERM/SIGINT to exit: running tool calls finish and are delivered meanwhile; those still running 3 s before it are cancelled with a "shutting down" error. 0: cancel them at once.
    #[arg(
        long,
        env = "SENTINEL_MCP_DRAIN_TIMEOUT_SECS",
        default_value_t = 25,
        global = true
    )]
    pub drain_timeout_secs: u64,

    /// Seconds a client has to send a request's complete headers on a new connection (or from the first byte of the next request on a kept-alive one) before it is disconnected. 0: no limit.
    #[arg(
        long,
        env = "SENTINEL_MCP_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a kept-alive connection may wait for its next request before it is closed (keep above the ingress's idle timeout, 240 s on Container Apps). 0: no limit.
    #[arg(
        long,
        env = "SENTINEL_MCP_CONNECTION_IDLE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub connection_idle_secs: u64,

    /// Seconds an MCP session (legacy SSE or Streamable HTTP) may go without a request before it is closed; keep-alive comments do not count. 0: sessions never expire.
    #[arg(
        long,
        env = "SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS",
        default_value_t = 1800,
        global = true
    )]
    pub session_idle_timeout_secs: u64,

    /// Open MCP sessions (both transports together) one principal may hold; the next is refused with 429. 0: no limit.
    #[arg(
        long,
        env = "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL",
        default_value_t = 50,
        global = true
    )]
    pub max_sessions_per_principal: usize,

    /// Proxies (addresses or CIDR ranges, comma list) whose X-Forwarded-For is believed: with SENTINEL_MCP_AUTH=none, a request from one counts against the rightmost X-Forwarded-For address that is not itself a trusted proxy.
    #[arg(
        long,
        env = "SENTINEL_MCP_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,

    /// Browser origins (comma list, like SENTINEL_MCP_ALLOWED_ORIGINS) that get CORS headers on the MCP endpoints; each is also an allowed Origin. Empty: no CORS headers at all.
    #[arg(
        long,
        env = "SENTINEL_MCP_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
}

/// A number of seconds where 0 means "no limit".
fn seconds_or_off(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl LifecycleSettings {
    /// From the shutdown signal to exit.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }

    /// Time to send a request's headers; `None` when off.
    pub fn header_read_timeout(&self) -> Option<Duration> {
        seconds_or_off(self.header_read_timeout_secs)
    }

    /// Time a kept-alive connection may idle; `None` when off.
    pub fn connection_idle(&self) -> Option<Duration> {
        seconds_or_off(self.connection_idle_secs)
    }

    /// Time a session may go without a request; `None` when off.
    pub fn session_idle_timeout(&self) -> Option<Duration> {
        seconds_or_off(self.session_idle_timeout_secs)
    }
}

/// Limits on tool calls (docs/operations.md says how to size them); 0 turns each off.
#[derive(Debug, Clone, Args)]
pub struct CallLimits {
    /// Tool calls one principal may make per minute, on average (a token bucket refilled at this rate); 0 turns the rate limit off.
    #[arg(
        long,
        env = "SENTINEL_MCP_RATE_LIMIT_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub rate_limit_per_minute: u32,

    /// Tool calls one principal may make at once above the average rate (the token bucket's size); 0 turns the rate limit off.
    #[arg(
        long,
        env = "SENTINEL_MCP_RATE_LIMIT_BURST",
        default_value_t = 60,
        global = true
    )]
    pub rate_limit_burst: u32,

    /// Tool calls running at once across the process, every transport; further calls wait (default: 4 per available core). 0 turns the cap off.
    #[arg(long, env = "SENTINEL_MCP_MAX_CONCURRENT_CALLS", default_value_t = default_concurrent_calls(), global = true)]
    pub max_concurrent_calls: usize,

    /// Tool calls (and Azure queries) that may wait for a slot; beyond it a call is refused as busy. 0: no bound on waiting.
    #[arg(
        long,
        env = "SENTINEL_MCP_CALL_QUEUE",
        default_value_t = 256,
        global = true
    )]
    pub call_queue: usize,
}

/// Four tool calls per core the process may use (a container's CPU quota included).
fn default_concurrent_calls() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How the MCP endpoints authenticate callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Entra ID bearer tokens (OAuth 2.1 resource server).
    Entra,
    /// No authentication.
    None,
}

/// How much of a tool call's arguments the audit log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditArguments {
    Full,
    Redacted,
}

/// Which data the tools read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The embedded KQL engine over the demo workspace or SENTINEL_MCP_DATA_DIR.
    Local,
    /// Microsoft's services: Log Analytics, Microsoft Graph security and Sentinel's ARM API.
    Azure,
}

/// Settings of the Azure backend and its identity (docs/configuration.md explains each). The
/// identity's tenant and authority host are the server's own (AZURE_TENANT_ID,
/// SENTINEL_MCP_AUTHORITY_HOST).
#[derive(Debug, Clone, Args)]
pub struct AzureSettings {
    /// Backend: local (embedded engine) or azure (Log Analytics, Graph, Sentinel).
    #[arg(
        long,
        env = "SENTINEL_MCP_BACKEND",
        value_enum,
        default_value = "local",
        global = true
    )]
    pub backend: BackendKind,

    /// Log Analytics workspace id (a GUID) the Azure backend queries.
    #[arg(long, env = "SENTINEL_WORKSPACE_ID", global = true)]
    pub workspace_id: Option<String>,

    /// More workspaces run_kql_query can name, as name=workspace-id pairs (comma list); SENTINEL_WORKSPACE_ID is the default.
    #[arg(
        long,
        env = "SENTINEL_MCP_WORKSPACES",
        value_delimiter = ',',
        global = true
    )]
    pub workspaces: Vec<String>,

    /// Full ARM resource id of the workspace (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…), needed when SENTINEL_MCP_INCIDENTS_API=arm.
    #[arg(long, env = "SENTINEL_MCP_WORKSPACE_RESOURCE_ID", global = true)]
    pub workspace_resource_id: Option<String>,

    /// Incident API: graph (Microsoft Graph security) or arm (Sentinel's ARM API).
    #[arg(
        long,
        env = "SENTINEL_MCP_INCIDENTS_API",
        value_enum,
        default_value = "graph",
        global = true
    )]
    pub incidents_api: IncidentsApi,

    /// Client id of the server's identity; with a managed identity, selects a user-assigned one.
    #[arg(long, env = "AZURE_CLIENT_ID", global = true)]
    pub identity_client_id: Option<String>,

    /// Client secret of the server's identity (development; prefer a managed identity).
    #[arg(
        long,
        env = "AZURE_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub identity_client_secret: Option<crate::secret::Secret>,

    /// Federated token file for workload identity (set by AKS).
    #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE", global = true)]
    pub federated_token_file: Option<PathBuf>,

    /// Managed identity endpoint (set by Container Apps and App Service).
    #[arg(long, env = "IDENTITY_ENDPOINT", global = true)]
    pub identity_endpoint: Option<String>,

    /// Managed identity endpoint's header secret (set by Container Apps and App Service).
    #[arg(long, env = "IDENTITY_HEADER", global = true, hide_env_values = true)]
    pub identity_header: Option<crate::secret::Secret>,

    /// A user-assigned managed identity by resource id (sent as mi_res_id).
    #[arg(long, env = "SENTINEL_MCP_MANAGED_IDENTITY_RESOURCE_ID", global = true)]
    pub managed_identity_resource_id: Option<String>,

    /// Instance metadata service base URL (managed identity on VMs).
    #[arg(
        long,
        env = "SENTINEL_MCP_IMDS_ENDPOINT",
        default_value = "http://169.254.169.254",
        global = true
    )]
    pub imds_endpoint: String,

    /// Try the Azure CLI (`az account get-access-token`) last, for development.
    #[arg(long, env = "SENTINEL_MCP_AZURE_CLI", default_value_t = true, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub azure_cli: bool,

    /// Log Analytics query API base URL.
    #[arg(
        long,
        env = "SENTINEL_MCP_LOG_ANALYTICS_ENDPOINT",
        default_value = "https://api.loganalytics.azure.com",
        global = true
    )]
    pub log_analytics_endpoint: String,

    /// Microsoft Graph base URL.
    #[arg(
        long,
        env = "SENTINEL_MCP_GRAPH_ENDPOINT",
        default_value = "https://graph.microsoft.com",
        global = true
    )]
    pub graph_endpoint: String,

    /// Azure Resource Manager base URL.
    #[arg(
        long,
        env = "SENTINEL_MCP_ARM_ENDPOINT",
        default_value = "https://management.azure.com",
        global = true
    )]
    pub arm_endpoint: String,

    /// Token audience (resource) of Log Analytics; sovereign clouds differ (https://api.loganalytics.us).
    #[arg(
        long,
        env = "SENTINEL_MCP_LOG_ANALYTICS_AUDIENCE",
        default_value = "https://api.loganalytics.io",
        global = true
    )]
    pub log_analytics_audience: String,

    /// Token audience of Microsoft Graph (https://graph.microsoft.us for US Government).
    #[arg(
        long,
        env = "SENTINEL_MCP_GRAPH_AUDIENCE",
        default_value = "https://graph.microsoft.com",
        global = true
    )]
    pub graph_audience: String,

    /// Token audience of Azure Resource Manager (https://management.usgovcloudapi.net for US Government).
    #[arg(
        long,
        env = "SENTINEL_MCP_ARM_AUDIENCE",
        default_value = "https://management.azure.com",
        global = true
    )]
    pub arm_audience: String,

    /// Retries of a throttled (429) or failing (5xx) Azure call.
    #[arg(
        long,
        env = "SENTINEL_MCP_AZURE_MAX_RETRIES",
        default_value_t = 3,
        global = true
    )]
    pub max_retries: u32,

    /// Longest wait between retries in seconds, whatever Retry-After asks.
    #[arg(
        long,
        env = "SENTINEL_MCP_AZURE_MAX_RETRY_WAIT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub max_retry_wait_secs: u64,

    /// Whose identity reaches Azure: `server-identity` (the server's own, for every caller) or `on-behalf-of` (each caller's, through Entra's on-behalf-of exchange; needs SENTINEL_MCP_AUTH=entra).
    #[arg(
        long,
        env = "SENTINEL_MCP_AZURE_ACCESS",
        value_enum,
        default_value = "server-identity",
        global = true
    )]
    pub access: AzureAccess,

    /// With on-behalf-of, what app-only callers (client-credentials tokens, no user) get: `deny` (403, the default) or `server-identity` (the server's own identity).
    #[arg(long, env = "SENTINEL_MCP_APP_CALLERS", value_enum, global = true)]
    pub app_callers: Option<AppCallers>,

    /// PEM file with the certificate and private key of the API's app registration (MCP_SERVER_APP_ID), to authenticate the on-behalf-of exchange when no managed identity is federated with it.
    #[arg(long, env = "SENTINEL_MCP_CLIENT_CERTIFICATE_PATH", global = true)]
    pub client_certificate_path: Option<PathBuf>,

    /// Client secret of the API's app registration (MCP_SERVER_APP_ID) for the on-behalf-of exchange; development only (prefer the managed identity).
    #[arg(
        long,
        env = "SENTINEL_MCP_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub client_secret: Option<crate::secret::Secret>,

    /// Audience of the managed identity token presented as the federated client assertion (api://AzureADTokenExchangeUSGov and api://AzureADTokenExchangeChina in those clouds).
    #[arg(
        long,
        env = "SENTINEL_MCP_TOKEN_EXCHANGE_AUDIENCE",
        default_value = "api://AzureADTokenExchange",
        global = true
    )]
    pub token_exchange_audience: String,

    /// Most downstream tokens kept for on-behalf-of (one per caller and Azure service); the least recently used is dropped beyond it.
    #[arg(
        long,
        env = "SENTINEL_MCP_OBO_CACHE_ENTRIES",
        default_value_t = 4096,
        global = true
    )]
    pub obo_cache_entries: usize,

    /// Azure queries (Log Analytics and advanced hunting) in flight at once across the process, since they all run as one identity; further queries wait (SENTINEL_MCP_CALL_QUEUE bounds the wait). 0 turns the cap off.
    #[arg(
        long,
        env = "SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES",
        default_value_t = 5,
        global = true
    )]
    pub max_concurrent_queries: usize,

    /// Seconds a table list or table schema is cached.
    #[arg(
        long,
        env = "SENTINEL_MCP_SCHEMA_CACHE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub schema_cache_secs: u64,
}

/// Whose identity the Azure backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AzureAccess {
    /// The server's own identity (managed identity, workload identity, client secret, CLI).
    ServerIdentity,
    /// The caller's: each call exchanges the caller's token with Entra's on-behalf-of grant.
    OnBehalfOf,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

impl Settings {
    /// Keep-alive period of SSE streams.
    pub fn sse_keepalive(&self) -> Duration {
        Duration::from_secs(self.sse_keepalive_secs.max(1))
    }

    /// How long a truncated query's full result is kept.
    pub fn result_ttl(&self) -> Duration {
        Duration::from_secs(self.result_ttl_secs)
    }

    /// The most memory kept full results take in all (0: none are kept).
    pub fn result_store_bytes(&self) -> usize {
        self.result_store_mb.saturating_mul(1 << 20)
    }

    /// Query timeout.
    pub fn query_timeout(&self) -> Duration {
        Duration::from_secs(self.query_timeout_secs.max(1))
    }

    /// The local engine's memory budgets: one query's, and all running queries' together.
    pub fn memory_budgets(&self) -> MemoryBudgets {
        let engine = match self.engine_memory_mb {
            Some(mb) => mb.saturating_mul(1 << 20),
            None => kql::budget::default_engine_memory(),
        };
        MemoryBudgets {
            query: self.query_memory_mb.saturating_mul(1 << 20),
            engine,
        }
    }
}

/// The local engine's memory budgets, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudgets {
    /// One query's (`SENTINEL_MCP_QUERY_MEMORY_MB`).
    pub query: usize,
    /// All running queries' together (`SENTINEL_MCP_ENGINE_MEMORY_MB`).
    pub engine: usize,
}
