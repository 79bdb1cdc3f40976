//! Arbitrary UTF-8 into the lexer, the parser and the guard: none may panic, overflow or hang.
#![no_main]

use kql::{KqlError, QueryGuard};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `kql::parse` turns a panic on its worker thread into this error; the fuzzer must see it.
    let internal = |e: &KqlError| matches!(e, KqlError::Runtime { message } if message.contains("internal error"));
    if let Err(e) = kql::parse(text) {
        assert!(!internal(&e), "the parser panicked on {text:?}");
    }
    let guard = QueryGuard {
        max_query_chars: usize::MAX,
        ..QueryGuard::default()
    };
    if let Err(kql::GuardError::Syntax(e)) = guard.check(text, None, 0) {
        assert!(!internal(&e), "the guard panicked on {text:?}");
    }
});
