//! The four scenarios. Each is bounded in count and time and returns a serialisable report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{ClientError, Poster, SseSession, StreamableSession, Tool, get};
use crate::stats::{Samples, Summary, median};
use crate::target::Target;

/// Which MCP transport a scenario speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Legacy HTTP+SSE: GET /sse, POST to the announced endpoint, replies on the stream.
    Sse,
    /// Streamable HTTP, session era: initialize, then Mcp-Session-Id on every POST /mcp.
    Streamable,
    /// Streamable HTTP, stateless 2026-07-28 era: no initialize, `_meta` on every request.
    Stateless,
}

/// Resident set size of a process in KiB, from /proc/<pid>/status.
pub fn rss_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&status).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no VmRSS line in /proc/<pid>/status",
        )
    })
}

/// The `VmRSS:` value (kB) of a /proc status text.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The `sentinel_mcp_sessions_active{transport=…}` gauge (`legacy_sse`, `streamable`) of a
/// Prometheus text, if present.
pub fn parse_sessions_gauge(metrics: &str, transport: &str) -> Option<u64> {
    let prefix = format!("sentinel_mcp_sessions_active{{transport=\"{transport}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

fn keep_first_error(slot: &Mutex<Option<String>>, e: &ClientError) {
    if let Ok(mut s) = slot.lock()
        && s.is_none()
    {
        *s = Some(e.to_string());
    }
}

/// Options of the idle scenario.
pub struct IdleOptions {
    pub sse: Target,
    pub sessions: usize,
    pub pid: u32,
    pub initialize: bool,
    pub concurrency: usize,
    pub settle: Duration,
    pub hold: Duration,
    pub deadline: Duration,
    pub metrics: Option<Target>,
}

/// What the idle scenario measured.
#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub scenario: &'static str,
    pub initialize: bool,
    pub sessions_requested: usize,
    pub sessions_open: usize,
    pub failed: usize,
    pub open_secs: f64,
    pub sessions_per_sec: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub rss_after_close_kib: u64,
    pub kib_per_session: f64,
    pub server_sessions_gauge: Option<u64>,
    pub first_error: Option<String>,
}

async fn open_idle(
    sse: &Target,
    initialize: bool,
    posters: &Mutex<Vec<Poster>>,
) -> Result<SseSession, ClientError> {
    let session = SseSession::open(sse).await?;
    if initialize {
        let mut poster = posters
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Poster::new(&session.endpoint));
        let r = session.initialize(&mut poster).await;
        if let Ok(mut p) = posters.lock() {
            p.push(poster);
        }
        r?;
    }
    Ok(session)
}

/// Holds `sessions` idle legacy SSE sessions and reports the server's RSS growth per session.
pub async fn idle(o: IdleOptions) -> anyhow::Result<IdleReport> {
    // POSTs share a small pool of keep-alive connections, so only the streams stay open.
    let posters = Mutex::new(Vec::new());
    let first_error = Mutex::new(None);
    // Warm up lazily built server state so it is not charged to the sessions.
    let warm: Vec<_> = futures::stream::iter(0..o.sessions.min(16))
        .map(|_| open_idle(&o.sse, o.initialize, &posters))
        .buffer_unordered(16)
        .collect()
        .await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(o.pid)?;

    let started = Instant::now();
    let opening = futures::stream::iter(0..o.sessions)
        .map(|_| open_idle(&o.sse, o.initialize, &posters))
        .buffer_unordered(o.concurrency.max(1))
        .collect::<Vec<_>>();
    let results = tokio::time::timeout(o.deadline, opening)
        .await
        .map_err(|_| anyhow::anyhow!("opening sessions took longer than {:?}", o.deadline))?;
    let open_secs = started.elapsed().as_secs_f64();
    let mut sessions = Vec::with_capacity(results.len());
    let mut failed = 0;
    for r in results {
        match r {
            Ok(s) => sessions.push(s),
            Err(e) => {
                failed += 1;
                keep_first_error(&first_error, &e);
            }
        }
    }
    // The POST pool is not part of an idle session's cost.
    posters.lock().map(|mut p| p.clear()).ok();
    tokio::time::sleep(o.settle).await;
    let rss_after = rss_kib(o.pid)?;
    let gauge = match &o.metrics {
        Some(m) => get(m)
            .await
            .ok()
            .and_then(|(_, b)| parse_sessions_gauge(&String::from_utf8_lossy(&b), "legacy_sse")),
        None => None,
    };
    tokio::time::sleep(o.hold).await;
    let open = sessions.len();
    drop(sessions);
    tokio::time::sleep(o.settle).await;
    let rss_after_close = rss_kib(o.pid)?;
    Ok(IdleReport {
        scenario: "idle",
        initialize: o.initialize,
        sessions_requested: o.sessions,
        sessions_open: open,
        failed,
        open_secs,
        sessions_per_sec: open as f64 / open_secs.max(1e-9),
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_after_close_kib: rss_after_close,
        kib_per_session: (rss_after as f64 - rss_before as f64) / (open.max(1) as f64),
        server_sessions_gauge: gauge,
        first_error: first_error.lock().ok().and_then(|mut e| e.take()),
    })
}

/// Options of the throughput scenario.
pub struct ThroughputOptions {
    pub url: Target,
    pub transport: Transport,
    pub sessions: usize,
    pub in_flight: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub tool: Tool,
    /// Open loop: calls per second offered across all sessions, on a fixed schedule.
    pub rate: Option<f64>,
}

/// The open loop's clock: when each session's calls are due. Call `j` of session `k` is call
/// `k + j × sessions` of the run, due `(k + j × sessions) / rate` seconds after the start, so the
/// run offers `rate` calls per second spread evenly over the sessions whatever the server does.
/// Latency runs from the due time, not from when the call could be sent: a stalled server's
/// queue shows in the latency instead of slowing the load (no coordinated omission).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub start: Instant,
    pub rate: f64,
    pub sessions: usize,
}

impl Schedule {
    /// When call `j` of session `k` is due.
    pub fn due(&self, k: usize, j: u64) -> Instant {
        let n = k as f64 + j as f64 * self.sessions as f64;
        self.start + Duration::from_secs_f64(n / self.rate)
    }
}

/// What the throughput scenario measured.
#[derive(Debug, Serialize)]
pub struct ThroughputReport {
    pub scenario: &'static str,
    pub transport: Transport,
    pub tool: &'static str,
    pub sessions: usize,
    pub sessions_open: usize,
    pub in_flight: usize,
    pub duration_secs: f64,
    pub calls_ok: usize,
    pub errors: usize,
    pub calls_per_sec: f64,
    /// Open loop: the calls per second offered (`calls_per_sec` is what was achieved).
    pub offered_rate: Option<f64>,
    pub latency: Summary,
    pub first_error: Option<String>,
}

/// An open session of any transport (a stateless "session" is just its endpoint).
pub(crate) enum Session {
    Sse(SseSession),
    Http(StreamableSession),
}

impl Session {
    pub(crate) async fn open(
        url: &Target,
        transport: Transport,
    ) -> Result<(Arc<Session>, Poster), ClientError> {
        match transport {
            Transport::Sse => {
                let s = SseSession::open(url).await?;
                let mut p = Poster::new(&s.endpoint);
                s.initialize(&mut p).await?;
                Ok((Arc::new(Session::Sse(s)), p))
            }
            Transport::Streamable => {
                let mut p = Poster::new(url);
                let s = StreamableSession::open(url, &mut p).await?;
                Ok((Arc::new(Session::Http(s)), p))
            }
            Transport::Stateless => Ok((
                Arc::new(Session::Http(StreamableSession::stateless(url))),
                Poster::new(url),
            )),
        }
    }

    fn poster(&self, url: &Target) -> Poster {
        match self {
            Session::Sse(s) => Poster::new(&s.endpoint),
            Session::Http(_) => Poster::new(url),
        }
    }

    pub(crate) async fn call(&self, p: &mut Poster, tool: Tool) -> Result<bool, ClientError> {
        match self {
            Session::Sse(s) => s.call(p, tool).await,
            Session::Http(s) => s.call(p, tool).await,
        }
    }

    /// Starts a call and goes away without its answer or a goodbye: the POST connection closes
    /// now and the stream when the session is dropped; a Streamable HTTP session is left for the
    /// server's idle timeout.
    pub(crate) async fn abandon_mid_call(&self, mut p: Poster, tool: Tool) {
        match self {
            Session::Sse(s) => {
                let _ = s.send_call(&mut p, tool).await;
            }
            Session::Http(s) => {
                let _ = s.send_call(&mut p, tool).await;
            }
        }
        p.discard();
    }

    pub(crate) async fn close(&self, p: &mut Poster) {
        if let Session::Http(s) = self {
            s.close(p).await;
        }
    }
}

/// S sessions × C workers calling a tool back to back for a fixed time.
pub async fn throughput(o: ThroughputOptions) -> anyhow::Result<ThroughputReport> {
    let first_error = Arc::new(Mutex::new(None));
    let opened: Vec<_> = futures::stream::iter(0..o.sessions)
        .map(|_| Session::open(&o.url, o.transport))
        .buffer_unordered(64)
        .collect()
        .await;
    let mut sessions = Vec::new();
    for r in opened {
        match r {
            Ok(s) => sessions.push(s),
            Err(e) => keep_first_error(&first_error, &e),
        }
    }
    let open_errors = o.sessions - sessions.len();
    if let Some(rate) = o.rate {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of calls per second"
        );
    }
    let t0 = Instant::now();
    let measure_from = t0 + o.warmup;
    let end = measure_from + o.duration;
    let schedule = o.rate.map(|rate| Schedule {
        start: t0,
        rate,
        sessions: sessions.len().max(1),
    });
    let mut workers = JoinSet::new();
    for (k, (session, first_poster)) in sessions.iter_mut().enumerate() {
        let mut first = Some(std::mem::replace(first_poster, session.poster(&o.url)));
        // The session's next call on the open loop's schedule, taken by whichever worker is free.
        let next_call = Arc::new(AtomicU64::new(0));
        for _ in 0..o.in_flight.max(1) {
            let session = session.clone();
            let mut poster = first.take().unwrap_or_else(|| session.poster(&o.url));
            let tool = o.tool;
            let first_error = first_error.clone();
            let next_call = next_call.clone();
            workers.spawn(async move {
                let mut samples = Samples::default();
                let mut errors = 0usize;
                loop {
                    let start = schedule.map_or_else(Instant::now, |s| {
                        s.due(k, next_call.fetch_add(1, Ordering::Relaxed))
                    });
                    if start >= end {
                        break;
                    }
                    if schedule.is_some() {
                        tokio::time::sleep_until(start.into()).await;
                    }
                    let ok = match session.call(&mut poster, tool).await {
                        Ok(ok) => ok,
                        Err(e) => {
                            keep_first_error(&first_error, &e);
                            false
                        }
                    };
                    if start >= measure_from {
                        if ok {
                            samples.record(start.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (samples, errors)
            });
        }
    }
    let mut all = Samples::default();
    let mut errors = 0;
    while let Some(r) = workers.join_next().await {
        let (s, e) = r?;
        all.merge(s);
        errors += e;
    }
    let elapsed = t0.elapsed().saturating_sub(o.warmup).as_secs_f64();
    // Open loop: every due call runs, however late, so the rate achieved is over the time until
    // the last answer came back, not over the window the calls were due in.
    let achieved_over = match o.rate {
        Some(_) => elapsed.max(o.duration.as_secs_f64()),
        None => o.duration.as_secs_f64(),
    };
    for (s, p) in &mut sessions {
        s.close(p).await;
    }
    let calls_ok = all.len();
    Ok(ThroughputReport {
        scenario: "throughput",
        transport: o.transport,
        tool: o.tool.name(),
        sessions: o.sessions,
        sessions_open: o.sessions - open_errors,
        in_flight: o.in_flight,
        duration_secs: elapsed,
        calls_ok,
        errors: errors + open_errors,
        calls_per_sec: calls_ok as f64 / achieved_over.max(1e-9),
        offered_rate: o.rate,
        latency: all.summary(),
        first_error: first_error.lock().ok().and_then(|mut e| e.take()),
    })
}

/// Options of the churn scenario.
pub struct ChurnOptions {
    pub url: Target,
    pub transport: Transport,
    pub rate: f64,
    pub duration: Duration,
    pub max_in_flight: usize,
    pub tool: Tool,
}

/// What the churn scenario measured.
#[derive(Debug, Serialize)]
pub struct ChurnReport {
    pub scenario: &'static str,
    pub transport: Transport,
    pub target_rate: f64,
    pub max_in_flight: usize,
    pub duration_secs: f64,
    pub completed: usize,
    pub errors: usize,
    pub sessions_per_sec: f64,
    pub latency: Summary,
    pub first_error: Option<String>,
}

async fn one_session(url: &Target, transport: Transport, tool: Tool) -> Result<(), ClientError> {
    let (s, mut p) = Session::open(url, transport).await?;
    let ok = s.call(&mut p, tool).await?;
    s.close(&mut p).await;
    if ok {
        Ok(())
    } else {
        Err(ClientError::RpcError)
    }
}

/// Whole sessions (connect, initialize, one call, disconnect) started at `rate` per second,
/// at most `max_in_flight` at once, for `duration`.
pub async fn churn(o: ChurnOptions) -> anyhow::Result<ChurnReport> {
    anyhow::ensure!(o.rate > 0.0, "--rate must be positive");
    let permits = Arc::new(Semaphore::new(o.max_in_flight.max(1)));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let t0 = Instant::now();
    let end = t0 + o.duration;
    let mut tasks = JoinSet::new();
    let mut samples = Samples::default();
    let mut errors = 0;
    let mut first_error = None;
    let mut reap = |r: Result<(Duration, Result<(), ClientError>), tokio::task::JoinError>,
                    samples: &mut Samples,
                    errors: &mut usize| {
        match r {
            Ok((d, Ok(()))) => samples.record(d),
            Ok((_, Err(e))) => {
                *errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(_) => *errors += 1,
        }
    };
    while Instant::now() < end {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(end.into()) => break,
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p?,
            _ = tokio::time::sleep_until(end.into()) => break,
        };
        let url = o.url.clone();
        let (transport, tool) = (o.transport, o.tool);
        tasks.spawn(async move {
            let start = Instant::now();
            let r = one_session(&url, transport, tool).await;
            drop(permit);
            (start.elapsed(), r)
        });
        while let Some(r) = tasks.try_join_next() {
            reap(r, &mut samples, &mut errors);
        }
    }
    let drain = tokio::time::timeout(Duration::from_secs(35), async {
        let mut done = Vec::new();
        while let Some(r) = tasks.join_next().await {
            done.push(r);
        }
        done
    })
    .await
    .unwrap_or_default();
    for r in drain {
        reap(r, &mut samples, &mut errors);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let completed = samples.len();
    Ok(ChurnReport {
        scenario: "churn",
        transport: o.transport,
        target_rate: o.rate,
        max_in_flight: o.max_in_flight,
        duration_secs: elapsed,
        completed,
        errors,
        sessions_per_sec: completed as f64 / elapsed.max(1e-9),
        latency: samples.summary(),
        first_error,
    })
}

/// Options of the cold-start scenario.
pub struct ColdStartOptions {
    pub cmd: String,
    pub health: Target,
    pub runs: usize,
    pub timeout: Duration,
}

/// What the cold-start scenario measured.
#[derive(Debug, Serialize)]
pub struct ColdStartReport {
    pub scenario: &'static str,
    pub runs: usize,
    pub failures: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub all_ms: Vec<f64>,
}

/// Spawns the server command, times spawn → first 200 from the health URL, kills it; K times.
pub async fn cold_start(o: ColdStartOptions) -> anyhow::Result<ColdStartReport> {
    let mut times = Vec::new();
    let mut failures = 0;
    for _ in 0..o.runs {
        // A previous run's server must be gone before the next one starts.
        let free_by = Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(o.health.addr).await.is_ok() {
            anyhow::ensure!(
                Instant::now() < free_by,
                "something is already listening on {}",
                o.health.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec {}", o.cmd))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut took = None;
        while started.elapsed() < o.timeout {
            if let Ok(Ok((status, _))) =
                tokio::time::timeout(Duration::from_secs(1), get(&o.health)).await
                && status.is_success()
            {
                took = Some(started.elapsed());
                break;
            }
            if child.try_wait()?.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = child.kill().await;
        match took {
            Some(t) => times.push(t),
            None => failures += 1,
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let all_ms = times.iter().copied().map(ms).collect();
    let min = times.iter().min().copied().unwrap_or_default();
    let max = times.iter().max().copied().unwrap_or_default();
    Ok(ColdStartReport {
        scenario: "cold_start",
        runs: o.runs,
        failures,
        median_ms: ms(median(&mut times)),
        min_ms: ms(min),
        max_ms: ms(max),
        all_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_loop_spreads_its_rate_evenly_over_the_sessions() {
        let start = Instant::now();
        let s = Schedule {
            start,
            rate: 100.0,
            sessions: 4,
        };
        // Calls of the run are 10 ms apart; session 1's calls are runs' calls 1, 5, 9, ...
        assert_eq!(s.due(0, 0), start);
        assert_eq!(s.due(1, 0) - start, Duration::from_millis(10));
        assert_eq!(s.due(1, 2) - start, Duration::from_millis(90));
        assert_eq!(s.due(3, 1) - start, Duration::from_millis(70));
    }

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   12345 kB\nThreads: 2\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn sse_session_gauge_is_found_in_prometheus_text() {
        let text = "# HELP sentinel_mcp_sessions_active x\n# TYPE sentinel_mcp_sessions_active gauge\nsentinel_mcp_sessions_active{transport=\"legacy_sse\"} 15000\nsentinel_mcp_sessions_active{transport=\"streamable\"} 3\nother 1\n";
        assert_eq!(parse_sessions_gauge(text, "legacy_sse"), Some(15000));
        assert_eq!(parse_sessions_gauge(text, "streamable"), Some(3));
        assert_eq!(parse_sessions_gauge("other 1\n", "legacy_sse"), None);
    }
}
