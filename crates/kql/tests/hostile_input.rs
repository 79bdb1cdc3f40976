//! Mutated real queries: the parser and engine must answer every one with a result or an
//! error, never a panic or a stack overflow.

mod common;

use rand::{Rng, SeedableRng};

fn mutate(query: &str, rng: &mut rand::rngs::StdRng) -> String {
    let chars: Vec<char> = query.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let at = rng.random_range(0..chars.len());
    let pieces = [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "|",
        "'",
        "\"",
        "@\"",
        "```",
        "!",
        "=~",
        "..",
        ",",
        ";",
        "-",
        "\u{202F}",
        "dynamic(",
        "datetime(",
        "$left.",
        "é",
        "—",
        "```é",
        "h@'",
    ];
    let mut out: Vec<char> = chars.clone();
    match rng.random_range(0..5) {
        0 => out.truncate(at),
        1 => {
            out.remove(at);
        }
        2 => {
            let piece = pieces[rng.random_range(0..pieces.len())];
            for (i, c) in piece.chars().enumerate() {
                out.insert(at + i, c);
            }
        }
        3 => {
            let end = (at + rng.random_range(1..40)).min(chars.len());
            let slice: Vec<char> = chars[at..end].to_vec();
            for (i, c) in slice.into_iter().enumerate() {
                out.insert(at + i, c);
            }
        }
        _ => {
            let other = rng.random_range(0..chars.len());
            out.swap(at, other);
        }
    }
    out.into_iter().collect()
}

#[test]
fn mutated_corpus_queries_never_panic() {
    let text = common::corpus_text("hunting-queries.jsonl");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x004b_514c);
    let catalog = kql::Catalog::new();
    // A small workspace with the tables the queries name, so DataFusion plans and runs them.
    let demo = sentinel_demo::workspace(sentinel_demo::SEED, 2_000, 0);
    let opts = kql::ExecOptions::default();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let query = record["query"].as_str().unwrap_or("");
        for i in 0..4 {
            let q = mutate(query, &mut rng);
            if i == 0
                && let Err(kql::KqlError::Runtime { message }) =
                    kql::execute_on(kql::Executor::DataFusion, &demo, &q, &opts)
            {
                assert!(
                    !message.contains("internal error"),
                    "DataFusion path panicked on: {q}"
                );
            }
            if let Err(kql::KqlError::Runtime { message }) = kql::parse(&q) {
                assert!(
                    !message.contains("internal error"),
                    "parser panicked on: {q}"
                );
            }
            if let Err(kql::KqlError::Runtime { message }) = kql::execute(&catalog, &q, &opts) {
                assert!(
                    !message.contains("internal error"),
                    "engine panicked on: {q}"
                );
            }
        }
    }
}

#[test]
fn pathological_nesting_is_rejected_not_overflowed() {
    for q in [
        format!("print {}", "dynamic([".repeat(10_000)),
        format!("print {}1", "-".repeat(100_000)),
        format!("T | where {}", "not(".repeat(10_000)),
        format!("print 1{}", " * 2".repeat(100_000)),
        format!("let f = () {{ {} }}; f()", "(".repeat(10_000)),
        "print '".repeat(1000),
    ] {
        assert!(kql::parse(&q).is_err());
        assert!(kql::execute(&kql::Catalog::new(), &q, &kql::ExecOptions::default()).is_err());
    }
}
