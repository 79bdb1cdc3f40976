//! The engine tests' second run: every query forced onto DataFusion, compared with the normal
//! run (see `super::both`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

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
            let (sa, sb) = (shape(a, q), shape(b, q));
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

/// A cell as comparable text (reals to 9 significant digits: the engines sum in other orders,
/// and DataFusion's tables keep dynamic values as JSON text, whose reals read back to the last
/// digit or so).
fn cell(v: &Value) -> String {
    match v {
        Value::Real(x) | Value::Decimal(x) => format!("{x:.9e}"),
        Value::Dynamic(d) => format!("Dynamic({})", json_cell(d)),
        other => format!("{other:?}"),
    }
}

fn json_cell(j: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match j {
        J::Number(n) if !(n.is_i64() || n.is_u64()) => {
            format!("{:.9e}", n.as_f64().unwrap_or(f64::NAN))
        }
        J::Array(items) => format!(
            "[{}]",
            items.iter().map(json_cell).collect::<Vec<_>>().join(",")
        ),
        J::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k:?}:{}", json_cell(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

fn shape(r: &QueryResult, q: &str) -> (Vec<String>, Vec<String>) {
    let columns = r
        .table
        .columns
        .iter()
        .map(|c| format!("{}:{}", c.name, c.ty))
        .collect();
    let mut rows: Vec<String> = r
        .table
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(" | "))
        .collect();
    if !sorts(q) {
        rows.sort();
    }
    (columns, rows)
}
