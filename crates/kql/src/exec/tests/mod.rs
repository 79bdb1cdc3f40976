//! Evaluator behaviour, one operator or function at a time, on a small catalog: operators,
//! functions, aggregates and errors each in a file.

use super::*;
use std::time::Instant;

use crate::error::Location;
use crate::value::TICKS_PER_SECOND;
use crate::value::table::Column;

const HOUR: i64 = 3600 * TICKS_PER_SECOND;
/// 2024-01-02T00:00:00Z.
const NOW: i64 = 1_704_153_600 * TICKS_PER_SECOND;

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    let cols = vec![
        Column::new("TimeGenerated", ScalarType::DateTime),
        Column::new("UserPrincipalName", ScalarType::String),
        Column::new("ResultType", ScalarType::Long),
        Column::new("IPAddress", ScalarType::String),
        Column::new("Props", ScalarType::Dynamic),
    ];
    let row = |h: i64, u: &str, r: i64, ip: &str, p: serde_json::Value| {
        vec![
            Value::DateTime(NOW - h * HOUR),
            Value::str(u),
            Value::Long(r),
            Value::str(ip),
            Value::dynamic(p),
        ]
    };
    let rows = vec![
        row(
            1,
            "alice@contoso.com",
            0,
            "10.0.0.1",
            serde_json::json!({"app": "Teams", "tags": ["a", "b"]}),
        ),
        row(
            2,
            "bob@contoso.com",
            50126,
            "203.0.113.5",
            serde_json::json!({"app": "Outlook", "tags": []}),
        ),
        row(
            3,
            "alice@contoso.com",
            50126,
            "203.0.113.5",
            serde_json::json!({"app": "Teams", "tags": ["c"]}),
        ),
        row(
            30,
            "carol@contoso.com",
            0,
            "192.168.1.9",
            serde_json::json!({"app": "Portal"}),
        ),
    ];
    c.insert(
        "SigninLogs",
        Table {
            columns: cols,
            rows,
        },
    );
    c.insert(
        "Users",
        Table {
            columns: vec![
                Column::new("UPN", ScalarType::String),
                Column::new("Dept", ScalarType::String),
            ],
            rows: vec![
                vec![Value::str("alice@contoso.com"), Value::str("Sales")],
                vec![Value::str("bob@contoso.com"), Value::str("IT")],
                vec![Value::str("dave@contoso.com"), Value::str("HR")],
            ],
        },
    );
    c
}

fn opts() -> ExecOptions {
    ExecOptions {
        now: NOW,
        ..ExecOptions::default()
    }
}

fn run(q: &str) -> QueryResult {
    both(&catalog(), q, &opts()).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn err(q: &str) -> KqlError {
    both(&catalog(), q, &opts()).expect_err(q)
}

/// [`execute`], and with the `datafusion` feature the same query forced onto DataFusion too: the
/// small test catalog is below `datafusion::MIN_ROWS`, so `Executor::Auto` alone would leave
/// every query here to the row engine. Both runs must give the same columns, types and rows
/// (or the same error); rows are compared in order when the query sorts, else as multisets (the
/// rules of `tests/engines_agree.rs`). A query DataFusion's planner does not lower falls back to
/// the row engine; `agree` counts how many queries DataFusion really ran.
fn both(catalog: &Catalog, q: &str, opts: &ExecOptions) -> Result<QueryResult, KqlError> {
    let auto = execute(catalog, q, opts);
    #[cfg(feature = "datafusion")]
    agree::check(catalog, q, opts, &auto);
    auto
}

#[cfg(feature = "datafusion")]
mod agree;

fn cell(q: &str) -> Value {
    let r = run(q);
    r.table
        .rows
        .first()
        .and_then(|row| row.first())
        .cloned()
        .unwrap_or(Value::Null)
}

fn names(t: &Table) -> Vec<&str> {
    t.columns.iter().map(|c| c.name.as_str()).collect()
}

mod aggregates;
mod encodings;
mod errors;
mod functions;
mod geo;
mod operators;
mod progress;
mod series_and_time;

/// A range of ticks whose next step would pass the ends of `i64` ends at its last value inside
/// them (it used to saturate at the bound and give that bound for ever).
#[test]
fn a_ticks_range_ends_at_the_ends_of_i64() {
    let ticks = |next, end, step| RangeSteps::Ints {
        next,
        end,
        step,
        ty: ScalarType::TimeSpan,
    };
    let up: Vec<Value> = ticks(i64::MAX - 5, i64::MAX, 2).take(10).collect();
    let want = [i64::MAX - 5, i64::MAX - 3, i64::MAX - 1].map(Value::TimeSpan);
    assert_eq!(up, want);
    let down: Vec<Value> = ticks(i64::MIN + 1, i64::MIN, -1).take(10).collect();
    assert_eq!(down, [i64::MIN + 1, i64::MIN].map(Value::TimeSpan));
    let mut chunks = ticks(i64::MAX - 1, i64::MAX, 1);
    assert_eq!(
        chunks.next_ints(10),
        Some(vec![Some(i64::MAX - 1), Some(i64::MAX)])
    );
    assert_eq!(chunks.next_ints(10), Some(vec![]));
}

/// A range of longs counts in integers, as Kusto's longs do: past 2^53, where floats skip odd
/// numbers, every long is there, and at the end of `i64` it stops. A real bound ends the range at
/// the last long inside it; a decimal step still gives each value's truncation.
#[test]
fn a_long_range_is_exact_past_2_to_the_53() {
    const BIG: i64 = 9_007_199_254_740_993;
    let longs = |q: &str| -> Vec<Value> {
        let r = run(q);
        assert_eq!(r.table.columns[0].ty, ScalarType::Long, "{q}");
        r.table
            .rows
            .into_iter()
            .map(|mut row| row.remove(0))
            .collect()
    };
    let want = |xs: &[i64]| xs.iter().map(|x| Value::Long(*x)).collect::<Vec<_>>();
    assert_eq!(
        longs(&format!("range i from {BIG} to {} step 1", BIG + 2)),
        want(&[BIG, BIG + 1, BIG + 2])
    );
    assert_eq!(
        longs(&format!("range i from -{BIG} to -{} step -1", BIG + 1)),
        want(&[-BIG, -BIG - 1])
    );
    assert_eq!(
        longs("range i from 9223372036854775800 to 9223372036854775807 step 5"),
        want(&[i64::MAX - 7, i64::MAX - 2])
    );
    assert_eq!(
        longs("range i from 1 to 9.5 step 2"),
        want(&[1, 3, 5, 7, 9])
    );
    assert_eq!(
        longs("range i from 10 to 0.5 step -3"),
        want(&[10, 7, 4, 1])
    );
    assert_eq!(longs("range i from 1 to 2.5 step -1"), want(&[]));
    // 1, 1.75 and 2.5 truncated; 3.25 is past the end.
    assert_eq!(
        longs("range i from 1 to 3 step decimal(0.75)"),
        want(&[1, 1, 2])
    );
    // The typed fold reads the range a chunk at a time.
    let r = run(&format!(
        "range i from {BIG} to {} step 1 | summarize n = count(), lo = min(i), hi = max(i)",
        BIG + 2_000
    ));
    assert_eq!(r.table.rows, vec![want(&[2_001, BIG, BIG + 2_000])]);
}

/// A range's values as the iterator makes them, and as `next_ints` or `next_reals` give them two
/// at a time (as the typed fold reads a range a chunk at a time); the other kind gives none.
#[test]
fn range_chunks_give_the_iterators_values() {
    let numbers = RangeSteps::numbers;
    let ints = |next, end, step, ty| RangeSteps::Ints {
        next,
        end,
        step,
        ty,
    };
    let ranges = [
        // Longs of a fractional (decimal) step: each value the float's truncation.
        numbers(-2.0, 3.0, 0.75, false),
        numbers(0.5, 4.0, 1.0, false),
        numbers(0.0, 1.0, 0.1, true),
        numbers(0.0, 9.5, 2.0, true),
        numbers(1.0, f64::NEG_INFINITY, 1.0, true),
        ints(1, 10, 3, ScalarType::Long),
        ints(5, -6, -2, ScalarType::Long),
        ints(3, 1, 1, ScalarType::Long),
        // Across 2^53, where floats would skip odd longs.
        ints(
            9_007_199_254_740_985,
            9_007_199_254_741_000,
            1,
            ScalarType::Long,
        ),
        ints(
            -9_007_199_254_740_985,
            -9_007_199_254_741_000,
            -3,
            ScalarType::Long,
        ),
        // The whole of i64 in one step, and steps that end exactly on a bound of it.
        ints(i64::MIN, i64::MAX, i64::MAX, ScalarType::Long),
        ints(10, -10, -7, ScalarType::TimeSpan),
        ints(NOW, NOW + 5 * HOUR, HOUR, ScalarType::DateTime),
        ints(0, 0, 1, ScalarType::TimeSpan),
        ints(i64::MAX - 5, i64::MAX, 2, ScalarType::TimeSpan),
        ints(i64::MIN + 5, i64::MIN, -3, ScalarType::DateTime),
        ints(i64::MAX - 4, i64::MAX, 2, ScalarType::Long),
    ];
    for range in ranges {
        let expected: Vec<Value> = range.clone().collect();
        let mut steps = range.clone();
        // Two at a time until fewer come: the range's end.
        let chunks = std::iter::from_fn(|| {
            let chunk = match range.ty() {
                ScalarType::Real => {
                    let reals = steps.next_reals(2)?;
                    reals.iter().flatten().map(|x| Value::Real(*x)).collect()
                }
                ty => {
                    let ints = steps.next_ints(2)?;
                    ints.iter()
                        .flatten()
                        .map(|x| match ty {
                            ScalarType::DateTime => Value::DateTime(*x),
                            ScalarType::TimeSpan => Value::TimeSpan(*x),
                            _ => Value::Long(*x),
                        })
                        .collect::<Vec<_>>()
                }
            };
            Some(chunk)
        });
        let mut filled = Vec::new();
        for chunk in chunks {
            let last = chunk.len() < 2;
            filled.extend(chunk);
            if last {
                break;
            }
        }
        match range.ty() {
            ScalarType::Real => assert!(range.clone().next_ints(2).is_none()),
            _ => assert!(range.clone().next_reals(2).is_none()),
        }
        assert_eq!(filled, expected, "{:?}", range.ty());
    }
}

/// A range summarized a chunk (1,024 values) at a time counts every value, whether it ends
/// inside a chunk, on a chunk's end or just past it.
#[test]
fn a_summarized_range_counts_every_value_across_chunks() {
    for n in [1, 1023, 1024, 1025, 2048, 2049] {
        let r = run(&format!(
            "range i from 1 to {n} step 1 | summarize c = count(), s = sum(i), m = max(i)"
        ));
        assert_eq!(
            r.table.rows,
            vec![vec![
                Value::Long(n),
                Value::Long(n * (n + 1) / 2),
                Value::Long(n)
            ]],
            "{n}"
        );
    }
}
