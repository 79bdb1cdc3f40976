//! The fake Entra as a process, for interop tests written in other languages.
//!
//! `fake-entra <tenant> <audience>` prints one JSON line — `{"authority": …, "tokens": {"all": …,
//! "read": …}}` (user tokens valid for an hour) — then serves until stdin closes.

use test_support::entra::{FakeEntra, TokenSpec};
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tenant, audience] = args.as_slice() else {
        eprintln!("usage: fake-entra <tenant id> <audience>");
        std::process::exit(2);
    };
    let entra = FakeEntra::start(&[tenant]).await;
    let all = entra.mint(&TokenSpec::user(
        tenant,
        audience,
        &["SecOps.Read", "SecOps.Hunt", "SecOps.Write"],
    ));
    let read = entra.mint(&TokenSpec::user(tenant, audience, &["SecOps.Read"]));
    println!(
        "{}",
        serde_json::json!({"authority": entra.authority_host(), "tokens": {"all": all, "read": read}})
    );
    // Serve until the test closes our stdin (or kills us).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}
