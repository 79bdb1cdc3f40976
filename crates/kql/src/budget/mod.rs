//! A query's budget: the memory it may use and the time it may run, on every thread that works
//! for it.
//!
//! Memory is measured, not estimated: [`CountingAllocator`] charges every allocation (and
//! credits every free) made on a thread to the query that thread works for (a thread-local set
//! by [`QueryBudget::enter`]; the row engine's thread enters it for the whole run, DataFusion's
//! tasks enter it on every poll, through [`datafusion`]'s task tracer). Past its limit, or past
//! what the process-wide [`EngineMemory`] has left, the query is marked stopped; the engine
//! stops at its next check (every row of every operator, every DataFusion batch, every element
//! of the loops that build large values) with an error naming the limit and the setting. Code
//! about to make one large allocation whose size it knows (`repeat`, `strrep`, a function given
//! large arguments) asks [`reserve`] first, so no single step can overshoot the budget by much.
//! The deadline and the cancel flag are checked in the same places, so a long-running function
//! stops too.

mod alloc;
#[cfg(feature = "datafusion")]
pub(crate) mod datafusion;

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use alloc::{CountingAllocator, Scope};

use crate::error::KqlError;
use crate::settings;

/// Why a query was stopped for memory.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum MemoryError {
    #[error(
        "The query needs more than {} MB of memory, the most one query may use ({}); filter, project or summarize before building large values or results, or raise the limit.",
        mb(*.limit), settings::QUERY_MEMORY_MB
    )]
    Query { limit: usize },
    #[error(
        "The queries running on this server need more than {} MB of memory together, the most the engine may use ({}); try again when other queries have finished, or raise the limit.",
        mb(*.limit), settings::ENGINE_MEMORY_MB
    )]
    Engine { limit: usize },
    #[error(
        "Other queries are using {} of the {} MB the engine may use ({}) and did not free enough within {} seconds for this one to start; try again when they have finished.",
        mb(*.used), mb(*.limit), settings::ENGINE_MEMORY_MB, .waited.as_secs()
    )]
    Busy {
        used: usize,
        limit: usize,
        waited: Duration,
    },
}

/// Bytes as whole MB (MiB), as the settings count them.
fn mb(bytes: usize) -> usize {
    bytes >> 20
}

/// The longest a query waits for the engine to have memory for it.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(10);

/// How often a thread that works for a query reads the clock in [`check`].
const CLOCK_EVERY: u32 = 1024;

const RUNNING: u8 = 0;
const OVER_QUERY: u8 = 1;
const OVER_ENGINE: u8 = 2;
const CANCELLED: u8 = 3;
const REFUSED: u8 = 4;

/// Marks an engine charge closed (the query released its share).
const RELEASED: isize = isize::MIN;

/// The memory all running queries may use together, shared by them.
#[derive(Debug)]
pub struct EngineMemory {
    limit: usize,
    used: AtomicIsize,
    lock: Mutex<()>,
    freed: Condvar,
}

impl EngineMemory {
    /// A budget of `limit` bytes for all queries together.
    pub fn new(limit: usize) -> Arc<EngineMemory> {
        Arc::new(EngineMemory {
            limit,
            used: AtomicIsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        })
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes the running queries use now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed).max(0) as usize
    }

    fn free(&self) -> usize {
        self.limit.saturating_sub(self.used())
    }

    /// Starts a query that may use up to `limit` bytes (less when the engine has less left).
    /// A query starts when the engine has at least a quarter of that share free; until then it
    /// waits, at most [`ADMISSION_WAIT`] or until its deadline, and is refused after.
    pub fn admit(
        self: &Arc<Self>,
        limit: usize,
        deadline: Option<Instant>,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<Arc<QueryBudget>, KqlError> {
        let need = limit.min(self.limit) / 4;
        let started = Instant::now();
        let until = deadline.map_or(started + ADMISSION_WAIT, |d| {
            d.min(started + ADMISSION_WAIT)
        });
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.free() < need {
            if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(KqlError::Cancelled);
            }
            let now = Instant::now();
            if now >= until {
                return Err(MemoryError::Busy {
                    used: self.used(),
                    limit: self.limit,
                    waited: now - started,
                }
                .into());
            }
            // Memory is freed by allocations on other threads too, not only when a query ends:
            // look again at least every 50 ms.
            let wait = (until - now).min(Duration::from_millis(50));
            guard = match self.freed.wait_timeout(guard, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        drop(guard);
        Ok(Arc::new(QueryBudget::with(
            limit,
            Some(Arc::clone(self)),
            deadline,
            cancel,
        )))
    }
}

/// One query's budget: its memory limit, what it uses, its deadline and cancel flag.
#[derive(Debug)]
pub struct QueryBudget {
    limit: usize,
    used: AtomicIsize,
    peak: AtomicIsize,
    engine: Option<Arc<EngineMemory>>,
    /// What this query has charged to the engine, or `RELEASED`.
    engine_charged: AtomicIsize,
    stop: AtomicU8,
    /// Why the query was refused, when it stopped for a bound other than memory or time.
    refusal: Mutex<Option<KqlError>>,
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
}

impl QueryBudget {
    /// A budget of `limit` bytes outside any engine-wide budget.
    pub fn new(
        limit: usize,
        deadline: Option<Instant>,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Arc<QueryBudget> {
        Arc::new(QueryBudget::with(limit, None, deadline, cancel))
    }

    fn with(
        limit: usize,
        engine: Option<Arc<EngineMemory>>,
        deadline: Option<Instant>,
        cancel: Option<Arc<AtomicBool>>,
    ) -> QueryBudget {
        QueryBudget {
            limit,
            used: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
            engine,
            engine_charged: AtomicIsize::new(0),
            stop: AtomicU8::new(RUNNING),
            refusal: Mutex::new(None),
            deadline,
            cancel,
        }
    }

    /// Makes the current thread work for this query until the scope is dropped.
    pub fn enter(self: &Arc<Self>) -> Scope {
        Scope::enter(self)
    }

    /// The query's own limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The most memory the query has used at once so far, in bytes (as counted by
    /// [`CountingAllocator`], at its 64 KiB granularity per thread).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed).max(0) as usize
    }

    /// Charges (or, negative, credits) bytes allocated for the query. Called from the allocator:
    /// atomics only, no allocation, no panic (the arithmetic wraps rather than checks).
    fn charge(&self, delta: isize) {
        let used = self
            .used
            .fetch_add(delta, Ordering::Relaxed)
            .wrapping_add(delta);
        if delta > 0 {
            self.peak.fetch_max(used, Ordering::Relaxed);
            if used > self.limit as isize {
                self.stop_with(OVER_QUERY);
            }
        }
        let Some(engine) = &self.engine else {
            return;
        };
        let charged = self
            .engine_charged
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c != RELEASED).then(|| c.wrapping_add(delta))
            });
        if charged.is_ok() {
            let total = engine
                .used
                .fetch_add(delta, Ordering::Relaxed)
                .wrapping_add(delta);
            if delta > 0 && total > engine.limit as isize {
                self.stop_with(OVER_ENGINE);
            }
        }
    }

    fn stop_with(&self, why: u8) {
        let _ = self
            .stop
            .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Gives the query's memory back to the engine-wide budget (when the query has finished;
    /// also done on drop).
    pub fn release(&self) {
        let Some(engine) = &self.engine else {
            return;
        };
        let charged = self.engine_charged.swap(RELEASED, Ordering::Relaxed);
        if charged != RELEASED {
            engine.used.fetch_sub(charged, Ordering::Relaxed);
            let _guard = engine.lock.lock();
            engine.freed.notify_all();
        }
    }

    /// Why the query must stop, if it must: memory past a limit, or cancelled. Cheap (two
    /// atomic loads, inlined: the row engine asks before every row); the deadline is
    /// [`check_deadline`](Self::check_deadline)'s.
    #[inline]
    pub fn stopped(&self) -> Result<(), KqlError> {
        if self.stop.load(Ordering::Relaxed) == RUNNING
            && !self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Ok(());
        }
        self.why_stopped()
    }

    /// [`stopped`](Self::stopped) once the query may have to stop.
    #[cold]
    fn why_stopped(&self) -> Result<(), KqlError> {
        match self.stop.load(Ordering::Relaxed) {
            RUNNING => {}
            OVER_QUERY => return Err(MemoryError::Query { limit: self.limit }.into()),
            OVER_ENGINE => {
                return Err(MemoryError::Engine {
                    limit: self.engine.as_ref().map_or(self.limit, |e| e.limit),
                }
                .into());
            }
            REFUSED => {
                let refusal = self.refusal.lock().unwrap_or_else(|p| p.into_inner());
                return Err(refusal.clone().unwrap_or(KqlError::Cancelled));
            }
            _ => return Err(KqlError::Cancelled),
        }
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            self.stop_with(CANCELLED);
            return Err(KqlError::Cancelled);
        }
        Ok(())
    }

    /// [`stopped`](Self::stopped), and whether the deadline has passed (reads the clock).
    pub fn check_deadline(&self) -> Result<(), KqlError> {
        self.stopped()?;
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stop_with(CANCELLED);
            return Err(KqlError::Cancelled);
        }
        Ok(())
    }

    /// Whether `bytes` more would still fit the query's budget and the engine's; if not, the
    /// query is stopped and the error says which limit it would pass.
    pub fn reserve(&self, bytes: usize) -> Result<(), KqlError> {
        self.stopped()?;
        if let Some(over) = self.over(bytes) {
            self.stop_with(over);
            return self.stopped();
        }
        Ok(())
    }

    /// Stops the query with `error` (a bound other than memory or time that one step would
    /// pass); the first reason to stop wins.
    pub fn refuse(&self, error: KqlError) {
        let mut refusal = self.refusal.lock().unwrap_or_else(|p| p.into_inner());
        if self
            .stop
            .compare_exchange(RUNNING, REFUSED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            *refusal = Some(error);
        }
    }

    /// Whether `bytes` more would fit now (the query goes on either way).
    pub fn fits(&self, bytes: usize) -> bool {
        self.over(bytes).is_none()
    }

    /// Which limit `bytes` more would pass, if any.
    fn over(&self, bytes: usize) -> Option<u8> {
        let bytes = bytes.min(isize::MAX as usize) as isize;
        if self.used.load(Ordering::Relaxed).saturating_add(bytes) > self.limit as isize {
            return Some(OVER_QUERY);
        }
        self.engine
            .as_ref()
            .filter(|e| e.used.load(Ordering::Relaxed).saturating_add(bytes) > e.limit as isize)
            .map(|_| OVER_ENGINE)
    }

    /// Stops the query as over its own memory limit (DataFusion's pool refused to grow).
    #[cfg(feature = "datafusion")]
    pub(crate) fn exceed(&self) {
        self.stop_with(OVER_QUERY);
    }
}

impl Drop for QueryBudget {
    fn drop(&mut self) {
        self.release();
    }
}

thread_local! {
    static CHECKS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// For loops that can run long or build much (inside functions, aggregates, conversions):
/// whether the current thread's query must stop (memory, cancellation; the deadline every
/// 1,024 calls). Ok on a thread that works for no query.
pub fn check() -> Result<(), KqlError> {
    alloc::with_current(|b| {
        let n = CHECKS.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n
        });
        if n.is_multiple_of(CLOCK_EVERY) {
            b.check_deadline()
        } else {
            b.stopped()
        }
    })
    .unwrap_or(Ok(()))
}

/// Whether `bytes` more would fit the current thread's query's budget ([`QueryBudget::reserve`]).
/// Ok on a thread that works for no query.
pub fn reserve(bytes: usize) -> Result<(), KqlError> {
    alloc::with_current(|b| b.reserve(bytes)).unwrap_or(Ok(()))
}

/// Stops the current thread's query with `error` ([`QueryBudget::refuse`]); false on a thread
/// that works for no query.
pub fn refuse(error: KqlError) -> bool {
    alloc::with_current(|b| b.refuse(error)).is_some()
}

/// Whether `bytes` more would fit the current thread's query's budget now (without stopping it
/// when they would not: for code that can take another way). True for no query.
pub fn fits(bytes: usize) -> bool {
    alloc::with_current(|b| b.fits(bytes)).unwrap_or(true)
}

/// The budget of the query the current thread works for.
pub fn current() -> Option<Arc<QueryBudget>> {
    alloc::current()
}

/// Runs `f` charging what it allocates to no query (memory that outlives the query and belongs
/// to the process, such as the catalog's cached form of a table).
pub fn outside_query<T>(f: impl FnOnce() -> T) -> T {
    alloc::outside_query(f)
}

/// The memory the process may use: its cgroup's limit (in a container), else the machine's
/// physical memory; `None` where neither can be read.
pub fn available_memory() -> Option<usize> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let number = |text: Option<String>| text.and_then(|t| t.trim().parse::<u64>().ok());
    // cgroup v2: the process's own group (its path in /proc/self/cgroup), else the root a
    // container sees; "max" means no limit. cgroup v1: a huge number means none.
    let own = read("/proc/self/cgroup").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_string()))
    });
    let v2 = own
        .iter()
        .map(|p| format!("/sys/fs/cgroup{p}/memory.max"))
        .chain(["/sys/fs/cgroup/memory.max".to_string()])
        .find_map(|p| number(read(&p)));
    let v1 = number(read("/sys/fs/cgroup/memory/memory.limit_in_bytes")).filter(|n| *n < 1 << 60);
    let physical = read("/proc/meminfo").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.saturating_mul(1024))
    });
    [v2, v1, physical]
        .into_iter()
        .flatten()
        .min()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The engine-wide budget when none is configured: half the memory the process may use (the
/// rest is the workspace's tables, sessions and results on their way out), or 2 GiB where that
/// cannot be read.
pub fn default_engine_memory() -> usize {
    available_memory().map_or(2 << 30, |m| m / 2)
}

/// Whether [`CountingAllocator`] is the global allocator (else budgets see only the engine's own
/// checks before large allocations).
pub fn counting_allocator_installed() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let probe = QueryBudget::new(usize::MAX >> 1, None, None);
        {
            let _scope = probe.enter();
            // Larger than the per-thread balance, so it is charged at once.
            let block = vec![1u8; 1 << 20];
            std::hint::black_box(&block);
            drop(_scope);
            drop(block);
        }
        probe.peak() > 0
    })
}

#[cfg(test)]
mod tests;
