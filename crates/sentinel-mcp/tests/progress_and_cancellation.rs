//! Long calls on every transport: a client that sends a `progressToken` hears how the call goes
//! while it runs, and a cancelled call stops its work (the Azure request is closed, the local
//! engine's query stops) and frees its slot at once. Slow calls are the fake Azure's `Slow` and
//! `Hold` faults, so calls are long by construction, not by timing.

mod common;

use std::time::Duration;

use common::{
    Server, SseClient, StdioServer, mcp_open_session, mcp_post, mcp_stateless_call, stdio_command,
    wait_until,
};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, WORKSPACE_ID};

/// A Log Analytics answer slow enough for three progress notifications.
const SLOW: Duration = Duration::from_millis(1_700);
/// Long enough to outlast any test: the call runs until cancelled.
const FOREVER: Duration = Duration::from_secs(600);

fn query_path() -> String {
    format!("/v1/workspaces/{WORKSPACE_ID}/query")
}

fn call(id: u64, token: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "run_kql_query", "arguments": {"query": "print n = 1"},
        "_meta": {"progressToken": token}}})
}

/// Every JSON-RPC message of a Streamable HTTP response's SSE stream, in order.
async fn streamed(resp: reqwest::Response) -> Vec<Value> {
    let body = resp.text().await.unwrap();
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// The progress notifications for `token` before the answer to `id` that ends the messages:
/// at least two, each higher than the last.
fn progress_before_answer<'m>(messages: &'m [Value], token: &str, id: u64) -> Vec<&'m Value> {
    let (answer, before) = messages.split_last().expect("messages");
    assert_eq!(answer["id"], id, "{messages:?}");
    assert!(
        answer["result"]["structuredContent"]["rows"].is_array(),
        "{answer}"
    );
    let progress: Vec<&Value> = before
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| &m["params"])
        .collect();
    assert!(progress.len() >= 2, "{messages:?}");
    let mut last = 0.0;
    for p in &progress {
        assert_eq!(p["progressToken"], token, "{p}");
        let now = p["progress"].as_f64().unwrap();
        assert!(now > last, "progress must rise: {messages:?}");
        last = now;
    }
    progress
}

/// The messages end with the answer to `id`, before it at least two progress notifications
/// for `token`, rising, each saying what the call waits on.
fn assert_progress_then_answer(messages: &[Value], token: &str, id: u64) {
    for p in progress_before_answer(messages, token, id) {
        let message = p["message"].as_str().unwrap();
        assert!(
            message.starts_with("waiting on Log Analytics: "),
            "{message}"
        );
    }
}

/// `n` as the progress messages write it: 41,116.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Like [`assert_progress_then_answer`] for the local engine: the progress is rows read, out of
/// a total that is the same in every notification and never passed, and the message says so.
fn assert_rows_progress_then_answer(messages: &[Value], token: &str, id: u64) {
    let progress = progress_before_answer(messages, token, id);
    let total = progress[0]["total"].as_f64().expect("a total of rows");
    for p in progress {
        let (read, message) = (p["progress"].as_f64().unwrap(), &p["message"]);
        assert_eq!(p["total"].as_f64(), Some(total), "{p}");
        assert!(read <= total, "{p}");
        let said = format!(
            "read {} of {} rows of the local workspace",
            grouped(read as u64),
            grouped(total as u64)
        );
        assert_eq!(message.as_str(), Some(said.as_str()), "{p}");
    }
}

#[tokio::test]
async fn progress_arrives_before_the_answer_on_every_transport() {
    let fake = FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, &[]).await;

    // Legacy SSE: on the session's stream.
    fake.inject(&query_path(), Fault::Slow(SLOW));
    let mut sse = SseClient::connect(&server).await;
    sse.initialize().await;
    assert_eq!(
        sse.post_raw(&call(11, "legacy").to_string()).await.status(),
        202
    );
    let mut messages = Vec::new();
    while messages
        .last()
        .is_none_or(|m: &Value| m.get("id").is_none())
    {
        messages.push(sse.next_message().await);
    }
    assert_progress_then_answer(&messages, "legacy", 11);

    // Streamable HTTP, session era: on the request's stream.
    fake.inject(&query_path(), Fault::Slow(SLOW));
    let session = mcp_open_session(&server, &[]).await;
    let resp = mcp_post(&server, call(12, "session"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_progress_then_answer(&streamed(resp).await, "session", 12);

    // The stateless era: the request's stream.
    fake.inject(&query_path(), Fault::Slow(SLOW));
    let mut stateless = call(13, "stateless");
    let meta = &mut stateless["params"]["_meta"];
    meta["io.modelcontextprotocol/protocolVersion"] = json!("2026-07-28");
    meta["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let resp = mcp_post(&server, stateless)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "run_kql_query")
        .send()
        .await
        .unwrap();
    assert_progress_then_answer(&streamed(resp).await, "stateless", 13);

    // A call that asks for no progress hears none.
    fake.inject(&query_path(), Fault::Slow(SLOW));
    let mut quiet = call(14, "");
    quiet["params"].as_object_mut().unwrap().remove("_meta");
    let resp = mcp_post(&server, quiet)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    let messages = streamed(resp).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
}

/// A local query over a demo table of about 41,000 rows (six of the engine's batches) that
/// hashes a long value per row: it reads its table a batch at a time over seconds.
fn slow_local_call(id: u64, token: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "run_kql_query",
        "arguments": {"query": "DeviceNetworkEvents | extend h = hash_sha256(strrep(DeviceName, 150)) | summarize dcount(h)"},
        "_meta": {"progressToken": token}}})
}

#[tokio::test]
async fn local_progress_counts_the_rows_read_out_of_the_total() {
    let server = Server::start(&[
        ("SENTINEL_MCP_DEMO_ROWS", "400000"),
        ("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "300"),
    ])
    .await;

    // Legacy SSE: on the session's stream.
    let mut sse = SseClient::connect(&server).await;
    sse.initialize().await;
    let call = slow_local_call(41, "legacy").to_string();
    assert_eq!(sse.post_raw(&call).await.status(), 202);
    let mut messages = Vec::new();
    while messages
        .last()
        .is_none_or(|m: &Value| m.get("id").is_none())
    {
        messages.push(sse.next_message().await);
    }
    assert_rows_progress_then_answer(&messages, "legacy", 41);

    // Streamable HTTP, session era: on the request's stream.
    let session = mcp_open_session(&server, &[]).await;
    let resp = mcp_post(&server, slow_local_call(42, "session"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_rows_progress_then_answer(&streamed(resp).await, "session", 42);
}

#[tokio::test]
async fn stdio_reports_progress_and_cancels() {
    let fake = FakeAzure::start(20_000).await;
    fake.inject(&query_path(), Fault::Slow(SLOW));
    let mut command = stdio_command();
    command.envs(fake.server_env());
    let mut stdio = StdioServer::spawn(command);
    for m in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call(2, "stdio"),
    ] {
        stdio.send(m).await;
    }
    let mut messages = Vec::new();
    while messages.last().is_none_or(|m: &Value| m["id"] != 2) {
        let message = stdio.next().await;
        if message["id"] != 1 {
            messages.push(message);
        }
    }
    assert_progress_then_answer(&messages, "stdio", 2);

    // notifications/cancelled closes the Azure request.
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    let endless = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "print n = 3"}}});
    let cancelled =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}});
    stdio.send(endless).await;
    at_log_analytics(&fake, 1).await;
    stdio.send(cancelled).await;
    at_log_analytics(&fake, 0).await;
}

/// Waits until the fake Log Analytics holds `n` queries open.
async fn at_log_analytics(fake: &FakeAzure, n: usize) {
    wait_until(&format!("{n} queries at Log Analytics"), async || {
        fake.in_flight(&query_path()) == n
    })
    .await;
}

#[tokio::test]
async fn cancelling_closes_the_azure_request_and_frees_the_slot_on_every_transport() {
    let fake = FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, &[]).await;
    let running = "sentinel_mcp_tool_calls_running";
    let slow = json!({"query": "print n = 1"});

    // Legacy SSE: notifications/cancelled, then the stream closed.
    let mut sse = SseClient::connect(&server).await;
    sse.initialize().await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    sse.start_call(21, "run_kql_query", slow.clone()).await;
    at_log_analytics(&fake, 1).await;
    sse.cancel(21).await;
    at_log_analytics(&fake, 0).await;
    server.wait_for_metric(running, 0).await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    sse.start_call(22, "run_kql_query", slow.clone()).await;
    at_log_analytics(&fake, 1).await;
    drop(sse);
    at_log_analytics(&fake, 0).await;
    server.wait_for_metric(running, 0).await;

    // Session era: notifications/cancelled on the session.
    let session = mcp_open_session(&server, &[]).await;
    let on_session = |body: Value| {
        mcp_post(&server, body)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
    };
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    let pending = tokio::spawn(
        on_session(json!({"jsonrpc": "2.0", "id": 23, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": slow}}))
            .send(),
    );
    at_log_analytics(&fake, 1).await;
    let cancelled =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 23}});
    assert_eq!(on_session(cancelled).send().await.unwrap().status(), 202);
    at_log_analytics(&fake, 0).await;
    server.wait_for_metric(running, 0).await;
    pending.abort();

    // The stateless era: closing the request's stream.
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    let pending =
        tokio::spawn(mcp_stateless_call(&server, 24, "run_kql_query", slow.clone()).send());
    at_log_analytics(&fake, 1).await;
    pending.abort();
    at_log_analytics(&fake, 0).await;
    server.wait_for_metric(running, 0).await;
}

#[tokio::test]
async fn a_cancelled_local_query_stops_in_the_engine() {
    let server = Server::start(&[("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "300")]).await;
    let queries = "sentinel_mcp_local_queries_running";
    // Hundreds of millions of joined rows, counted as they stream: it runs until stopped.
    let endless = json!({"query": "DeviceNetworkEvents | join kind=inner (DeviceNetworkEvents) on ActionType | summarize count()"});

    let mut sse = SseClient::connect(&server).await;
    sse.initialize().await;
    sse.start_call(31, "run_kql_query", endless.clone()).await;
    server.wait_for_metric(queries, 1).await;
    sse.cancel(31).await;
    server.wait_for_metric(queries, 0).await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 0)
        .await;

    let pending = tokio::spawn(mcp_stateless_call(&server, 32, "run_kql_query", endless).send());
    server.wait_for_metric(queries, 1).await;
    pending.abort();
    server.wait_for_metric(queries, 0).await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 0)
        .await;
}
