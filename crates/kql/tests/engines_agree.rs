//! DataFusion and the row engine (the reference for Kusto's semantics) give the same answers.
//!
//! Every Kusto documentation sample and every real hunting query (over a small demo workspace)
//! that DataFusion's planner lowers runs on both engines; columns, types and rows (as multisets)
//! must agree. The share of runnable queries the planner lowers is guarded too, so coverage
//! cannot silently fall back to the row engine.
#![cfg(feature = "datafusion")]

#[path = "common/cells.rs"]
mod cells;
mod common;

use cells::shape;
use kql::{Catalog, ExecOptions, Executor, QueryResult, Value};

/// How many runnable queries DataFusion ran when this baseline was recorded (all 1,385: a
/// lowered query calling `rand()` or `sample` is not compared, nor counted as runnable); never
/// lower it. A count, not a share: a query that becomes runnable through an operator only the
/// row engine has (`partition` of a subquery other than one `top` or `take`) must not count
/// against DataFusion.
const BASELINE_LOWERED: usize = 1_385;

/// Functions whose answers differ from run to run, so two runs cannot be compared.
const NONDETERMINISTIC: [&str; 3] = ["new_guid(", "rand(", "sample "];

fn corpus(name: &str) -> Vec<String> {
    common::corpus_text(name)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|j| {
            j.get("kql")
                .or_else(|| j.get("query"))
                .and_then(|q| q.as_str())
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn datafusion_and_the_row_engine_agree_on_every_lowered_query() {
    let now = kql::value::datetime_to_ticks(
        chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .expect("a datetime")
            .to_utc(),
    );
    let catalog: Catalog = sentinel_demo::workspace(sentinel_demo::SEED, 4_000, now);
    let opts = ExecOptions {
        now,
        ..ExecOptions::default()
    };
    let mut queries = corpus("kql-docs-cases.jsonl");
    queries.extend(corpus("hunting-queries.jsonl"));
    let (mut runnable, mut lowered) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    let mut reasons = std::collections::HashMap::new();
    for q in &queries {
        let rows = kql::execute_on(Executor::Rows, &catalog, q, &opts);
        if rows.is_ok() {
            runnable += 1;
        }
        if let Err(why) = kql::explain(&catalog, q, &opts) {
            if rows.is_ok() {
                *reasons.entry(why).or_insert(0usize) += 1;
            }
            continue;
        }
        if NONDETERMINISTIC.iter().any(|f| q.contains(f)) {
            runnable -= usize::from(rows.is_ok());
            continue;
        }
        let fused = kql::execute_on(Executor::DataFusion, &catalog, q, &opts);
        match (&fused, &rows) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.executor, Executor::DataFusion, "{q}");
                lowered += 1;
                let (sa, sb) = (shape(a, false), shape(b, false));
                if sa.0 != sb.0 {
                    disagreements.push(format!("{q}\n  columns {:?}\n  rows    {:?}", sa.0, sb.0));
                } else if sa.1 != sb.1 {
                    let first = sa.1.iter().zip(&sb.1).find(|(x, y)| x != y);
                    disagreements.push(format!(
                        "{q}\n  {} vs {} rows; first difference {first:?}",
                        sa.1.len(),
                        sb.1.len()
                    ));
                }
            }
            (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
            _ => disagreements.push(format!(
                "{q}\n  datafusion {:?}\n  rows       {:?}",
                fused.as_ref().map(|r| r.table.rows.len()),
                rows.as_ref().map(|r| r.table.rows.len())
            )),
        }
    }
    let share = lowered as f64 / runnable.max(1) as f64;
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (why, n) in reasons.iter().take(25) {
        eprintln!(
            "{n:5} left to the row engine: {}",
            why.lines().next().unwrap_or_default()
        );
    }
    eprintln!(
        "DataFusion ran {lowered} of {runnable} runnable queries ({:.1}%); {} disagreements",
        share * 100.0,
        disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "the engines disagree on {} queries:\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
    assert!(
        lowered >= BASELINE_LOWERED,
        "DataFusion ran {lowered} runnable queries, below the baseline {BASELINE_LOWERED}"
    );
}
