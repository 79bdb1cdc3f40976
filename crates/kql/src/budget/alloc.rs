//! The counting allocator and the thread-local "query this thread works for".
//!
//! Every allocation and free on a thread that works for a query is charged to that query's
//! [`QueryBudget`]. A thread keeps a small running balance and charges the query once it passes
//! [`FLUSH_BYTES`] either way, so the shared counters are touched about once per 64 KiB of
//! allocation, not on every `malloc`; a thread working for no query pays one thread-local read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use super::QueryBudget;

/// The balance a thread keeps before charging its query (the accounting's granularity).
const FLUSH_BYTES: isize = 64 * 1024;

/// What a thread is doing for a query: which one, and the bytes not charged yet.
struct Local {
    query: Cell<*const QueryBudget>,
    pending: Cell<isize>,
}

thread_local! {
    // Const-initialised and without a destructor: reachable from the allocator at any time.
    static LOCAL: Local = const {
        Local {
            query: Cell::new(ptr::null()),
            pending: Cell::new(0),
        }
    };
}

/// An allocator (the system's unless named), counting what each query allocates. Install it in a
/// binary that runs queries (`#[global_allocator] static A: kql::budget::CountingAllocator =
/// CountingAllocator(std::alloc::System);`) so memory budgets see every allocation; without it
/// only the engine's own checks before it builds large values apply.
pub struct CountingAllocator<A = System>(pub A);

// SAFETY: every call is forwarded to the wrapped allocator unchanged; the accounting touches only
// thread-locals and atomics, and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the wrapped allocator's.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { self.0.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Charges `delta` bytes to the query the current thread works for, if any.
#[inline]
fn note(delta: isize) {
    let _ = LOCAL.try_with(|l| {
        let q = l.query.get();
        if q.is_null() {
            return;
        }
        let pending = l.pending.get().wrapping_add(delta);
        if pending >= FLUSH_BYTES || pending <= -FLUSH_BYTES {
            l.pending.set(0);
            // SAFETY: `query` is only set by a `Scope`, which holds an `Arc` of the budget for
            // as long as the pointer is set.
            unsafe { &*q }.charge(pending);
        } else {
            l.pending.set(pending);
        }
    });
}

/// Charges the thread's balance to its query now.
fn flush(l: &Local) {
    let pending = l.pending.replace(0);
    let q = l.query.get();
    if pending != 0 && !q.is_null() {
        // SAFETY: as in `note`.
        unsafe { &*q }.charge(pending);
    }
}

/// While alive, the current thread works for a query: its allocations are charged to it.
/// Scopes nest; dropping one restores the query the thread worked for before.
pub struct Scope {
    previous: *const QueryBudget,
    // Keeps the budget the thread-local points at alive (and makes the scope !Send).
    _budget: Arc<QueryBudget>,
}

impl Scope {
    pub(super) fn enter(budget: &Arc<QueryBudget>) -> Scope {
        let previous = LOCAL
            .try_with(|l| {
                flush(l);
                l.query.replace(Arc::as_ptr(budget))
            })
            .unwrap_or(ptr::null());
        Scope {
            previous,
            _budget: Arc::clone(budget),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| {
            flush(l);
            l.query.set(self.previous);
        });
    }
}

/// The budget of the query the current thread works for.
pub(super) fn current() -> Option<Arc<QueryBudget>> {
    let q = LOCAL.try_with(|l| l.query.get()).ok()?;
    if q.is_null() {
        return None;
    }
    // SAFETY: `q` came from `Arc::as_ptr` of a budget a live `Scope` on this thread holds, so
    // the allocation is alive and one more strong reference may be made from it.
    unsafe {
        Arc::increment_strong_count(q);
        Some(Arc::from_raw(q))
    }
}

/// Runs `f` with the budget of the current thread's query, if any (no reference count taken).
pub(super) fn with_current<T>(f: impl FnOnce(&QueryBudget) -> T) -> Option<T> {
    let q = LOCAL.try_with(|l| l.query.get()).ok()?;
    // SAFETY: as in `current`.
    (!q.is_null()).then(|| f(unsafe { &*q }))
}

/// Runs `f` for no query: what it allocates is charged to none (the catalog's shared forms of
/// a table, made once on first use and kept for every later query).
pub(super) fn outside_query<T>(f: impl FnOnce() -> T) -> T {
    /// Restores the thread's query, even if `f` panics.
    struct Restore(*const QueryBudget);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = LOCAL.try_with(|l| {
                flush(l);
                l.query.set(self.0);
            });
        }
    }
    let previous = LOCAL
        .try_with(|l| {
            flush(l);
            l.query.replace(ptr::null())
        })
        .unwrap_or(ptr::null());
    let _restore = Restore(previous);
    f()
}
