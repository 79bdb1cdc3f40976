//! The accept loop: each connection is served by hyper's HTTP/1 connection with the router as its
//! service and the peer's address attached to every request. It bounds connections
//! (`MAX_CONNECTIONS`, with a reserve that answers probes and a 503 beyond the cap), times out
//! clients that are slow to send headers or idle between requests, and closes connections when
//! the drain is done.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use futures::future::{Either, Ready, ready};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;
use tower::util::Oneshot;

use super::client::PeerAddr;
use crate::shutdown::Shutdown;

/// Connections beyond `MAX_CONNECTIONS` that are still read: probes are answered on them, every
/// other request gets the 503. Bounded, so the overflow cannot exhaust file descriptors.
pub const RESERVE_CONNECTIONS: usize = 64;
/// `Retry-After` of the 503 over the connection cap.
const RETRY_AFTER_FULL_SECS: u64 = 5;
/// The paths answered even over the connection cap.
const PROBE_PATHS: [&str; 3] = ["/health", "/ready", "/metrics"];

/// The connection limits of `serve`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Time to send a request's headers; `None` is no limit.
    pub header_read_timeout: Option<Duration>,
    /// Time a kept-alive connection may wait for its next request; `None` is no limit.
    pub idle_timeout: Option<Duration>,
}

/// Accepts connections until the drain closes the server, then waits for them to finish until
/// the drain's deadline.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Arc<Shutdown>,
    limits: ConnectionLimits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(RESERVE_CONNECTIONS));
    let full = Arc::new(Full::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let drain = shutdown.drain();
    tokio::pin!(drain);
    let exit_at = loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            exit_at = &mut drain => break exit_at,
        };
        let (permit, at_capacity) = match slots.clone().try_acquire_owned() {
            Ok(permit) => (permit, None),
            Err(_) => match reserve.clone().try_acquire_owned() {
                Ok(permit) => {
                    full.note(false);
                    (permit, Some(full.clone()))
                }
                Err(_) => {
                    full.note(true);
                    let _ = stream.try_write(&full.unread);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let clock = (limits.header_read_timeout.is_some() || limits.idle_timeout.is_some())
            .then(|| Arc::new(HeadClock::new(limits)));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.keep_alive(at_capacity.is_none());
        if let Some(clock) = &clock {
            // hyper arms this timer whenever it starts waiting for a request head; the clock
            // decides when it fires (see HeadClock), whatever duration hyper is given.
            builder
                .timer(HeadTimer(clock.clone()))
                .header_read_timeout(FAR);
        }
        let service = ConnectionService {
            router: router.clone(),
            peer,
            at_capacity,
        };
        let conn = builder.serve_connection(TokioIo::new(ClockedStream { stream, clock }), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    };
    drop(listener);
    if tokio::time::timeout_at(exit_at, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the drain deadline; closing them");
    }
}

/// The answer over the connection cap.
struct Full {
    message: String,
    /// The whole HTTP response, for connections beyond the reserve, which are never read: the
    /// socket's send buffer is empty, so one non-blocking write takes it.
    unread: Vec<u8>,
    /// Refusals since the last warning, and when that was (one line per period at most).
    refused: Mutex<(u64, Option<Instant>)>,
}

/// At most one warning about refused connections per this period.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Full {
    fn new(max_connections: usize) -> Full {
        let message = format!(
            "the server is at its connection limit (MAX_CONNECTIONS={max_connections}); retry later"
        );
        let body = serde_json::json!({"error": message, "limit": "MAX_CONNECTIONS"}).to_string();
        let unread = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {RETRY_AFTER_FULL_SECS}\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        Full {
            message,
            unread,
            refused: Mutex::new((0, None)),
        }
    }

    /// Counts a refused connection and warns about the refusals now and then.
    fn note(&self, beyond_reserve: bool) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.0 += 1;
        if refused.1.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            tracing::warn!(
                refused = refused.0,
                beyond_reserve,
                "connections over MAX_CONNECTIONS: requests other than probes answered 503 (probes are served on a reserve of {RESERVE_CONNECTIONS})"
            );
            *refused = (0, Some(Instant::now()));
        }
    }

    fn response(&self) -> Response {
        super::retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            RETRY_AFTER_FULL_SECS,
            Some("MAX_CONNECTIONS"),
            &self.message,
        )
    }
}

/// The router with the peer's address attached to each request; over the connection cap, only
/// the probes reach it.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    at_capacity: Option<Arc<Full>>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<Ready<Result<Response, Infallible>>, Oneshot<Router, hyper::Request<Incoming>>>;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        if let Some(full) = &self.at_capacity
            && !PROBE_PATHS.contains(&request.uri().path())
        {
            return Either::Left(ready(Ok(full.response())));
        }
        request.extensions_mut().insert(PeerAddr(self.peer));
        Either::Right(self.router.clone().oneshot(request))
    }
}

/// When a connection began waiting for a request head and when the head's first byte came.
///
/// hyper's header-read timer starts whenever a connection waits for a head, including a
/// kept-alive connection waiting for its next request, so with it alone idle keep-alive
/// connections would close after the header timeout. hyper arms the timer through [`HeadTimer`]
/// at exactly that moment, so the clock knows which wait it is: the first on the connection
/// (headers due within the header timeout), or a kept-alive one (closed after the idle timeout
/// unless a byte arrives, then headers due within the header timeout of that byte).
struct HeadClock {
    header: Option<Duration>,
    idle: Option<Duration>,
    wait: Mutex<HeadWait>,
    /// Set while no byte has arrived since the timer was armed (saves the lock on most reads).
    awaiting_byte: AtomicBool,
}

#[derive(Clone, Copy)]
struct HeadWait {
    since: Instant,
    first_byte: Option<Instant>,
    /// The connection's first request.
    fresh: bool,
    armed_before: bool,
}

impl HeadClock {
    fn new(limits: ConnectionLimits) -> HeadClock {
        HeadClock {
            header: limits.header_read_timeout,
            idle: limits.idle_timeout,
            wait: Mutex::new(HeadWait {
                since: Instant::now(),
                first_byte: None,
                fresh: true,
                armed_before: false,
            }),
            awaiting_byte: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HeadWait> {
        self.wait.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// hyper starts waiting for a request head.
    fn arm(&self) {
        let mut wait = self.lock();
        *wait = HeadWait {
            since: Instant::now(),
            first_byte: None,
            fresh: !wait.armed_before,
            armed_before: true,
        };
        self.awaiting_byte.store(true, Ordering::Release);
    }

    /// Bytes came from the client.
    fn saw_bytes(&self) {
        if self.awaiting_byte.swap(false, Ordering::AcqRel) {
            let mut wait = self.lock();
            wait.first_byte.get_or_insert_with(Instant::now);
        }
    }

    /// When the current wait for a head ends the connection; `None` is never.
    fn deadline(&self) -> Option<Instant> {
        let wait = *self.lock();
        match (wait.fresh, wait.first_byte) {
            (true, _) => self.header.or(self.idle).map(|d| wait.since + d),
            (false, None) => self.idle.map(|d| wait.since + d),
            (false, Some(first)) => self.header.map(|d| first + d),
        }
    }
}

/// The timer hyper's HTTP/1 connection uses for its header-read timeout.
struct HeadTimer(Arc<HeadClock>);

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, _deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.0.arm();
        Box::pin(HeadSleep::new(self.0.clone()))
    }
}

pin_project_lite::pin_project! {
    /// Fires at the clock's deadline, which moves when the first byte of a head arrives (hyper
    /// polls this after every read that leaves the head incomplete).
    struct HeadSleep {
        clock: Arc<HeadClock>,
        deadline: Option<Instant>,
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl HeadSleep {
    fn new(clock: Arc<HeadClock>) -> HeadSleep {
        let deadline = clock.deadline();
        let at = deadline.unwrap_or_else(far_future);
        HeadSleep {
            clock,
            deadline,
            sleep: tokio::time::sleep_until(at),
        }
    }
}

/// A wait that never ends in practice.
const FAR: Duration = Duration::from_secs(86_400);

/// A deadline that never comes in practice.
fn far_future() -> Instant {
    Instant::now() + FAR
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let deadline = this.clock.deadline();
        if deadline != *this.deadline {
            *this.deadline = deadline;
            this.sleep
                .as_mut()
                .reset(deadline.unwrap_or_else(far_future));
        }
        match deadline {
            Some(_) => this.sleep.poll(cx),
            // No limit now; only a read (which wakes the connection) can set one.
            None => Poll::Pending,
        }
    }
}

impl hyper::rt::Sleep for HeadSleep {}

/// The TCP stream, telling the clock when bytes arrive.
struct ClockedStream {
    stream: TcpStream,
    clock: Option<Arc<HeadClock>>,
}

impl AsyncRead for ClockedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(clock)) = (&polled, &self.clock)
            && buf.filled().len() > before
        {
            clock.saw_bytes();
        }
        polled
    }
}

impl AsyncWrite for ClockedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(header: u64, idle: u64) -> HeadClock {
        HeadClock::new(ConnectionLimits {
            max_connections: 1,
            header_read_timeout: Some(Duration::from_secs(header)),
            idle_timeout: Some(Duration::from_secs(idle)),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_has_the_header_timeout_from_its_start() {
        let c = clock(10, 300);
        c.arm();
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(3)).await;
        c.saw_bytes();
        assert_eq!(c.deadline(), Some(start + Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_idles_until_its_first_byte_then_has_the_header_timeout() {
        let c = clock(10, 300);
        c.arm();
        c.saw_bytes();
        c.arm();
        let idle_since = Instant::now();
        assert_eq!(c.deadline(), Some(idle_since + Duration::from_secs(300)));
        tokio::time::advance(Duration::from_secs(100)).await;
        c.saw_bytes();
        assert_eq!(
            c.deadline(),
            Some(idle_since + Duration::from_secs(110)),
            "from the first byte"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        c.saw_bytes();
        assert_eq!(c.deadline(), Some(idle_since + Duration::from_secs(110)));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_header_timeout_only_idleness_ends_a_connection() {
        let c = HeadClock::new(ConnectionLimits {
            max_connections: 1,
            header_read_timeout: None,
            idle_timeout: Some(Duration::from_secs(300)),
        });
        c.arm();
        let start = Instant::now();
        assert_eq!(c.deadline(), Some(start + Duration::from_secs(300)));
        c.arm();
        c.saw_bytes();
        assert_eq!(c.deadline(), None, "a request under way has no limit");
    }
}
