//! Call limits: a token bucket per principal on `tools/call`, and slots with a bounded wait queue
//! for tool calls and Azure queries. Every limit is off when its setting is 0.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rmcp::ErrorData;
use rmcp::model::ErrorCode;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::auth::RequestMeta;
use crate::metrics::metrics;

/// JSON-RPC error code of a call refused by the per-principal rate limit.
pub const RATE_LIMITED: i32 = -32029;
/// JSON-RPC error code of a call refused because the server is busy (every slot taken, queue full).
pub const BUSY: i32 = -32030;
/// How long a refused caller is told to wait when the server is busy: the length of a call is
/// not known in advance, so this is a hint, not a promise.
const BUSY_RETRY_AFTER_SECS: u64 = 5;
/// The rate limiter looks for idle buckets once it holds at least this many.
const MIN_SWEEP: usize = 1024;

/// The limits every transport's tool calls pass.
pub struct Limits {
    pub rate: RateLimiter,
    pub calls: Slots,
}

/// A call refused by the rate limit: a token is back after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub retry_after_secs: u64,
}

impl RateLimited {
    /// The JSON-RPC error the caller gets.
    pub fn error(self) -> ErrorData {
        ErrorData::new(
            ErrorCode(RATE_LIMITED),
            format!(
                "Rate limit exceeded: too many tool calls and result reads from this principal; retry in {} seconds.",
                self.retry_after_secs
            ),
            Some(json!({"retryAfterSeconds": self.retry_after_secs})),
        )
    }
}

/// A token bucket per principal: `burst` calls at once, refilled at `per_minute`. A bucket that
/// has refilled is the same as no bucket, so idle buckets are dropped: the map holds only
/// principals whose bucket is still refilling (at most `burst / rate` seconds after their last
/// call), plus at most as many again between sweeps, however many principals come and go.
pub struct RateLimiter {
    /// Tokens per second; 0 when the limit is off.
    rate: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<Box<str>, Bucket>,
    /// The next sweep for idle buckets happens when the map reaches this size.
    sweep_at: usize,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens at `now`, refilled since the last call.
    fn refill(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        (self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * rate).min(burst)
    }
}

impl RateLimiter {
    /// `per_minute` calls on average with bursts of `burst`; off when either is 0.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        let on = per_minute > 0 && burst > 0;
        RateLimiter {
            rate: if on {
                f64::from(per_minute) / 60.0
            } else {
                0.0
            },
            burst: f64::from(burst),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }

    /// Tokens a second and the burst, when the limit is on.
    pub fn setting(&self) -> Option<(f64, f64)> {
        (self.rate > 0.0).then_some((self.rate, self.burst))
    }

    /// Takes a token for the caller of a `tools/call`, or says when one is back.
    pub fn check(&self, meta: &RequestMeta) -> Result<(), RateLimited> {
        if self.rate == 0.0 {
            return Ok(());
        }
        // The key every per-principal limit shares (the session quota too).
        let verdict = self.take(&meta.limit_key, Instant::now());
        if verdict.is_err() {
            metrics().refused_call("rate_limit");
        }
        verdict
    }

    fn take(&self, key: &str, now: Instant) -> Result<(), RateLimited> {
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a bug elsewhere; refusing every call would be worse.
            return Ok(());
        };
        let (rate, burst) = (self.rate, self.burst);
        if let Some(bucket) = buckets.map.get_mut(key) {
            let tokens = bucket.refill(now, rate, burst);
            if tokens < 1.0 {
                let secs = ((1.0 - tokens) / rate).ceil().max(1.0);
                return Err(RateLimited {
                    retry_after_secs: secs as u64,
                });
            }
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            return Ok(());
        }
        if buckets.map.len() >= buckets.sweep_at {
            buckets
                .map
                .retain(|_, b| b.refill(now, rate, burst) < burst);
            let len = buckets.map.len();
            if buckets.map.capacity() > 4 * len.max(MIN_SWEEP) {
                buckets.map.shrink_to(2 * len);
            }
            buckets.sweep_at = (2 * len).max(MIN_SWEEP);
        }
        buckets.map.insert(
            key.into(),
            Bucket {
                tokens: burst - 1.0,
                at: now,
            },
        );
        Ok(())
    }

    /// How many buckets are held.
    pub fn buckets(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.map.len())
    }
}

/// Why a call or query found no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Every slot was taken and the wait queue was full.
    QueueFull {
        what: &'static str,
        running: usize,
        queue: usize,
    },
    /// It waited as long as its time limit allowed.
    WaitedTooLong {
        what: &'static str,
        running: usize,
        waited_secs: u64,
    },
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Busy::QueueFull {
                what,
                running,
                queue,
            } => write!(
                f,
                "The server is busy: {running} {what} are running and {queue} more are waiting; retry in {BUSY_RETRY_AFTER_SECS} seconds."
            ),
            Busy::WaitedTooLong {
                what,
                running,
                waited_secs,
            } => write!(
                f,
                "The server is busy: this call waited {waited_secs} seconds, its whole time limit, while {running} {what} were running; retry in {BUSY_RETRY_AFTER_SECS} seconds."
            ),
        }
    }
}

impl Busy {
    /// The JSON-RPC error the caller gets.
    pub fn error(self) -> ErrorData {
        ErrorData::new(
            ErrorCode(BUSY),
            self.to_string(),
            Some(json!({"retryAfterSeconds": BUSY_RETRY_AFTER_SECS})),
        )
    }
}

/// At most `limit` holders at once; others wait in a queue of at most `max_waiting` (0: no bound)
/// and are refused beyond it. A waiter that is dropped (cancelled, disconnected) leaves the queue
/// at once, and a dropped [`Slot`] frees its slot at once.
pub struct Slots {
    /// What the slots are for, in messages ("tool calls").
    what: &'static str,
    /// 0: no cap.
    limit: usize,
    max_waiting: usize,
    permits: Semaphore,
    waiting: AtomicUsize,
}

/// A slot held; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot<'a> {
    _permit: Option<SemaphorePermit<'a>>,
}

/// Leaves the wait queue when dropped, however the wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    /// `limit` slots (0: no cap) with at most `max_waiting` waiters (0: no bound).
    pub fn new(what: &'static str, limit: usize, max_waiting: usize) -> Slots {
        Slots {
            what,
            limit,
            max_waiting,
            permits: Semaphore::new(limit.min(Semaphore::MAX_PERMITS)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A slot, waiting at most `wait_at_most` for one.
    pub async fn acquire(&self, wait_at_most: Duration) -> Result<Slot<'_>, Busy> {
        if self.limit == 0 {
            return Ok(Slot { _permit: None });
        }
        // Released permits go to waiters first, so this never jumps the queue.
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(Slot {
                _permit: Some(permit),
            });
        }
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if self.max_waiting != 0 && ahead >= self.max_waiting {
            metrics().refused_call("busy");
            return Err(Busy::QueueFull {
                what: self.what,
                running: self.limit,
                queue: self.max_waiting,
            });
        }
        match tokio::time::timeout(wait_at_most, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(Slot {
                _permit: Some(permit),
            }),
            // The semaphore is never closed; a timeout is the only other way out.
            _ => {
                metrics().refused_call("busy");
                Err(Busy::WaitedTooLong {
                    what: self.what,
                    running: self.limit,
                    waited_secs: wait_at_most.as_secs(),
                })
            }
        }
    }

    /// Slots held now.
    pub fn running(&self) -> usize {
        if self.limit == 0 {
            return 0;
        }
        self.limit.saturating_sub(self.permits.available_permits())
    }

    /// Holders waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Runs `work` in a slot: the wait for one counts against `time_limit`, and `work` gets what
    /// is left of it.
    pub async fn run<T>(
        &self,
        time_limit: Duration,
        work: impl AsyncFnOnce(Duration) -> T,
    ) -> Result<T, Busy> {
        let started = Instant::now();
        let _slot = self.acquire(time_limit).await?;
        Ok(work(time_limit.saturating_sub(started.elapsed())).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("a", t0), Ok(()));
        }
        assert_eq!(
            limiter.take("a", t0),
            Err(RateLimited {
                retry_after_secs: 1
            })
        );
        // Another principal has its own bucket.
        assert_eq!(limiter.take("b", t0), Ok(()));
        // One token per second comes back.
        assert_eq!(limiter.take("a", t0 + Duration::from_millis(1000)), Ok(()));
        assert!(limiter.take("a", t0 + Duration::from_millis(1500)).is_err());
        assert_eq!(limiter.take("a", t0 + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn retry_after_counts_the_seconds_until_a_token_is_back() {
        // 6 a minute: one token every 10 seconds.
        let limiter = RateLimiter::new(6, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.take("a", t0), Ok(()));
        assert_eq!(
            limiter.take("a", t0 + Duration::from_secs(3)),
            Err(RateLimited {
                retry_after_secs: 7
            })
        );
    }

    #[test]
    fn idle_buckets_are_dropped_so_many_principals_cannot_grow_the_map() {
        let limiter = RateLimiter::new(600, 60);
        let t0 = Instant::now();
        for i in 0..MIN_SWEEP {
            limiter.take(&format!("p{i}"), t0).unwrap();
        }
        assert_eq!(limiter.buckets(), MIN_SWEEP);
        // A bucket refills in 60 / 10 = 6 seconds; later, 100,000 new principals come and go.
        let mut at = t0 + Duration::from_secs(7);
        for i in 0..100_000 {
            limiter.take(&format!("q{i}"), at).unwrap();
            at += Duration::from_millis(1);
        }
        // A bucket with one call spent is full again 0.1 s later: only the last ~100 principals
        // and those since the last sweep remain.
        let held = limiter.buckets();
        assert!(held <= 2 * MIN_SWEEP, "{held} buckets held");
        // A principal still within its window keeps its bucket (and its spent tokens).
        let limiter = RateLimiter::new(60, 1);
        limiter.take("busy", t0).unwrap();
        for i in 0..(4 * MIN_SWEEP) {
            limiter.take(&format!("r{i}"), t0).unwrap();
        }
        assert!(limiter.take("busy", t0).is_err());
    }

    #[test]
    fn zero_turns_the_rate_limit_off() {
        for (rate, burst) in [(0, 60), (600, 0)] {
            let limiter = RateLimiter::new(rate, burst);
            let meta = RequestMeta {
                principal: crate::auth::Principal::anonymous(),
                request_id: String::new(),
                session_id: None,
                limit_key: "203.0.113.7".into(),
                access: None,
                trace_parent: None,
                protocol_version: None,
            };
            for _ in 0..1000 {
                assert_eq!(limiter.check(&meta), Ok(()));
            }
            assert_eq!(limiter.buckets(), 0);
        }
    }

    #[tokio::test]
    async fn slots_queue_then_refuse_and_a_dropped_waiter_leaves_at_once() {
        let slots = Slots::new("tool calls", 1, 1);
        let long = Duration::from_secs(3600);
        let held = slots.acquire(long).await.unwrap();
        assert_eq!(slots.running(), 1);
        let mut waiter = Box::pin(slots.acquire(long));
        assert!(futures::poll!(waiter.as_mut()).is_pending());
        assert_eq!(slots.waiting(), 1);
        assert!(matches!(
            slots.acquire(long).await,
            Err(Busy::QueueFull { .. })
        ));
        drop(waiter);
        assert_eq!(slots.waiting(), 0);
        let mut next = Box::pin(slots.acquire(long));
        assert!(futures::poll!(next.as_mut()).is_pending());
        drop(held);
        assert!(next.await.is_ok());
        assert_eq!(slots.running(), 0, "a dropped slot is free again");
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_time_limit_is_refused() {
        let slots = Slots::new("Azure queries", 1, 0);
        let _held = slots.acquire(Duration::from_secs(1)).await.unwrap();
        let r = slots.acquire(Duration::from_millis(50)).await;
        assert!(matches!(r, Err(Busy::WaitedTooLong { .. })), "{r:?}");
        assert_eq!(slots.waiting(), 0);
    }

    #[tokio::test]
    async fn zero_slots_is_no_cap() {
        let slots = Slots::new("tool calls", 0, 0);
        let held: Vec<_> =
            futures::future::join_all((0..100).map(|_| slots.acquire(Duration::ZERO)))
                .await
                .into_iter()
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(held.len(), 100);
    }
}
