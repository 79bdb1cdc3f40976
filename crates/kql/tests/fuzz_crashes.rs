//! Every input the fuzzer (fuzz/, target `parse`) once crashed on must now parse, or fail with
//! an error, without a panic in the lexer, parser or guard.

use std::path::Path;

use kql::{GuardError, KqlError, QueryGuard};

fn internal(e: &KqlError) -> bool {
    matches!(e, KqlError::Runtime { message } if message.contains("internal error"))
}

#[test]
fn fuzz_crash_inputs_give_answers_or_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashes");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if let Err(e) = kql::parse(&text) {
            assert!(!internal(&e), "{}: the parser panicked", path.display());
        }
        let guard = QueryGuard {
            max_query_chars: usize::MAX,
            ..QueryGuard::default()
        };
        if let Err(GuardError::Syntax(e)) = guard.check(&text, None, 0) {
            assert!(!internal(&e), "{}: the guard panicked", path.display());
        }
        checked += 1;
    }
    eprintln!("checked {checked} fuzz crash inputs");
}
