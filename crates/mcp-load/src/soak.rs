//! The soak scenario: the server is started here (so its limits are known), N session slots
//! churn sessions over legacy SSE, Streamable HTTP and stateless calls for a fixed time, a share
//! of them leaving abruptly mid-call (no DELETE, no answer read), and the server's session
//! gauges, open file descriptors and RSS are compared before and after, once the server has
//! reclaimed everything (abandoned Streamable HTTP sessions by its idle timeout). Every
//! session comes from one loopback address, that is one principal, so the per-principal limits
//! are turned off for the run, and the report says so.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{Tool, get};
use crate::scenarios::{Session, Transport, rss_kib};
use crate::target::Target;

/// Settings the soak gives the server: per-principal limits off (one loopback principal).
const PER_PRINCIPAL_OFF: [(&str, &str); 2] = [
    ("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "0"),
    ("SENTINEL_MCP_RATE_LIMIT_PER_MINUTE", "0"),
];

/// Options of the soak scenario.
pub struct SoakOptions {
    /// The server command line (run with `sh -c "exec …"`).
    pub cmd: String,
    /// The server's base URL, e.g. `http://127.0.0.1:18300`.
    pub base: Target,
    /// Session slots churning at once.
    pub sessions: usize,
    pub duration: Duration,
    /// Share of sessions that leave abruptly mid-call.
    pub abrupt: f64,
    /// The server's session idle timeout for the run (reclaims abandoned sessions).
    pub idle_timeout_secs: u64,
    pub tool: Tool,
}

/// The server's figures at one moment.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Gauges {
    pub sse_sessions: u64,
    pub streamable_sessions: u64,
    pub open_fds: u64,
    pub rss_kib: u64,
}

/// What the soak measured.
#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub scenario: &'static str,
    /// The settings the server ran with, as given by the soak.
    pub server_settings: Vec<String>,
    pub session_slots: usize,
    pub duration_secs: f64,
    pub sessions_opened: u64,
    pub sessions_by_transport: [u64; 3],
    pub abrupt_disconnects: u64,
    pub calls_ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub before: Gauges,
    pub peak: Gauges,
    pub after: Gauges,
    /// Seconds from the end of the load until the server had reclaimed every session.
    pub reclaim_secs: f64,
    pub rss_after_vs_before_pct: f64,
    pub server_exit_code: Option<i32>,
}

/// A small, fast, non-cryptographic generator (xorshift64*), seeded per slot.
struct Dice(u64);

impl Dice {
    fn new(seed: u64) -> Dice {
        Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Default)]
struct Tally {
    opened: [AtomicU64; 3],
    abrupt: AtomicU64,
    calls_ok: AtomicU64,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.first_error.lock() {
            f.get_or_insert_with(|| e.to_string());
        }
    }
}

const TRANSPORTS: [Transport; 3] = [Transport::Sse, Transport::Streamable, Transport::Stateless];

/// One slot: session after session until `end`, each with 1-4 calls, some left mid-call.
async fn churn_slot(urls: Arc<[Target; 3]>, o: SlotOptions, tally: Arc<Tally>, end: Instant) {
    let mut dice = Dice::new(o.seed);
    while Instant::now() < end {
        // 45 % legacy SSE, 45 % Streamable HTTP sessions, 10 % stateless calls.
        let kind = match dice.below(20) {
            0..9 => 0,
            9..18 => 1,
            _ => 2,
        };
        let (session, mut poster) = match Session::open(&urls[kind], TRANSPORTS[kind]).await {
            Ok(s) => s,
            Err(e) => {
                tally.error(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tally.opened[kind].fetch_add(1, Ordering::Relaxed);
        for _ in 0..dice.below(4) {
            match session.call(&mut poster, o.tool).await {
                Ok(true) => {
                    tally.calls_ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => tally.error("a call answered with an error"),
                Err(e) => tally.error(e),
            }
        }
        if dice.unit() < o.abrupt {
            session.abandon_mid_call(poster, o.tool).await;
            tally.abrupt.fetch_add(1, Ordering::Relaxed);
        } else {
            match session.call(&mut poster, o.tool).await {
                Ok(true) => {
                    tally.calls_ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => tally.error("a call answered with an error"),
                Err(e) => tally.error(e),
            }
            session.close(&mut poster).await;
        }
    }
}

#[derive(Clone, Copy)]
struct SlotOptions {
    seed: u64,
    abrupt: f64,
    tool: Tool,
}

/// The server's gauges, fds and RSS now.
async fn measure(metrics: &Target, pid: u32) -> anyhow::Result<Gauges> {
    let (_, body) = get(metrics).await?;
    let text = String::from_utf8_lossy(&body);
    let gauge = |transport: &str| {
        let prefix = format!("sentinel_mcp_sessions{{transport=\"{transport}\"}}");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Ok(Gauges {
        sse_sessions: gauge("sse"),
        streamable_sessions: gauge("streamable_http"),
        open_fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64,
        rss_kib: rss_kib(pid)?,
    })
}

/// Starts the server with the soak's settings and waits for its health URL.
async fn start_server(
    o: &SoakOptions,
    health: &Target,
) -> anyhow::Result<(tokio::process::Child, Vec<String>)> {
    let mut settings: Vec<(String, String)> = PER_PRINCIPAL_OFF
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings.push((
        "SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS".into(),
        o.idle_timeout_secs.to_string(),
    ));
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec {}", o.cmd))
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let started = Instant::now();
    loop {
        if let Ok(Ok((status, _))) = tokio::time::timeout(Duration::from_secs(1), get(health)).await
            && status.is_success()
        {
            break;
        }
        anyhow::ensure!(child.try_wait()?.is_none(), "the server exited at start");
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the server was not healthy within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((
        child,
        settings
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    ))
}

/// Runs the soak; the server is started and stopped (SIGTERM, then its exit code) here.
pub async fn soak(o: SoakOptions) -> anyhow::Result<SoakReport> {
    let path = |p: &str| o.base.with_endpoint(p);
    let urls = Arc::new([path("/sse")?, path("/mcp")?, path("/mcp")?]);
    let metrics = path("/metrics")?;
    let (mut child, server_settings) = start_server(&o, &path("/health")?).await?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow::anyhow!("the server has no pid"))?;
    eprintln!(
        "soak: server pid {pid} with {} (every session comes from one loopback address: one principal, so per-principal limits are off)",
        server_settings.join(" ")
    );

    // Warm up lazily built state (both transports, cleanly closed), then take the baseline.
    let warm = Arc::new(Tally::default());
    let mut warmers = JoinSet::new();
    let warm_end = Instant::now() + Duration::from_secs(5);
    for seed in 0..16 {
        let options = SlotOptions {
            seed: 1000 + seed,
            abrupt: 0.0,
            tool: o.tool,
        };
        warmers.spawn(churn_slot(urls.clone(), options, warm.clone(), warm_end));
    }
    while warmers.join_next().await.is_some() {}
    let before = settle(&metrics, pid, Duration::from_secs(30)).await?.1;
    eprintln!("soak: before {before:?}");

    let tally = Arc::new(Tally::default());
    let end = Instant::now() + o.duration;
    let t0 = Instant::now();
    let mut slots = JoinSet::new();
    let seed0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    for i in 0..o.sessions {
        let options = SlotOptions {
            seed: seed0 ^ (i as u64).wrapping_mul(0x1000_0001),
            abrupt: o.abrupt,
            tool: o.tool,
        };
        let (urls, tally) = (urls.clone(), tally.clone());
        // Ramp up over the first seconds rather than all at once.
        let delay = Duration::from_millis((i as u64 * 5).min(5_000));
        slots.spawn(async move {
            tokio::time::sleep(delay).await;
            churn_slot(urls, options, tally, end).await;
        });
    }
    let mut peak = before;
    let mut samples = 0u64;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Ok(g) = measure(&metrics, pid).await {
            peak.sse_sessions = peak.sse_sessions.max(g.sse_sessions);
            peak.streamable_sessions = peak.streamable_sessions.max(g.streamable_sessions);
            peak.open_fds = peak.open_fds.max(g.open_fds);
            peak.rss_kib = peak.rss_kib.max(g.rss_kib);
            samples += 1;
            if samples % 30 == 1 {
                eprintln!(
                    "soak: {:>4.0} s {g:?}, {} sessions opened, {} errors",
                    t0.elapsed().as_secs_f64(),
                    tally
                        .opened
                        .iter()
                        .map(|o| o.load(Ordering::Relaxed))
                        .sum::<u64>(),
                    tally.errors.load(Ordering::Relaxed)
                );
            }
        }
    }
    // Each slot finishes its session in progress (every step is bounded); stragglers go.
    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        while slots.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        slots.abort_all();
    }
    let duration_secs = t0.elapsed().as_secs_f64();
    let reclaim_deadline = Duration::from_secs(o.idle_timeout_secs * 2 + 120);
    let (reclaim_secs, after) = settle(&metrics, pid, reclaim_deadline).await?;
    eprintln!("soak: after {after:?}, reclaimed in {reclaim_secs:.1} s");

    // A graceful stop ends the run.
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let server_exit_code = match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
        Ok(Ok(status)) => status.code(),
        _ => {
            let _ = child.kill().await;
            None
        }
    };
    let t = &tally;
    Ok(SoakReport {
        scenario: "soak",
        server_settings,
        session_slots: o.sessions,
        duration_secs,
        sessions_opened: t.opened.iter().map(|o| o.load(Ordering::Relaxed)).sum(),
        sessions_by_transport: [0, 1, 2].map(|i| t.opened[i].load(Ordering::Relaxed)),
        abrupt_disconnects: t.abrupt.load(Ordering::Relaxed),
        calls_ok: t.calls_ok.load(Ordering::Relaxed),
        errors: t.errors.load(Ordering::Relaxed),
        first_error: t.first_error.lock().ok().and_then(|mut e| e.take()),
        before,
        peak,
        after,
        reclaim_secs,
        rss_after_vs_before_pct: (after.rss_kib as f64 / before.rss_kib.max(1) as f64 - 1.0)
            * 100.0,
        server_exit_code,
    })
}

/// Waits until the server holds no session (or `deadline`), then for its heap trim to run;
/// the seconds that took and the figures then.
async fn settle(metrics: &Target, pid: u32, deadline: Duration) -> anyhow::Result<(f64, Gauges)> {
    let started = Instant::now();
    loop {
        let g = measure(metrics, pid).await?;
        if g.sse_sessions == 0 && g.streamable_sessions == 0 {
            break;
        }
        if started.elapsed() > deadline {
            eprintln!("soak: sessions still open after {deadline:?}: {g:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let reclaimed = started.elapsed().as_secs_f64();
    // The server hands freed heap back once closes pause (its trim check runs every 500 ms).
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok((reclaimed, measure(metrics, pid).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_are_uniform_enough_and_repeatable() {
        let mut a = Dice::new(42);
        let mut b = Dice::new(42);
        let rolls: Vec<u64> = (0..10_000).map(|_| a.below(20)).collect();
        assert_eq!(rolls[..5], (0..5).map(|_| b.below(20)).collect::<Vec<_>>());
        let low = rolls.iter().filter(|&&r| r < 10).count();
        assert!((4_500..5_500).contains(&low), "{low}");
        assert!((0..1000).map(|_| a.unit()).all(|u| (0.0..1.0).contains(&u)));
    }
}
