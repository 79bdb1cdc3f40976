//! Inputs the fuzz targets `mcp_message` and `jwt` (fuzz/) once failed on, and the shapes they
//! exercise, run through the same checks as the targets: a POST body must decode the same way on
//! the fast path and through rmcp without a panic, and a token's pre-signature read must refuse
//! what no key could make valid without a panic.

use std::path::{Path, PathBuf};

use sentinel_mcp::auth::read_unverified;
use sentinel_mcp::http::sse::check_post_body;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-crashes")
        .join(target);
    std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn post_bodies_the_fuzzer_found_decode_alike_on_both_paths() {
    for (path, body) in inputs("mcp_message") {
        if let Err(e) = check_post_body(&body) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn tokens_the_fuzzer_found_are_read_without_a_panic() {
    for (_, bytes) in inputs("jwt") {
        if let Ok(token) = String::from_utf8(bytes) {
            let _ = read_unverified(&token);
        }
    }
}

#[test]
fn the_fast_path_and_rmcp_agree_on_the_messages_clients_send() {
    let bodies = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_kql_query","arguments":{"query":"print 1"}}}"#,
        r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"run_kql_query","arguments":{"query":"print 1"},"_meta":{"progressToken":7}}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_incident","arguments":{"id":7}}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        // Values in fields the typed decoding skips must still pass rmcp's checks.
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"x","extra":1e999}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"c","version":"1","extra":"\ud800x"}}}"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"x","name":"y"}}"#,
        "{oops",
        "",
    ];
    for body in bodies {
        assert_eq!(check_post_body(body.as_bytes()), Ok(()), "{body}");
    }
}

#[test]
fn tokens_no_key_could_validate_are_refused_before_any_key_is_fetched() {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let token = |header: &str, claims: &str| format!("{}.{}.c2ln", b64(header), b64(claims));
    let claims = r#"{"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47"}"#;
    let ok = read_unverified(&token(r#"{"alg":"RS256","kid":"k1"}"#, claims)).unwrap();
    assert_eq!(ok.kid, "k1");
    assert_eq!(ok.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    for bad in [
        token(r#"{"alg":"none","kid":"k1"}"#, claims),
        token(r#"{"alg":"HS256","kid":"k1"}"#, claims),
        token(r#"{"alg":"RS256"}"#, claims),
        token(r#"{"alg":"RS256","kid":"k1"}"#, r#"{"tid":"../evil"}"#),
        token(r#"{"alg":"RS256","kid":"k1"}"#, r#"{}"#),
        "a.b".into(),
        "x".repeat(20_000),
    ] {
        assert!(read_unverified(&bad).is_err(), "{bad}");
    }
}
