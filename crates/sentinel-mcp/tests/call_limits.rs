//! Fairness under load, through the real binary: the per-principal rate limit, the cap on tool
//! calls running at once (every transport) and the cap on Azure queries in flight, each refused
//! the way its transport expects and each off with 0. Slow calls are the fake Azure's `Slow`
//! faults, so calls overlap by construction, not by timing.

mod common;

use std::time::Duration;

use common::{
    Server, SseClient, azure_session, mcp_message, mcp_stateless_call, structured, wait_until,
};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, WORKSPACE_ID};
use test_support::entra::{FakeEntra, TokenSpec};

/// Long enough to outlast any test: the call holds its slot until cancelled.
const FOREVER: Duration = Duration::from_secs(600);

fn query_path() -> String {
    format!("/v1/workspaces/{WORKSPACE_ID}/query")
}

/// A query whose text names the call, so the fake's log tells which call sent it.
fn query(n: u64) -> Value {
    json!({"query": format!("print call = {n}")})
}

/// The calls whose query has reached the fake Log Analytics (readiness probes aside).
fn calls_sent(fake: &FakeAzure) -> Vec<u64> {
    fake.requests_to(&query_path())
        .iter()
        .filter_map(|r| {
            r.json()["query"]
                .as_str()?
                .strip_prefix("print call = ")?
                .parse()
                .ok()
        })
        .collect()
}

fn assert_busy(message: &Value, id: u64) {
    assert_eq!(message["id"], id, "{message}");
    assert_eq!(message["error"]["code"], -32030, "{message}");
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The server is busy"),
        "{message}"
    );
    assert!(
        message["error"]["data"]["retryAfterSeconds"].as_u64() >= Some(1),
        "{message}"
    );
}

fn journal(server: &Server) -> String {
    std::fs::read_to_string(server.state_dir.join("sentinel-mcp-state.json")).unwrap_or_default()
}

#[tokio::test]
async fn over_the_rate_limit_legacy_sse_accepts_the_post_and_answers_32029_on_the_stream() {
    let server = Server::start(&[
        ("SENTINEL_MCP_RATE_LIMIT_PER_MINUTE", "1"),
        ("SENTINEL_MCP_RATE_LIMIT_BURST", "2"),
        ("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true"),
    ])
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    for n in 1..=2 {
        let args = json!({"id": "1042", "message": format!("within the limit {n}")});
        structured(&c.call_tool("add_incident_comment", args).await);
    }
    // `call_tool` asserts the POST was accepted (202): the refusal comes on the stream.
    let args = json!({"id": "1042", "message": "over the limit"});
    let r = c.call_tool("add_incident_comment", args).await;
    assert_eq!(r["error"]["code"], -32029, "{r}");
    let retry = r["error"]["data"]["retryAfterSeconds"].as_u64().unwrap();
    assert!((1..=60).contains(&retry), "one token a minute: {r}");
    let written = journal(&server);
    assert!(written.contains("within the limit 2"), "{written}");
    assert!(!written.contains("over the limit"), "the refused call ran");
    // Only tools/call is limited.
    let tools = c.request("tools/list", json!({})).await;
    assert!(tools["result"]["tools"].is_array(), "{tools}");
    let refused = server
        .metric("sentinel_mcp_refused_calls_total{reason=\"rate_limit\"}")
        .await;
    assert_eq!(refused, Some(1));
}

#[tokio::test]
async fn over_the_rate_limit_mcp_answers_429_with_retry_after_and_other_principals_are_served() {
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const APP: &str = "8a3c6a3e-5d4c-4e57-9a39-6b1e4d2c7f10";
    const ALL: [&str; 3] = ["SecOps.Read", "SecOps.Hunt", "SecOps.Write"];
    let entra = FakeEntra::start(&[TENANT]).await;
    let authority = entra.authority_host();
    let server = Server::start(&[
        ("SENTINEL_MCP_AUTH", "entra"),
        ("AZURE_TENANT_ID", TENANT),
        ("MCP_SERVER_APP_ID", APP),
        ("SENTINEL_MCP_AUTHORITY_HOST", authority.as_str()),
        ("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true"),
        ("SENTINEL_MCP_RATE_LIMIT_PER_MINUTE", "1"),
        ("SENTINEL_MCP_RATE_LIMIT_BURST", "1"),
    ])
    .await;
    let analyst = entra.mint(&TokenSpec::user(TENANT, APP, &ALL));
    let daemon = entra.mint(&TokenSpec::app(TENANT, APP, &ALL));
    let comment = |id: u64, token: &str, message: &str| {
        let args = json!({"id": "1042", "message": message});
        mcp_stateless_call(&server, id, "add_incident_comment", args).bearer_auth(token)
    };

    let first = comment(1, &analyst, "analyst first").send().await.unwrap();
    assert_eq!(first.status(), 200);
    structured(&mcp_message(first).await);

    let refused = comment(2, &analyst, "analyst over").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["id"], 2, "{body}");
    assert_eq!(body["error"]["code"], -32029, "{body}");
    assert_eq!(body["error"]["data"]["retryAfterSeconds"], retry_after);
    assert!(!journal(&server).contains("analyst over"), "the call ran");

    // Another principal has its own bucket.
    let other = comment(3, &daemon, "daemon first").send().await.unwrap();
    assert_eq!(other.status(), 200);
    structured(&mcp_message(other).await);
    assert!(journal(&server).contains("daemon first"));
}

#[tokio::test]
async fn with_every_limit_at_zero_calls_and_queries_all_run_at_once() {
    let (fake, _server, c) = azure_session(&[
        ("SENTINEL_MCP_RATE_LIMIT_PER_MINUTE", "0"),
        ("SENTINEL_MCP_RATE_LIMIT_BURST", "0"),
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "0"),
        ("SENTINEL_MCP_CALL_QUEUE", "0"),
        ("SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES", "0"),
    ])
    .await;
    // More than the default Azure cap (5) and call slots (4 a core) would let run at once.
    let calls = 12;
    for _ in 0..calls {
        fake.inject(&query_path(), Fault::Slow(FOREVER));
    }
    for n in 0..calls {
        c.start_call(100 + n, "run_kql_query", query(n)).await;
    }
    wait_until("every query at Log Analytics at once", async || {
        fake.in_flight(&query_path()) == calls as usize
    })
    .await;
    for n in 0..calls {
        c.cancel(100 + n).await;
    }
}

#[tokio::test]
async fn calls_beyond_the_cap_wait_then_are_refused_busy_on_every_transport_and_cancelled_ones_leave_at_once()
 {
    let (fake, server, mut c) = azure_session(&[
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1"),
        ("SENTINEL_MCP_CALL_QUEUE", "1"),
        ("SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES", "0"),
    ])
    .await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    c.start_call(101, "run_kql_query", query(101)).await;
    wait_until("call 101 at Log Analytics", async || {
        calls_sent(&fake) == [101]
    })
    .await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 1)
        .await;
    c.start_call(102, "run_kql_query", query(102)).await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_waiting", 1)
        .await;

    // The one slot is taken and the queue is full: refused at once, on legacy SSE and on /mcp.
    c.start_call(103, "run_kql_query", query(103)).await;
    assert_busy(&c.next_message().await, 103);
    let r = mcp_stateless_call(&server, 104, "run_kql_query", query(104))
        .send()
        .await
        .unwrap();
    assert_busy(&mcp_message(r).await, 104);
    assert_eq!(
        server
            .metric("sentinel_mcp_refused_calls_total{reason=\"busy\"}")
            .await,
        Some(2)
    );

    // A cancelled waiter leaves the queue at once, making room for another.
    c.cancel(102).await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_waiting", 0)
        .await;
    c.start_call(105, "run_kql_query", query(105)).await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_waiting", 1)
        .await;
    // Cancelling the running call frees its slot for the waiter, which runs and answers.
    c.cancel(101).await;
    let answer = c.next_message().await;
    assert_eq!(answer["id"], 105, "{answer}");
    assert_eq!(structured(&answer)["rows"], json!([[105]]));
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 0)
        .await;
    assert_eq!(calls_sent(&fake), [101, 105], "102, 103, 104 never ran");
}

#[tokio::test]
async fn time_spent_waiting_for_a_slot_counts_against_the_query_timeout() {
    let (fake, _server, mut c) = azure_session(&[
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1"),
        ("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "2"),
    ])
    .await;
    // An alert lookup holds the only slot for as long as Graph takes (no query timeout).
    let alerts = "/v1.0/security/alerts_v2";
    fake.inject(alerts, Fault::Slow(FOREVER));
    c.start_call(101, "get_alert", json!({"id": "da101-1"}))
        .await;
    wait_until("the alert lookup at Graph", async || {
        fake.in_flight(alerts) == 1
    })
    .await;
    let r = c.call_tool("run_kql_query", query(2)).await;
    assert_eq!(r["error"]["code"], -32030, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("waited 2 seconds"), "{message}");
    assert!(calls_sent(&fake).is_empty(), "the query never went out");
}

#[tokio::test]
async fn a_call_that_waited_for_a_slot_has_only_the_rest_of_its_time() {
    let (fake, _server, mut c) = azure_session(&[
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1"),
        ("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "60"),
    ])
    .await;
    let alerts = "/v1.0/security/alerts_v2";
    fake.inject(alerts, Fault::Slow(Duration::from_secs(10)));
    c.start_call(101, "get_alert", json!({"id": "da101-1"}))
        .await;
    wait_until("the alert lookup at Graph", async || {
        fake.in_flight(alerts) == 1
    })
    .await;
    let r = c.call_tool("run_kql_query", query(2)).await;
    structured(&r);
    let sent = fake.requests_to(&query_path());
    let prefer = sent.last().unwrap().header("prefer").unwrap().to_string();
    let wait: u64 = prefer
        .strip_prefix("wait=")
        .and_then(|p| p.split(',').next())
        .and_then(|w| w.parse().ok())
        .unwrap();
    assert!(
        wait < 60,
        "Log Analytics was given the full timeout: {prefer}"
    );
}

#[tokio::test]
async fn stdio_calls_share_the_cap_and_closing_stdin_frees_them() {
    let fake = FakeAzure::start(20_000).await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    let mut command = common::stdio_command();
    command
        .envs(fake.server_env())
        .env("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1")
        .env("SENTINEL_MCP_CALL_QUEUE", "1");
    let mut stdio = common::StdioServer::spawn(command);
    stdio.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")})).await;
    stdio
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    for id in 2..=4 {
        stdio.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": query(id)}})).await;
    }
    assert_eq!(stdio.next().await["id"], 1);
    // One call holds the slot (its query never returns), one waits, one is refused.
    let refused = stdio.next().await;
    let id = refused["id"].as_u64().unwrap();
    assert_busy(&refused, id);
    wait_until("the slot holder's query at Log Analytics", async || {
        calls_sent(&fake).len() == 1
    })
    .await;
    stdio.close_stdin();
    let status = tokio::time::timeout(Duration::from_secs(60), stdio.child.wait())
        .await
        .expect("the server exits when stdin closes, its calls cancelled")
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn azure_queries_in_flight_never_exceed_the_cap_and_the_rest_wait_their_turn() {
    let (fake, server, mut c) = azure_session(&[
        ("SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES", "2"),
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "0"),
    ])
    .await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    for n in 101..=104 {
        c.start_call(n, "run_kql_query", query(n)).await;
    }
    wait_until("two queries at Log Analytics", async || {
        fake.in_flight(&query_path()) == 2
    })
    .await;
    server
        .wait_for_metric("sentinel_mcp_azure_queries_waiting", 2)
        .await;
    assert_eq!(
        server.metric("sentinel_mcp_azure_queries_running").await,
        Some(2)
    );
    // Four calls were started and two reached Log Analytics: the other two are queued, not sent.
    assert_eq!(fake.peak_in_flight(&query_path()), 2);
    // The two holding slots are cancelled; the two waiting run in their place. The fake's count
    // is not checked after this: it sees a cancelled request end only when it notices the closed
    // connection, which can come after the server, having dropped that request, sent the next.
    let running = calls_sent(&fake);
    assert_eq!(running.len(), 2, "{running:?}");
    for id in &running {
        c.cancel(*id).await;
    }
    let mut answered = Vec::new();
    for _ in 0..2 {
        let m = c.next_message().await;
        structured(&m);
        answered.push(m["id"].as_u64().unwrap());
    }
    answered.sort();
    let mut waited: Vec<u64> = (101..=104).filter(|n| !running.contains(n)).collect();
    waited.sort();
    assert_eq!(answered, waited);
    server
        .wait_for_metric("sentinel_mcp_azure_queries_running", 0)
        .await;
    assert_eq!(
        server.metric("sentinel_mcp_azure_queries_waiting").await,
        Some(0)
    );
}

#[tokio::test]
async fn azure_queries_beyond_the_cap_and_the_queue_are_refused_busy_hunting_included() {
    let (fake, server, mut c) = azure_session(&[
        ("SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES", "1"),
        ("SENTINEL_MCP_CALL_QUEUE", "1"),
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "0"),
    ])
    .await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    c.start_call(101, "run_kql_query", query(101)).await;
    wait_until("call 101 at Log Analytics", async || {
        fake.in_flight(&query_path()) == 1
    })
    .await;
    c.start_call(102, "run_kql_query", query(102)).await;
    server
        .wait_for_metric("sentinel_mcp_azure_queries_waiting", 1)
        .await;
    let r = c.call_tool("run_kql_query", query(3)).await;
    assert_busy(&r, r["id"].as_u64().unwrap());
    let r = c
        .call_tool(
            "run_hunting_query",
            json!({"query": "DeviceProcessEvents | take 1"}),
        )
        .await;
    assert_busy(&r, r["id"].as_u64().unwrap());
    assert!(fake.requests_to("runHuntingQuery").is_empty());
    assert_eq!(calls_sent(&fake), [101]);
}

#[tokio::test]
async fn a_client_that_goes_away_frees_its_slot_on_legacy_sse_and_on_mcp() {
    let (fake, server, c) = azure_session(&[("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1")]).await;
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    fake.inject(&query_path(), Fault::Slow(FOREVER));
    // Legacy SSE: closing the stream ends the session and its calls.
    c.start_call(101, "run_kql_query", query(101)).await;
    wait_until("call 101 at Log Analytics", async || {
        calls_sent(&fake) == [101]
    })
    .await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 1)
        .await;
    drop(c);
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 0)
        .await;
    // Streamable HTTP: a client that drops its POST.
    let call = tokio::spawn(mcp_stateless_call(&server, 102, "run_kql_query", query(102)).send());
    wait_until("call 102 at Log Analytics", async || {
        calls_sent(&fake) == [101, 102]
    })
    .await;
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 1)
        .await;
    call.abort();
    server
        .wait_for_metric("sentinel_mcp_tool_calls_running", 0)
        .await;
}
