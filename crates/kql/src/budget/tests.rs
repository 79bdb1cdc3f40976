use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::*;

const MB: usize = 1 << 20;

/// `n` bytes the optimizer cannot remove.
fn block(n: usize) -> Vec<u8> {
    black_box(vec![7u8; n])
}

#[test]
fn what_a_query_s_thread_allocates_is_charged_and_what_it_frees_is_credited() {
    assert!(counting_allocator_installed());
    let budget = QueryBudget::new(1 << 30, None, None);
    {
        let _scope = budget.enter();
        let b = block(10 * MB);
        assert!(budget.used.load(Ordering::Relaxed) >= 10 * MB as isize);
        drop(b);
        assert!(budget.used.load(Ordering::Relaxed) < MB as isize);
    }
    assert!(budget.peak() >= 10 * MB, "{}", budget.peak());
    // Outside the scope nothing is charged.
    let peak = budget.peak();
    let b = block(20 * MB);
    drop(b);
    assert_eq!(budget.peak(), peak);
}

#[test]
fn past_its_limit_a_query_is_stopped_with_an_error_naming_the_limit_and_the_setting() {
    let budget = QueryBudget::new(4 * MB, None, None);
    let scope = budget.enter();
    assert_eq!(budget.stopped(), Ok(()));
    let b = block(8 * MB);
    drop(b);
    drop(scope);
    let err = budget.stopped().expect_err("stopped");
    assert_eq!(err, KqlError::Memory(MemoryError::Query { limit: 4 * MB }));
    let text = err.to_string();
    assert!(
        text.contains("more than 4 MB") && text.contains("SENTINEL_MCP_QUERY_MEMORY_MB"),
        "{text}"
    );
    // Stopped for good, even once the memory is freed.
    assert!(budget.check_deadline().is_err());
}

#[test]
fn reserve_refuses_what_would_not_fit_and_fits_only_answers() {
    let budget = QueryBudget::new(8 * MB, None, None);
    let _scope = budget.enter();
    assert!(fits(4 * MB));
    assert!(!fits(16 * MB));
    assert_eq!(budget.stopped(), Ok(()), "fits does not stop the query");
    assert_eq!(reserve(4 * MB), Ok(()));
    assert_eq!(
        reserve(16 * MB),
        Err(KqlError::Memory(MemoryError::Query { limit: 8 * MB }))
    );
    assert!(check().is_err(), "a refused reservation stops the query");
}

#[test]
fn a_thread_working_for_no_query_is_never_stopped() {
    assert_eq!(check(), Ok(()));
    assert_eq!(reserve(usize::MAX), Ok(()));
    assert!(fits(usize::MAX));
    assert!(current().is_none());
}

#[test]
fn scopes_nest_and_outside_query_charges_no_one() {
    let outer = QueryBudget::new(1 << 30, None, None);
    let inner = QueryBudget::new(1 << 30, None, None);
    let _o = outer.enter();
    {
        let _i = inner.enter();
        assert!(Arc::ptr_eq(&current().unwrap(), &inner));
        black_box(block(4 * MB));
    }
    assert!(Arc::ptr_eq(&current().unwrap(), &outer));
    let kept = outside_query(|| block(6 * MB));
    assert!(Arc::ptr_eq(&current().unwrap(), &outer));
    assert!(inner.peak() >= 4 * MB);
    assert!(outer.peak() < MB, "{}", outer.peak());
    drop(kept);
}

#[test]
fn cancellation_and_the_deadline_stop_a_query() {
    let cancel = Arc::new(AtomicBool::new(false));
    let budget = QueryBudget::new(1 << 30, None, Some(Arc::clone(&cancel)));
    assert_eq!(budget.stopped(), Ok(()));
    cancel.store(true, Ordering::Relaxed);
    assert_eq!(budget.stopped(), Err(KqlError::Cancelled));

    let past = QueryBudget::new(1 << 30, Some(Instant::now()), None);
    assert_eq!(
        past.stopped(),
        Ok(()),
        "the deadline is read by check_deadline"
    );
    assert_eq!(past.check_deadline(), Err(KqlError::Cancelled));
    assert_eq!(past.stopped(), Err(KqlError::Cancelled));
}

#[test]
fn queries_share_the_engine_budget_and_give_it_back() {
    let engine = EngineMemory::new(32 * MB);
    let first = engine.admit(32 * MB, None, None).expect("admitted");
    let held = {
        let _s = first.enter();
        block(20 * MB)
    };
    assert!(engine.used() >= 20 * MB);
    // 12 MB are left, more than a quarter of the second query's share: it starts, and is
    // stopped at what is left, naming the engine's setting.
    let second = engine.admit(32 * MB, None, None).expect("admitted");
    {
        let _s = second.enter();
        drop(block(16 * MB));
    }
    let err = second.stopped().expect_err("past the engine budget");
    assert_eq!(
        err,
        KqlError::Memory(MemoryError::Engine { limit: 32 * MB })
    );
    assert!(
        err.to_string().contains("SENTINEL_MCP_ENGINE_MEMORY_MB"),
        "{err}"
    );
    assert_eq!(
        first.stopped(),
        Ok(()),
        "the first query is within both budgets"
    );
    drop(held);
    first.release();
    second.release();
    assert!(engine.used() < MB, "{}", engine.used());
}

#[test]
fn a_query_waits_for_memory_and_is_refused_when_none_is_freed_in_time() {
    let engine = EngineMemory::new(16 * MB);
    let running = engine.admit(16 * MB, None, None).expect("admitted");
    let held = {
        let _s = running.enter();
        block(15 * MB)
    };
    let err = engine
        .admit(
            16 * MB,
            Some(Instant::now() + Duration::from_millis(200)),
            None,
        )
        .expect_err("refused");
    assert!(
        matches!(err, KqlError::Memory(MemoryError::Busy { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("SENTINEL_MCP_ENGINE_MEMORY_MB"),
        "{err}"
    );

    // Freed while another waits: that one starts.
    let waiter = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            engine
                .admit(
                    16 * MB,
                    Some(Instant::now() + Duration::from_secs(60)),
                    None,
                )
                .map(|_| ())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    drop(held);
    running.release();
    assert_eq!(waiter.join().expect("joined"), Ok(()));
}

#[test]
fn a_waiting_query_stops_waiting_when_cancelled() {
    let engine = EngineMemory::new(16 * MB);
    let running = engine.admit(16 * MB, None, None).expect("admitted");
    let _held = {
        let _s = running.enter();
        block(15 * MB)
    };
    let cancel = Arc::new(AtomicBool::new(true));
    let err = engine
        .admit(16 * MB, None, Some(cancel))
        .expect_err("cancelled");
    assert_eq!(err, KqlError::Cancelled);
}

#[test]
fn a_released_query_charges_the_engine_no_more() {
    let engine = EngineMemory::new(1 << 30);
    let q = engine.admit(1 << 30, None, None).expect("admitted");
    let _s = q.enter();
    let b = block(4 * MB);
    q.release();
    assert!(engine.used() < MB);
    // A straggler freeing or allocating after the release leaves the engine's count alone.
    drop(b);
    black_box(block(8 * MB));
    assert!(engine.used() < MB, "{}", engine.used());
}
