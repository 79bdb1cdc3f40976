//! `mcp-load`: a bounded, loopback-only load generator for MCP servers over legacy SSE and
//! Streamable HTTP. The scenarios (idle sessions, throughput, churn, cold start, soak) each print
//! a human summary and one JSON line that `scripts/bench.sh` turns into BENCHMARKS.md.

pub mod client;
pub mod scenarios;
pub mod soak;
pub mod sse;
pub mod stats;
pub mod target;
