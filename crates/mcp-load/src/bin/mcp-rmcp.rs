//! The stock Rust peer: Streamable HTTP as rmcp's documentation serves it (a `ServerHandler`,
//! `StreamableHttpService` with the `LocalSessionManager` and the default configuration, mounted
//! on axum), listing the same tools as sentinel-mcp and answering every call with the canned
//! result `mcp-bare` gives. `scripts/bench.sh` measures it beside sentinel-mcp, so BENCHMARKS.md
//! shows what our transport work buys over the default a Rust user would write.
//!
//!     mcp-rmcp PORT TOOLS.json   # 127.0.0.1:PORT (0 picks a free port); TOOLS.json is a
//!                                # `tools/list` result, `{"tools": [...]}`
//!
//! Its first line on stdout is `listening on 127.0.0.1:PORT`.

use std::sync::Arc;

use anyhow::Context;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};

#[derive(Clone)]
struct Peer {
    tools: Arc<Vec<Tool>>,
}

impl ServerHandler for Peer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("mcp-rmcp", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            let message = format!("unknown tool {}", request.name);
            return Err(ErrorData::invalid_params(message, None));
        }
        let text = ContentBlock::text(mcp_load::CANNED_TABLES);
        Ok(CallToolResult::success(vec![text]).into())
    }
}

#[derive(serde::Deserialize)]
struct ToolList {
    tools: Vec<Tool>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: mcp-rmcp PORT TOOLS.json";
    let port: u16 = args.next().context(usage)?.parse().context(usage)?;
    let path = args.next().context(usage)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let list: ToolList = serde_json::from_str(&text)
        .with_context(|| format!("{path} is not a tools/list result"))?;
    let peer = Peer {
        tools: Arc::new(list.tools),
    };
    let service = StreamableHttpService::new(
        move || Ok(peer.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
