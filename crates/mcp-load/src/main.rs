//! Command line of the load tool: one subcommand per scenario, one JSON line of results.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mcp_load::client::Tool;
use mcp_load::scenarios::{self, Transport};
use mcp_load::soak;
use mcp_load::target::Target;

/// Load generator for MCP servers on loopback. Every run is bounded in count and time.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hold N idle legacy SSE sessions and report the server's RSS growth per session.
    Idle {
        /// The server's SSE URL, e.g. http://127.0.0.1:8080/sse.
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        /// The server's process id (RSS is read from /proc/<pid>/status).
        #[arg(long)]
        pid: u32,
        /// Initialize each session (initialize + notifications/initialized) before holding it.
        #[arg(long)]
        initialize: bool,
        /// Sessions being opened at once.
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        /// Seconds to let the server settle before reading RSS.
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        /// Extra seconds to hold the sessions after measuring.
        #[arg(long, default_value_t = 0.0)]
        hold: f64,
        /// Give up opening after this many seconds.
        #[arg(long, default_value_t = 120.0)]
        deadline: f64,
        /// A Prometheus URL whose sentinel_mcp_sessions_active{transport="legacy_sse"} gauge is read while held.
        #[arg(long)]
        metrics_url: Option<String>,
    },
    /// S sessions with C calls in flight each, calling one tool for T seconds.
    Throughput {
        /// SSE URL (…/sse) for --transport sse, MCP URL (…/mcp) otherwise.
        #[arg(long)]
        url: String,
        #[arg(long, value_enum, default_value = "sse")]
        transport: Transport,
        #[arg(long, default_value_t = 32)]
        sessions: usize,
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
        /// Measured seconds (after the warm-up).
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Unmeasured seconds first.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        #[arg(long, value_enum, default_value = "list_sentinel_tables")]
        tool: Tool,
        /// Open loop: offer this many calls per second across the sessions on a fixed schedule
        /// (latency from each call's due time); without it each worker calls back to back.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Whole sessions (connect, initialize, one call, disconnect) at a target rate.
    Churn {
        #[arg(long)]
        url: String,
        #[arg(long, value_enum, default_value = "sse")]
        transport: Transport,
        /// Sessions started per second (at most).
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Sessions alive at once (at most).
        #[arg(long, default_value_t = 64)]
        max_in_flight: usize,
        #[arg(long, value_enum, default_value = "list_sentinel_tables")]
        tool: Tool,
    },
    /// Start the server, churn sessions on every transport for a while (some left abruptly
    /// mid-call), and compare its session gauges, open fds and RSS before and after.
    Soak {
        /// The server command line (run with `sh -c "exec …"`); the soak adds its own settings.
        #[arg(long)]
        cmd: String,
        /// The server's base URL, e.g. http://127.0.0.1:18300.
        #[arg(long)]
        url: String,
        /// Session slots churning at once.
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        /// Seconds of load.
        #[arg(long, default_value_t = 300.0)]
        duration: f64,
        /// Share of sessions that leave abruptly mid-call (0-1).
        #[arg(long, default_value_t = 0.3)]
        abrupt: f64,
        /// The server's session idle timeout for the run, which reclaims abandoned sessions.
        #[arg(long, default_value_t = 20)]
        idle_timeout: u64,
        #[arg(long, value_enum, default_value = "run_kql_query")]
        tool: Tool,
    },
    /// Spawn the server, time the first 200 from its health URL, kill it; repeat.
    ColdStart {
        /// The server command line (run with `sh -c "exec …"`).
        #[arg(long)]
        cmd: String,
        /// The health URL, e.g. http://127.0.0.1:8080/health.
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Seconds one start may take.
        #[arg(long, default_value_t = 20.0)]
        timeout: f64,
    },
}

fn secs(s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).context("durations must be non-negative seconds")
}

fn target(url: &str) -> anyhow::Result<Target> {
    Ok(Target::parse(url)?)
}

/// Said before every load run: the server sees all of it as one caller.
const ONE_PRINCIPAL: &str = "mcp-load: every session comes from this one loopback address, which a server sees as one principal; run sentinel-mcp with its per-principal limits off (SENTINEL_MCP_RATE_LIMIT_PER_MINUTE=0), or its rate limit refuses calls (-32029 on legacy SSE, HTTP 429 on /mcp)";

/// Runs, caps and time limits keep every scenario bounded.
const MAX_SESSIONS: usize = 50_000;
const MAX_SECONDS: f64 = 600.0;

fn bounded(what: &str, v: f64, max: f64) -> anyhow::Result<()> {
    anyhow::ensure!(v <= max, "{what} is capped at {max}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let json = rt.block_on(run(cli.command))?;
    println!("{json}");
    // Idle sessions may still be closing; do not wait for them.
    rt.shutdown_background();
    Ok(())
}

async fn run(command: Command) -> anyhow::Result<String> {
    let json = match command {
        Command::Idle {
            url,
            sessions,
            pid,
            initialize,
            concurrency,
            settle,
            hold,
            deadline,
            metrics_url,
        } => {
            bounded("--sessions", sessions as f64, MAX_SESSIONS as f64)?;
            bounded("--hold", hold, MAX_SECONDS)?;
            bounded("--deadline", deadline, MAX_SECONDS)?;
            let r = scenarios::idle(scenarios::IdleOptions {
                sse: target(&url)?,
                sessions,
                pid,
                initialize,
                concurrency,
                settle: secs(settle)?,
                hold: secs(hold)?,
                deadline: secs(deadline)?,
                metrics: metrics_url.as_deref().map(target).transpose()?,
            })
            .await?;
            eprintln!(
                "idle: {} of {} sessions open (initialize: {}) in {:.2} s; RSS {} → {} KiB = {:.1} KiB/session; after close {} KiB{}",
                r.sessions_open,
                r.sessions_requested,
                r.initialize,
                r.open_secs,
                r.rss_before_kib,
                r.rss_after_kib,
                r.kib_per_session,
                r.rss_after_close_kib,
                r.first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            );
            serde_json::to_string(&r)?
        }
        Command::Throughput {
            url,
            transport,
            sessions,
            in_flight,
            duration,
            warmup,
            tool,
            rate,
        } => {
            bounded("--sessions", sessions as f64, MAX_SESSIONS as f64)?;
            bounded("--duration", duration, MAX_SECONDS)?;
            eprintln!("{ONE_PRINCIPAL}");
            let r = scenarios::throughput(scenarios::ThroughputOptions {
                url: target(&url)?,
                transport,
                sessions,
                in_flight,
                duration: secs(duration)?,
                warmup: secs(warmup)?,
                tool,
                rate,
            })
            .await?;
            eprintln!(
                "throughput ({:?}, {}, {}×{}{}): {:.0} calls/s, p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms, {} errors{}",
                r.transport,
                r.tool,
                r.sessions_open,
                r.in_flight,
                r.offered_rate
                    .map(|rate| format!(", offered {rate:.0}/s"))
                    .unwrap_or_default(),
                r.calls_per_sec,
                r.latency.p50_ms,
                r.latency.p90_ms,
                r.latency.p99_ms,
                r.latency.p999_ms,
                r.latency.max_ms,
                r.errors,
                r.first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            );
            serde_json::to_string(&r)?
        }
        Command::Churn {
            url,
            transport,
            rate,
            duration,
            max_in_flight,
            tool,
        } => {
            bounded("--duration", duration, MAX_SECONDS)?;
            eprintln!("{ONE_PRINCIPAL}");
            let r = scenarios::churn(scenarios::ChurnOptions {
                url: target(&url)?,
                transport,
                rate,
                duration: secs(duration)?,
                max_in_flight,
                tool,
            })
            .await?;
            eprintln!(
                "churn ({:?}): {:.0} sessions/s (target {}), p50 {:.2} p99 {:.2} ms, {} errors{}",
                r.transport,
                r.sessions_per_sec,
                r.target_rate,
                r.latency.p50_ms,
                r.latency.p99_ms,
                r.errors,
                r.first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            );
            serde_json::to_string(&r)?
        }
        Command::Soak {
            cmd,
            url,
            sessions,
            duration,
            abrupt,
            idle_timeout,
            tool,
        } => {
            bounded("--sessions", sessions as f64, MAX_SESSIONS as f64)?;
            bounded("--duration", duration, MAX_SECONDS)?;
            bounded("--idle-timeout", idle_timeout as f64, MAX_SECONDS)?;
            anyhow::ensure!((0.0..=1.0).contains(&abrupt), "--abrupt is a share, 0 to 1");
            let r = soak::soak(soak::SoakOptions {
                cmd,
                base: target(&url)?,
                sessions,
                duration: secs(duration)?,
                abrupt,
                idle_timeout_secs: idle_timeout,
                tool,
            })
            .await?;
            eprintln!(
                "soak: {} session slots for {:.0} s (per-principal limits off: {}), {} sessions (sse/streamable/stateless {:?}), {} left abruptly mid-call, {} calls ok, {} errors{}; \
                 sessions sse/streamable {}/{} -> peak {}/{} -> after {}/{}; fds {} -> peak {} -> after {}; RSS {} -> peak {} -> after {} KiB ({:+.1} %); reclaimed in {:.1} s; server exit code {:?}",
                r.session_slots,
                r.duration_secs,
                r.server_settings.join(" "),
                r.sessions_opened,
                r.sessions_by_transport,
                r.abrupt_disconnects,
                r.calls_ok,
                r.errors,
                r.first_error
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default(),
                r.before.sse_sessions,
                r.before.streamable_sessions,
                r.peak.sse_sessions,
                r.peak.streamable_sessions,
                r.after.sse_sessions,
                r.after.streamable_sessions,
                r.before.open_fds,
                r.peak.open_fds,
                r.after.open_fds,
                r.before.rss_kib,
                r.peak.rss_kib,
                r.after.rss_kib,
                r.rss_after_vs_before_pct,
                r.reclaim_secs,
                r.server_exit_code,
            );
            serde_json::to_string(&r)?
        }
        Command::ColdStart {
            cmd,
            url,
            runs,
            timeout,
        } => {
            bounded("--runs", runs as f64, 100.0)?;
            bounded("--timeout", timeout, 60.0)?;
            let r = scenarios::cold_start(scenarios::ColdStartOptions {
                cmd,
                health: target(&url)?,
                runs,
                timeout: secs(timeout)?,
            })
            .await?;
            eprintln!(
                "cold start: median {:.1} ms (min {:.1}, max {:.1}) over {} runs, {} failures",
                r.median_ms, r.min_ms, r.max_ms, r.runs, r.failures
            );
            serde_json::to_string(&r)?
        }
    };
    Ok(json)
}
