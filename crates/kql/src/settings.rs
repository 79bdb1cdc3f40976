//! The environment variables behind the limits this crate enforces, named in its errors so a
//! user knows which setting to change.

pub const MAX_QUERY_CHARS: &str = "SENTINEL_MCP_MAX_QUERY_CHARS";
pub const MAX_TIMESPAN: &str = "SENTINEL_MCP_MAX_TIMESPAN";
pub const DEFAULT_TIMESPAN: &str = "SENTINEL_MCP_DEFAULT_TIMESPAN";
pub const WORKSPACE_ID: &str = "SENTINEL_WORKSPACE_ID";
pub const QUERY_MEMORY_MB: &str = "SENTINEL_MCP_QUERY_MEMORY_MB";
pub const ENGINE_MEMORY_MB: &str = "SENTINEL_MCP_ENGINE_MEMORY_MB";
