//! A result as comparable text, for the tests that hold the two executors to one answer:
//! `tests/engines_agree.rs` (the corpus) and the engine's unit tests (`src/exec/tests/agree.rs`),
//! which both include this file by path. `Value` is the including module's: `kql::Value` in the
//! one, the crate's own in the other.

use super::{QueryResult, Value};

/// A cell as comparable text (reals to 9 significant digits: the engines sum in other orders,
/// and DataFusion's tables keep dynamic values as JSON text, whose reals read back to the last
/// digit or so).
pub fn cell(v: &Value) -> String {
    match v {
        Value::Real(x) => format!("{x:.9e}"),
        // DataFusion keeps decimals as reals: compared as reals too.
        Value::Decimal(d) => format!("{:.9e}", d.to_f64()),
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

/// A result's columns and rows as comparable text; rows sorted unless `ordered` (the query
/// fixes their order, so the executors must agree on it too).
pub fn shape(r: &QueryResult, ordered: bool) -> (Vec<String>, Vec<String>) {
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
    if !ordered {
        rows.sort();
    }
    (columns, rows)
}
