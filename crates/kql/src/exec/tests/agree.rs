//! The engine tests' second run: every query forced onto DataFusion, compared with the normal
//! run (see `super::both`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

// The cell comparison `tests/engines_agree.rs` uses, one file for both.
#[path = "../../../tests/common/cells.rs"]
mod cells;
use cells::shape;

/// Queries both runs compared, and those of them DataFusion really ran (not a fallback).
pub(super) static COMPARED: AtomicUsize = AtomicUsize::new(0);
pub(super) static ON_DATAFUSION: AtomicUsize = AtomicUsize::new(0);

/// Functions whose answers differ from run to run, so two runs cannot be compared.
const NONDETERMINISTIC: [&str; 3] = ["new_guid(", "rand(", "sample "];

pub(super) fn check(
    catalog: &Catalog,
    q: &str,
    opts: &ExecOptions,
    auto: &Result<QueryResult, KqlError>,
) {
    if NONDETERMINISTIC.iter().any(|f| q.contains(f)) {
        return;
    }
    let fused = execute_on(Executor::DataFusion, catalog, q, opts);
    let on_df = matches!(&fused, Ok(r) if r.executor == Executor::DataFusion);
    let compared = COMPARED.fetch_add(1, Ordering::Relaxed) + 1;
    let lowered =
        ON_DATAFUSION.fetch_add(usize::from(on_df), Ordering::Relaxed) + usize::from(on_df);
    // `cargo test -- --nocapture` shows which queries ran where and the running totals.
    let ran = match &fused {
        Ok(r) if r.executor == Executor::DataFusion => "datafusion",
        Ok(_) => "rows",
        Err(_) => "error",
    };
    let short: String = q.chars().take(160).collect();
    eprintln!("executors: {ran} ({lowered} of {compared} on DataFusion so far): {short}");
    match (auto, &fused) {
        (Ok(a), Ok(b)) => {
            let (sa, sb) = (shape(a, sorts(q)), shape(b, sorts(q)));
            assert_eq!(sa.0, sb.0, "the engines disagree on the columns of {q}");
            assert_eq!(sa.1, sb.1, "the engines disagree on the rows of {q}");
        }
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "the engines fail differently on {q}"
        ),
        (a, b) => panic!(
            "the engines disagree on {q}:\n  auto       {:?}\n  datafusion {:?}",
            a.as_ref().map(|r| &r.table.rows),
            b.as_ref().map(|r| &r.table.rows)
        ),
    }
}

/// Whether the query fixes its rows' order, so the engines must agree on it.
fn sorts(q: &str) -> bool {
    ["sort by", "order by", "top ", "serialize"]
        .iter()
        .any(|s| q.contains(s))
}
