//! Every real hunting query of the corpus, run through the CLI (`sentinel-mcp query --batch`)
//! against the default demo workspace: how many run without error and how many find rows.
//!
//! The workspace is the default demo's story with a twelfth of its benign rows
//! (`SENTINEL_MCP_DEMO_ROWS=10000`): the story's rows, which the hunting queries find, are the
//! same at any size, and the smaller noise keeps this test to well under a minute of a debug build.
//!
//! Queries the guard refuses by design (`externaldata` and the plugins that reach the network or
//! run code) are left out; every other failure counts, whatever its cause. The floors are what
//! the workspace reached when they were set; never lower them. The report lists the commonest
//! remaining failures.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use common::BIN;
use serde_json::Value;

/// Share of the counted queries that ran without error when this floor was set.
const RAN_FLOOR: f64 = 0.899;
/// Share of the counted queries that returned at least one row when this floor was set.
const ROWS_FLOOR: f64 = 0.37;

/// The demo's size for this test (its default is 120,000 rows).
const DEMO_ROWS: &str = "10000";

fn corpus() -> PathBuf {
    std::env::var("KQL_CORPUS_DIR")
        .map_or_else(
            |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/kql-corpus"),
            PathBuf::from,
        )
        .join("hunting-queries.jsonl")
}

/// An error message without its positions and numbers, to group failures; quoted names (the
/// missing table, column or function) stay, as they say what to add.
fn kind(error: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in error.chars() {
        match (quoted, c) {
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (None, c) if c.is_ascii_digit() => {
                if !out.ends_with('N') {
                    out.push('N');
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out.chars().take(110).collect()
}

#[test]
fn hunting_corpus_runs_and_finds_rows_in_the_demo_workspace() {
    let path = corpus();
    assert!(
        path.exists(),
        "the KQL corpus is missing at {}; it is committed under testdata/kql-corpus, or set KQL_CORPUS_DIR",
        path.display()
    );
    let out = Command::new(BIN)
        .args(["query", "--batch"])
        .arg(&path)
        .env("SENTINEL_MCP_DEMO_ROWS", DEMO_ROWS)
        .env("SENTINEL_MCP_STATE_DIR", common::temp_dir("corpus"))
        .env("RUST_LOG", "error")
        .output()
        .expect("sentinel-mcp runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let queries = std::fs::read_to_string(&path)
        .expect("the corpus")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(results.len(), queries, "one result per query");

    let (mut counted, mut refused, mut ran, mut with_rows) = (0usize, 0usize, 0usize, 0usize);
    let mut failures: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &results {
        match r["error"].as_str() {
            Some(e)
                if e.contains("no externaldata") || e.contains("no network or code plugins") =>
            {
                refused += 1;
            }
            Some(e) => {
                counted += 1;
                failures
                    .entry(kind(e))
                    .or_default()
                    .push(r["line"].as_u64().unwrap_or(0));
            }
            None => {
                counted += 1;
                ran += 1;
                with_rows += usize::from(r["rows"].as_u64().unwrap_or(0) > 0);
            }
        }
    }
    let share = |n: usize| n as f64 / counted.max(1) as f64;
    eprintln!(
        "{queries} corpus queries, {refused} refused by design (externaldata, network plugins); of the {counted} others {ran} ran without error ({:.1}%) and {with_rows} returned rows ({:.1}%)",
        share(ran) * 100.0,
        share(with_rows) * 100.0
    );
    let mut failures: Vec<(String, Vec<u64>)> = failures.into_iter().collect();
    failures.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for (kind, lines) in failures.iter().take(25) {
        eprintln!(
            "{:4} {kind} (lines {:?})",
            lines.len(),
            &lines[..lines.len().min(5)]
        );
    }
    assert!(
        share(ran) >= RAN_FLOOR,
        "{:.3} of the corpus ran, below the floor {RAN_FLOOR}",
        share(ran)
    );
    assert!(
        share(with_rows) >= ROWS_FLOOR,
        "{:.3} of the corpus returned rows, below the floor {ROWS_FLOOR}",
        share(with_rows)
    );
}
