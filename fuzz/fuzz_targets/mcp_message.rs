//! Arbitrary bytes as a `POST /messages` / `POST /mcp` body, through everything it meets before a
//! tool runs (the HTTP checks' JSON-RPC head, the legacy fast-path decoder, rmcp's message
//! decoding, the refusal of a bad body, tool argument decoding): none may panic, and the fast path
//! must decode every message exactly as rmcp does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Err(e) = sentinel_mcp::http::sse::check_post_body(body) {
        panic!("{e}: {:?}", String::from_utf8_lossy(body));
    }
});
