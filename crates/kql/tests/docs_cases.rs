//! Runs the Kusto documentation samples (results recorded on Microsoft's Kusto emulator) on the
//! local engine and guards the share whose columns, types and rows match.

use std::path::PathBuf;

use serde_json::Value as J;

/// The share of comparable cases that matched when this baseline was recorded; never lower it.
const BASELINE_PASS_RATE: f64 = 0.46;

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("KQL_CORPUS_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kql-corpus")
}

fn dotnet(ty: kql::ScalarType) -> &'static str {
    use kql::ScalarType::*;
    match ty {
        Bool => "SByte",
        Int => "Int32",
        Long => "Int64",
        Real => "Double",
        Decimal => "SqlDecimal",
        String => "String",
        DateTime => "DateTime",
        TimeSpan => "TimeSpan",
        Guid => "Guid",
        Dynamic => "Object",
    }
}

fn same_cell(got: &J, want: &J, loose: bool) -> bool {
    match (got, want) {
        (J::Number(a), J::Number(b)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            let tol = if loose { 0.05 } else { 1e-9 };
            (x - y).abs() <= tol * x.abs().max(y.abs()).max(1.0)
        }
        (J::String(a), J::String(b)) => {
            a == b || a.trim_end_matches(".0000000") == b.trim_end_matches(".0000000")
        }
        (J::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_cell(x, y, loose))
        }
        (J::Object(a), J::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_cell(v, w, loose)))
        }
        _ => got == want,
    }
}

fn ordered(kql: &str) -> bool {
    let last = kql.rsplit('|').next().unwrap_or("").trim_start();
    ["sort ", "order ", "top "]
        .iter()
        .any(|p| last.starts_with(p))
}

#[test]
fn documentation_samples_match_the_kusto_emulator_at_or_above_baseline() {
    let path = corpus_dir().join("kql-docs-cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the KQL docs cases are missing at {} ({e}); put shared/kql-corpus beside the repository or set KQL_CORPUS_DIR",
            path.display()
        )
    });
    let (mut total, mut passed) = (0usize, 0usize);
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: J = serde_json::from_str(line).expect("case is JSON");
        let kql_text = case["kql"].as_str().unwrap_or("");
        if [
            "now(",
            "rand(",
            "new_guid(",
            "cursor_current(",
            "current_",
            "sample",
        ]
        .iter()
        .any(|p| kql_text.contains(p))
        {
            continue;
        }
        total += 1;
        let want = &case["expected"];
        let opts = kql::ExecOptions::default();
        let outcome =
            std::panic::catch_unwind(|| kql::execute(&kql::Catalog::new(), kql_text, &opts));
        let result = match outcome {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                failures.push(format!("{}: error: {e}", case["id"]));
                continue;
            }
            Err(_) => {
                failures.push(format!("{}: PANIC", case["id"]));
                continue;
            }
        };
        let names: Vec<J> = result
            .table
            .columns
            .iter()
            .map(|c| J::String(c.name.clone()))
            .collect();
        let types: Vec<J> = result
            .table
            .columns
            .iter()
            .map(|c| J::String(dotnet(c.ty).into()))
            .collect();
        if J::Array(names.clone()) != want["columns"] {
            failures.push(format!(
                "{}: columns {:?} != {}",
                case["id"], names, want["columns"]
            ));
            continue;
        }
        if J::Array(types.clone()) != want["column_types"] {
            failures.push(format!(
                "{}: types {:?} != {}",
                case["id"], types, want["column_types"]
            ));
            continue;
        }
        let got: Vec<J> = result
            .table
            .rows
            .iter()
            .map(|r| J::Array(r.iter().map(kql::Value::to_json).collect()))
            .collect();
        let want_rows = want["rows"].as_array().cloned().unwrap_or_default();
        let loose = ["dcount", "percentile", "tdigest"]
            .iter()
            .any(|p| kql_text.contains(p));
        let take_only = {
            let last = kql_text.rsplit('|').next().unwrap_or("").trim_start();
            (last.starts_with("take ") || last.starts_with("limit "))
                && !kql_text.contains("sort ")
                && !kql_text.contains("order ")
        };
        let ok = if take_only {
            got.len() == want_rows.len()
        } else if ordered(kql_text) {
            got.len() == want_rows.len()
                && got
                    .iter()
                    .zip(&want_rows)
                    .all(|(a, b)| same_cell(a, b, loose))
        } else {
            let mut remaining = want_rows.clone();
            got.len() == want_rows.len()
                && got.iter().all(
                    |g| match remaining.iter().position(|w| same_cell(g, w, loose)) {
                        Some(p) => {
                            remaining.swap_remove(p);
                            true
                        }
                        None => false,
                    },
                )
        };
        if ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{}: rows {:?} != {}",
                case["id"],
                got.iter().take(3).collect::<Vec<_>>(),
                J::Array(want_rows.into_iter().take(3).collect())
            ));
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    let rate = passed as f64 / total.max(1) as f64;
    eprintln!(
        "matched {passed} of {total} documentation cases ({:.2}%)",
        rate * 100.0
    );
    assert!(
        total > 500,
        "expected over 500 comparable cases, found {total}"
    );
    assert!(
        rate >= BASELINE_PASS_RATE,
        "match rate {rate:.4} fell below the baseline {BASELINE_PASS_RATE}"
    );
}
