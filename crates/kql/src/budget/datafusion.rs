//! The budget on DataFusion: its tasks work for the query that spawned them, and its memory
//! pool is the query's budget.
//!
//! DataFusion runs a plan's partitions as tasks on a shared runtime, interleaved with other
//! queries' tasks on the same worker threads. Every task it spawns goes through
//! `datafusion::common::runtime`'s `JoinSetTracer`; ours wraps the task so each poll enters the
//! budget of the query that spawned it (the thread-local the counting allocator reads).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use datafusion::common::runtime::{JoinSetTracer, set_join_set_tracer};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{MemoryLimit, MemoryPool, MemoryReservation};
use futures::future::BoxFuture;

use super::{MemoryError, QueryBudget};

/// A future that works for a query: every poll enters its budget.
pub(crate) struct InQuery<T> {
    budget: Arc<QueryBudget>,
    inner: BoxFuture<'static, T>,
}

impl<T> InQuery<T> {
    pub(crate) fn new(budget: Arc<QueryBudget>, inner: BoxFuture<'static, T>) -> InQuery<T> {
        InQuery { budget, inner }
    }
}

impl<T> Future for InQuery<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let _scope = this.budget.enter();
        this.inner.as_mut().poll(cx)
    }
}

/// Makes the tasks and blocking closures DataFusion spawns work for the spawning query.
struct FollowQuery;

impl JoinSetTracer for FollowQuery {
    fn trace_future(
        &self,
        fut: BoxFuture<'static, Box<dyn Any + Send>>,
    ) -> BoxFuture<'static, Box<dyn Any + Send>> {
        match super::current() {
            Some(budget) => Box::pin(InQuery::new(budget, fut)),
            None => fut,
        }
    }

    fn trace_block(
        &self,
        f: Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>,
    ) -> Box<dyn FnOnce() -> Box<dyn Any + Send> + Send> {
        match super::current() {
            Some(budget) => Box::new(move || {
                let _scope = budget.enter();
                f()
            }),
            None => f,
        }
    }
}

/// Installs the task tracer (once per process; a second call does nothing).
pub(crate) fn follow_spawned_tasks() {
    static TRACER: FollowQuery = FollowQuery;
    // Already set (by an earlier call) is fine: it is ours.
    let _ = set_join_set_tracer(&TRACER);
}

/// DataFusion's memory pool for one query: its joins, aggregations and sorts reserve from the
/// query's budget. A reservation fails once the query is past its budget (as counted by the
/// allocator) or when the pool's reservations would pass the budget on their own.
#[derive(Debug)]
pub(crate) struct QueryPool {
    budget: Arc<QueryBudget>,
    reserved: AtomicUsize,
}

impl QueryPool {
    pub(crate) fn new(budget: Arc<QueryBudget>) -> QueryPool {
        QueryPool {
            budget,
            reserved: AtomicUsize::new(0),
        }
    }
}

impl std::fmt::Display for QueryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the query's budget: {} of {} bytes reserved",
            self.reserved(),
            self.budget.limit()
        )
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "kql_query_budget"
    }

    fn grow(&self, _: &MemoryReservation, additional: usize) {
        self.reserved.fetch_add(additional, Ordering::Relaxed);
    }

    fn shrink(&self, _: &MemoryReservation, shrink: usize) {
        self.reserved.fetch_sub(shrink, Ordering::Relaxed);
    }

    fn try_grow(&self, _: &MemoryReservation, additional: usize) -> DfResult<()> {
        let exhausted = |e: String| DataFusionError::ResourcesExhausted(e);
        self.budget
            .stopped()
            .map_err(|e| exhausted(e.to_string()))?;
        let limit = self.budget.limit();
        self.reserved
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                r.checked_add(additional).filter(|t| *t <= limit)
            })
            .map_err(|_| {
                self.budget.exceed();
                exhausted(MemoryError::Query { limit }.to_string())
            })?;
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.budget.limit())
    }
}
