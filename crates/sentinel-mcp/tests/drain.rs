//! Graceful drain on SIGTERM through the real binary, on every transport: tool calls held at the
//! fake Log Analytics (the real Azure client path) finish and are delivered while new sessions
//! are refused and /ready says draining; then streams end cleanly and the process exits 0. At the
//! drain deadline, calls still running are answered with a "shutting down" error instead.

mod common;

use std::process::Stdio;

use common::{
    BIN, Server, SseClient, init_params, mcp_message, mcp_open_session, mcp_session_initialize,
    mcp_session_request, mcp_stateless_call, structured, wait_until,
};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, Gate, WORKSPACE_ID};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The fake Azure, and a server on it that drains for `drain_secs`.
async fn on_fake_azure(drain_secs: &str) -> (FakeAzure, Server) {
    let fake = FakeAzure::start(20_000).await;
    let mut env = fake.server_env();
    env.push(("SENTINEL_MCP_DRAIN_TIMEOUT_SECS".into(), drain_secs.into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env).await;
    (fake, server)
}

fn query_path() -> String {
    format!("/v1/workspaces/{WORKSPACE_ID}/query")
}

/// A query the fake holds: it names `marker`, which the fault matches.
fn held_query(marker: &str) -> String {
    format!("SigninLogs | summarize {marker} = count()")
}

/// Holds the query naming `marker` at the fake until the returned gate opens.
fn hold(fake: &FakeAzure, marker: &str) -> Gate {
    let gate = Gate::new();
    fake.inject_where(&query_path(), marker, Fault::Hold(gate.clone()));
    gate
}

/// Waits until the query naming `marker` has reached the fake (the call is under way).
async fn reached_the_fake(fake: &FakeAzure, marker: &str) {
    wait_until(
        &format!("the query {marker} reaches Log Analytics"),
        || async {
            fake.requests_to(&query_path())
                .iter()
                .any(|r| r.body.contains(marker))
        },
    )
    .await;
}

fn run_query(query: &str) -> Value {
    json!({"name": "run_kql_query", "arguments": {"query": query}})
}

/// While the server drains: /ready is 503 `draining`, /health 200, and a new session on either
/// transport is refused with 503, `Retry-After` and a JSON error.
async fn assert_draining(server: &Server) {
    wait_until("/ready answers 503", || async {
        reqwest::get(server.url("/ready"))
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    let ready: Value = reqwest::get(server.url("/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, json!({"status": "draining"}));
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
    for refused in [
        reqwest::get(server.url("/sse")).await.unwrap(),
        mcp_session_initialize(server, &[]).await,
    ] {
        assert_eq!(refused.status(), 503);
        assert!(refused.headers().contains_key("retry-after"));
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("shutting down"),
            "{body}"
        );
    }
}

/// The next JSON-RPC message on a legacy stream.
async fn next_message(c: &mut SseClient) -> Value {
    let event = c.next_event().await;
    assert_eq!(event.event, "message");
    serde_json::from_str(&event.data).unwrap()
}

fn assert_shutting_down_error(message: &Value, id: u64) {
    assert_eq!(message["id"], id, "{message}");
    assert_eq!(message["error"]["code"], -32000, "{message}");
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{message}"
    );
}

/// A server draining for `drain_secs`, and an initialized legacy SSE session whose tool call
/// (id `id`) is held at the fake Log Analytics by the returned gate.
async fn legacy_call_held(drain_secs: &str, id: u64) -> (FakeAzure, Server, SseClient, Gate) {
    let (fake, server) = on_fake_azure(drain_secs).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let marker = format!("held_{id}");
    let gate = hold(&fake, &marker);
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": run_query(&held_query(&marker))});
    assert_eq!(c.post_raw(&call.to_string()).await.status(), 202);
    reached_the_fake(&fake, &marker).await;
    (fake, server, c, gate)
}

#[tokio::test]
async fn sigterm_during_a_legacy_sse_call_delivers_its_result_then_exits_0() {
    let (_fake, mut server, mut c, gate) = legacy_call_held("60", 70).await;
    server.signal("TERM");
    assert_draining(&server).await;
    // The open session is still served.
    assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
    gate.open();
    let result = next_message(&mut c).await;
    assert_eq!(result["id"], 70);
    assert!(structured(&result)["rows"][0][0].as_u64().unwrap() > 0);
    assert!(
        c.next_event_or_end().await.is_none(),
        "the stream ends cleanly once the result is out"
    );
    assert_eq!(server.exit_code().await, Some(0), "{}", server.log());
}

#[tokio::test]
async fn a_legacy_sse_call_running_at_the_drain_deadline_gets_a_shutting_down_error() {
    let (_fake, mut server, mut c, _never_opened) = legacy_call_held("4", 71).await;
    server.signal("TERM");
    assert_shutting_down_error(&next_message(&mut c).await, 71);
    assert!(c.next_event_or_end().await.is_none());
    assert_eq!(server.exit_code().await, Some(0), "{}", server.log());
}

/// Two Streamable HTTP tool calls held at the fake Log Analytics.
struct HeldMcpCalls {
    _fake: FakeAzure,
    server: Server,
    session: String,
    /// A session-era call (id 7): its SSE response headers came at once, the result is to come.
    session_call: reqwest::Response,
    /// A stateless call (id 8): its response comes with the result.
    stateless_call: tokio::task::JoinHandle<reqwest::Response>,
    gates: [Gate; 2],
}

async fn mcp_calls_held(drain_secs: &str) -> HeldMcpCalls {
    let (fake, server) = on_fake_azure(drain_secs).await;
    let session = mcp_open_session(&server, &[]).await;
    let gates = [hold(&fake, "held_session"), hold(&fake, "held_stateless")];
    let query = run_query(&held_query("held_session"));
    let session_call = mcp_session_request(&server, &session, 7, "tools/call", query).await;
    assert_eq!(session_call.status(), 200);
    let query = json!({"query": held_query("held_stateless")});
    let stateless = mcp_stateless_call(&server, 8, "run_kql_query", query);
    let stateless_call = tokio::spawn(async move { stateless.send().await.unwrap() });
    reached_the_fake(&fake, "held_session").await;
    reached_the_fake(&fake, "held_stateless").await;
    HeldMcpCalls {
        _fake: fake,
        server,
        session,
        session_call,
        stateless_call,
        gates,
    }
}

#[tokio::test]
async fn sigterm_during_streamable_http_calls_delivers_their_results_then_exits_0() {
    let mut held = mcp_calls_held("60").await;
    let server = &mut held.server;
    server.signal("TERM");
    assert_draining(server).await;
    // The open session is still served, and so is a stateless request (it needs no session).
    let pong = mcp_session_request(server, &held.session, 9, "ping", json!({})).await;
    assert_eq!(mcp_message(pong).await["result"], json!({}));
    let late = mcp_stateless_call(server, 10, "run_kql_query", json!({"query": "print n = 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);
    assert_eq!(structured(&mcp_message(late).await)["rows"], json!([[1]]));

    held.gates.iter().for_each(Gate::open);
    let result = mcp_message(held.session_call).await;
    assert_eq!(result["id"], 7);
    assert!(structured(&result)["rows"][0][0].as_u64().unwrap() > 0);
    let result = mcp_message(held.stateless_call.await.unwrap()).await;
    assert_eq!(result["id"], 8);
    assert!(structured(&result)["rows"][0][0].as_u64().unwrap() > 0);
    assert_eq!(server.exit_code().await, Some(0), "{}", server.log());
}

#[tokio::test]
async fn streamable_http_calls_running_at_the_drain_deadline_get_a_shutting_down_error() {
    let mut held = mcp_calls_held("4").await;
    held.server.signal("TERM");
    assert_shutting_down_error(&mcp_message(held.session_call).await, 7);
    assert_shutting_down_error(&mcp_message(held.stateless_call.await.unwrap()).await, 8);
    assert_eq!(
        held.server.exit_code().await,
        Some(0),
        "{}",
        held.server.log()
    );
}

/// The server on stdio over the fake Azure, initialized; its stdin and stdout lines.
async fn stdio_server(
    fake: &FakeAzure,
    drain_secs: &str,
) -> (
    tokio::process::Child,
    tokio::process::ChildStdin,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let mut child = tokio::process::Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(fake.server_env())
        .env("MCP_TRANSPORT", "stdio")
        .env("SENTINEL_MCP_DRAIN_TIMEOUT_SECS", drain_secs)
        .env("SENTINEL_MCP_STATE_DIR", common::temp_dir("stdio-drain"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-06-18")});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let answer = lines.next_line().await.unwrap().expect("initialize answer");
    assert!(answer.contains("serverInfo"), "{answer}");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    stdin
        .write_all(format!("{initialized}\n").as_bytes())
        .await
        .unwrap();
    (child, stdin, lines)
}

async fn stdio_call_then_sigterm(drain_secs: &str, open_gate: bool) -> (Value, Option<i32>) {
    let fake = FakeAzure::start(20_000).await;
    let (mut child, mut stdin, mut lines) = stdio_server(&fake, drain_secs).await;
    let gate = hold(&fake, "held_stdio");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": run_query(&held_query("held_stdio"))});
    stdin
        .write_all(format!("{call}\n").as_bytes())
        .await
        .unwrap();
    reached_the_fake(&fake, "held_stdio").await;
    common::signal(child.id().unwrap(), "TERM");
    if open_gate {
        gate.open();
    }
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("an answer within 60 s")
        .unwrap()
        .expect("an answer before stdout closes");
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("exit within 60 s")
        .unwrap();
    // stdin stays open: the signal alone ends the server.
    drop(stdin);
    (serde_json::from_str(&line).unwrap(), status.code())
}

#[tokio::test]
async fn sigterm_during_a_stdio_call_delivers_its_result_then_exits_0() {
    let (answer, code) = stdio_call_then_sigterm("60", true).await;
    assert_eq!(answer["id"], 2);
    assert!(structured(&answer)["rows"][0][0].as_u64().unwrap() > 0);
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_stdio_call_running_at_the_drain_deadline_gets_a_shutting_down_error() {
    let (answer, code) = stdio_call_then_sigterm("4", false).await;
    assert_shutting_down_error(&answer, 2);
    assert_eq!(code, Some(0));
}
