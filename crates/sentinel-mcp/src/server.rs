//! The MCP service: one `SentinelServer` per session, all sharing one `AppState`.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::config::Transport;
use crate::tools::{ToolCatalog, ToolContext};

/// The server's name on the wire and in /health.
pub const SERVER_NAME: &str = "sentinel-mcp-server";
/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const INSTRUCTIONS: &str = "Security operations tools for a Microsoft Sentinel / Log Analytics workspace and Defender XDR. \
Start with list_sentinel_tables and get_table_schema, then query with run_kql_query (KQL; table and column names are case-sensitive). \
Triage with list_incidents, get_incident (alerts and entities), list_alerts and get_alert; investigate endpoints with run_hunting_query. \
Results are capped; prefer summarize and where over large raw pulls.";

/// State shared by every session and transport.
pub struct AppState {
    pub tools: ToolCatalog,
    pub context: ToolContext,
    pub transport: Transport,
    pub started: Instant,
}

/// The per-session MCP handler; cloning is one `Arc` increment.
#[derive(Clone)]
pub struct SentinelServer {
    app: Arc<AppState>,
}

impl SentinelServer {
    /// A handler over the shared state.
    pub fn new(app: Arc<AppState>) -> SentinelServer {
        SentinelServer { app }
    }
}

impl ServerHandler for SentinelServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new(SERVER_NAME, VERSION);
        info.instructions = Some(INSTRUCTIONS.to_string());
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.app.tools.list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let name = request.name.as_ref();
        let result = self
            .app
            .tools
            .call(&self.app.context, name, request.arguments, "anonymous")
            .await;
        let outcome = match &result {
            Ok(r) if r.is_error == Some(true) => "tool_error",
            Ok(_) => "ok",
            Err(_) => "invalid_params",
        };
        tracing::info!(
            tool = name,
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            "tool call"
        );
        result.map(Into::into)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.app.tools.get(name).cloned()
    }
}
