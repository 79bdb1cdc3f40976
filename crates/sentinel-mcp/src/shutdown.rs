//! The graceful drain every transport follows on SIGTERM or SIGINT: stop taking new sessions,
//! let running tool calls finish and deliver their results, cancel what is still running near
//! the deadline with an error that says why, then end the streams and exit.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::ErrorCode;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The JSON-RPC error code of a call cancelled because the server is shutting down.
pub const SHUTTING_DOWN: ErrorCode = ErrorCode(-32000);
/// Most of the drain budget kept for delivering errors, ending streams and closing connections.
const CLOSE_BUDGET: Duration = Duration::from_secs(3);

/// Where the process is in its life, shared by every transport.
pub struct Shutdown {
    timeout: Duration,
    /// Cancelled by the signal: readiness fails, new sessions are refused.
    draining: CancellationToken,
    /// Cancelled when calls still running must stop with [`SHUTTING_DOWN`].
    cancel_calls: CancellationToken,
    /// Cancelled once the work is done (or abandoned): streams end, connections close.
    closed: CancellationToken,
    /// Requests whose answers are not delivered yet.
    in_flight: AtomicUsize,
    settled: Notify,
}

impl Shutdown {
    /// A server that drains for at most `timeout` once told to stop.
    pub fn new(timeout: Duration) -> Arc<Shutdown> {
        Arc::new(Shutdown {
            timeout,
            draining: CancellationToken::new(),
            cancel_calls: CancellationToken::new(),
            closed: CancellationToken::new(),
            in_flight: AtomicUsize::new(0),
            settled: Notify::new(),
        })
    }

    /// Starts the drain (the first signal); a second call cancels running calls at once.
    pub fn begin(&self) {
        if self.draining.is_cancelled() {
            tracing::warn!("second shutdown signal: cancelling the calls still running");
            self.cancel_calls.cancel();
        }
        self.draining.cancel();
    }

    /// True once the drain has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Cancelled when the drain begins.
    pub fn draining(&self) -> &CancellationToken {
        &self.draining
    }

    /// Cancelled when streams must end and connections close.
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// Counts one request as in flight until the returned guard drops.
    pub fn work(self: &Arc<Self>) -> Work {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Work(self.clone())
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Runs a tool call as in-flight work; when the drain's deadline comes first, the call is
    /// dropped and answered with a [`SHUTTING_DOWN`] error.
    pub async fn run_call<T>(
        self: &Arc<Self>,
        call: impl Future<Output = Result<T, ErrorData>>,
    ) -> Result<T, ErrorData> {
        let _work = self.work();
        tokio::select! {
            biased;
            result = call => result,
            _ = self.cancel_calls.cancelled() => Err(ErrorData::new(
                SHUTTING_DOWN,
                "the server is shutting down and cancelled this call; retry it on a new session",
                None,
            )),
        }
    }

    /// Waits until nothing is in flight or `until`; true when nothing is.
    async fn settle(&self, until: Instant) -> bool {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(until, settled).await.is_err() {
                return self.in_flight() == 0;
            }
        }
    }

    /// Once the drain has begun: waits for in-flight work until the calls' deadline, cancels
    /// what remains, then closes. Returns when connections must be gone (the overall deadline).
    pub async fn drain(&self) -> Instant {
        self.draining.cancelled().await;
        let started = Instant::now();
        let exit_at = started + self.timeout;
        let close_budget = CLOSE_BUDGET.min(self.timeout / 2);
        tracing::info!(
            in_flight = self.in_flight(),
            timeout_secs = self.timeout.as_secs(),
            "draining: new sessions refused, running calls finish"
        );
        let calls_until = exit_at - close_budget;
        let finished = tokio::select! {
            done = self.settle(calls_until) => done,
            // A second signal.
            _ = self.cancel_calls.cancelled() => false,
        };
        if !finished {
            tracing::warn!(
                in_flight = self.in_flight(),
                "drain deadline: cancelling the calls still running"
            );
            self.cancel_calls.cancel();
            // The cancelled calls' errors are answers too: let them out.
            self.settle(Instant::now() + close_budget / 2).await;
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "drained: ending streams and closing connections"
        );
        self.closed.cancel();
        exit_at
    }
}

/// One request in flight; dropping it marks the request answered.
pub struct Work(Arc<Shutdown>);

impl Drop for Work {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.settled.notify_waiters();
        }
    }
}

/// Begins the drain on SIGTERM or SIGINT; a second signal cancels running calls at once.
pub async fn on_signal(shutdown: Arc<Shutdown>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM/SIGINT: no graceful drain");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutdown signal received");
            shutdown.begin();
        }
    }
    #[cfg(not(unix))]
    while tokio::signal::ctrl_c().await.is_ok() {
        tracing::info!("shutdown signal received");
        shutdown.begin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_work_then_closes() {
        let shutdown = Shutdown::new(Duration::from_secs(25));
        let work = shutdown.work();
        shutdown.begin();
        let drain = tokio::spawn({
            let s = shutdown.clone();
            async move { s.drain().await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!shutdown.closed().is_cancelled());
        drop(work);
        drain.await.unwrap();
        assert!(shutdown.closed().is_cancelled());
        assert!(!shutdown.cancel_calls.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn calls_still_running_at_the_deadline_get_the_shutting_down_error() {
        let shutdown = Shutdown::new(Duration::from_secs(10));
        let call = tokio::spawn({
            let s = shutdown.clone();
            async move {
                s.run_call(async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, ErrorData>(())
                })
                .await
            }
        });
        tokio::task::yield_now().await;
        assert_eq!(shutdown.in_flight(), 1);
        shutdown.begin();
        let exit_at = shutdown.drain().await;
        let error = call.await.unwrap().unwrap_err();
        assert_eq!(error.code, SHUTTING_DOWN);
        assert_eq!(shutdown.in_flight(), 0);
        assert!(Instant::now() <= exit_at);
    }
}
