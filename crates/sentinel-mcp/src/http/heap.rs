//! Handing the heap that closed sessions freed back to the OS. The allocator (mimalloc) keeps
//! freed pages for reuse, so after a burst of closes (15,000 idle legacy SSE sessions, or thousands of Streamable HTTP
//! sessions churned) the process would stay at its peak RSS until the heap is reused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::HttpState;

/// Closed sessions after which, once closing pauses, freed heap pages go back to the OS.
const TRIM_AFTER_CLOSES: usize = 1000;
/// How often the trimmer looks whether a burst of closes has ended.
const TRIM_CHECK_EVERY: Duration = Duration::from_millis(500);

/// Sessions of one transport closed since the trimmer last looked.
#[derive(Default)]
pub struct ClosedSessions(AtomicUsize);

impl ClosedSessions {
    /// One more session closed.
    pub(super) fn count(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// Once a burst of at least [`TRIM_AFTER_CLOSES`] closed sessions (both transports) has ended (a
/// check without new closes), hands the free heap pages the allocator keeps back to the OS, until
/// `stop`.
/// Without it the buffers of 15,000 closed idle sessions stay resident (~100 MB), and so do those
/// of churned Streamable HTTP sessions (~110 MB after 120,000 of them in a minute).
pub async fn trim_after_session_closes(state: Arc<HttpState>, stop: CancellationToken) {
    let mut pending = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TRIM_CHECK_EVERY) => {}
            _ = stop.cancelled() => return,
        }
        let closed = state.sse.closed.take() + state.mcp_sessions.closed.take();
        pending += closed;
        if closed == 0 && pending >= TRIM_AFTER_CLOSES {
            pending = 0;
            let _ = tokio::task::spawn_blocking(crate::heap::release_free).await;
        }
    }
}
