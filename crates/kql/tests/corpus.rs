//! Parses every query of the real-world hunting corpus and guards the share that parses.

mod common;

/// The share of corpus queries that parsed when this baseline was recorded; never lower it.
const BASELINE_PARSE_RATE: f64 = 0.992;

#[test]
fn hunting_corpus_parse_rate_stays_at_or_above_baseline() {
    let text = common::corpus_text("hunting-queries.jsonl");
    let mut total = 0usize;
    let mut parsed = 0usize;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let query = record["query"].as_str().expect("corpus record has a query");
        total += 1;
        match kql::parse(query) {
            Ok(_) => parsed += 1,
            Err(e) => failures.push(format!("{}: {e}", record["path"].as_str().unwrap_or("?"))),
        }
    }
    let rate = parsed as f64 / total as f64;
    for f in failures.iter().take(400) {
        eprintln!("{f}");
    }
    eprintln!(
        "parsed {parsed} of {total} corpus queries ({:.2}%)",
        rate * 100.0
    );
    assert!(
        total > 1000,
        "the corpus should hold over 1,000 queries, found {total}"
    );
    assert!(
        rate >= BASELINE_PARSE_RATE,
        "parse rate {rate:.4} fell below the baseline {BASELINE_PARSE_RATE}"
    );
}
