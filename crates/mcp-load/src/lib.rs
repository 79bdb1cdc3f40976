//! `mcp-load`: a bounded, loopback-only load generator for MCP servers over legacy SSE and
//! Streamable HTTP. The scenarios (idle sessions, throughput, churn, cold start, soak) each print
//! a human summary and one JSON line that `scripts/bench.sh` turns into BENCHMARKS.md.

pub mod client;
pub mod scenarios;
pub mod soak;
pub mod sse;
pub mod stats;
pub mod target;

/// The tables the reference servers (`mcp-bare`, `mcp-rmcp`) answer every tool call with, one per
/// line: a canned result the size of a small `list_sentinel_tables` answer.
pub const CANNED_TABLES: &str = "SecurityIncident\nSecurityAlert\nSigninLogs\nAuditLogs\nDeviceProcessEvents\nDeviceNetworkEvents\nOfficeActivity";
