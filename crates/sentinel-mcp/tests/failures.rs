//! What clients see when a call fails, through the real binary: errors the caller can act on keep
//! their detail; internal failures (a panic, a task that failed, an Azure outage, an answer of the
//! wrong shape) are a generic -32603 naming the request id, with the detail in the log only
//! (and for the client too with DEBUG=true). A panicking call leaves the server serving.

mod common;

use common::{Server, SseClient, mcp_message, mcp_stateless_call, structured, text};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, WORKSPACE_ID};

/// The debug-build hook's marker (see `failure::test_panic`): `<marker>:tool` in a query panics
/// in the tool, `<marker>:engine` on the local engine's thread.
const MARKER: &str = "c0ffee-test-panic";

fn panicking(site: &str) -> Value {
    json!({"query": format!("print s = '{MARKER}:{site}'")})
}

/// An internal error as the client sees it: -32603, the request id, no detail. Answers the id.
fn assert_generic_internal_error(response: &Value, leaked: &[&str]) -> String {
    let error = &response["error"];
    assert_eq!(error["code"], -32603, "{response}");
    let request_id = error["data"]["requestId"].as_str().unwrap().to_string();
    assert!(!request_id.is_empty(), "{response}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&request_id), "{message}");
    for secret in leaked {
        assert!(!message.contains(secret), "{secret} leaked: {message}");
    }
    request_id
}

/// The log lines that mention `needle`.
fn log_lines(server: &Server, needle: &str) -> Vec<String> {
    server
        .log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

#[tokio::test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic hook is compiled into debug builds only"
)]
async fn a_panicking_tool_call_is_an_internal_error_with_the_request_id_and_the_server_keeps_serving()
 {
    let server = Server::start(&[
        ("SENTINEL_MCP_TEST_PANIC", MARKER),
        ("SENTINEL_MCP_MAX_CONCURRENT_CALLS", "1"),
    ])
    .await;
    let panic_message = "test panic requested at the tool site";

    // Legacy SSE: the call runs in its own task.
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.call_tool("run_kql_query", panicking("tool")).await;
    let sse_request_id = assert_generic_internal_error(&r, &[panic_message]);
    // The one call slot is free again and the session keeps working.
    let ok = c
        .call_tool("run_kql_query", json!({"query": "print n = 1"}))
        .await;
    assert_eq!(structured(&ok)["rows"], json!([[1]]));

    // Streamable HTTP: the call runs in rmcp's task; the request id is the caller's X-Request-Id.
    let r = mcp_stateless_call(&server, 9, "run_kql_query", panicking("tool"))
        .header("x-request-id", "req-panic-on-mcp")
        .send()
        .await
        .unwrap();
    let m = mcp_message(r).await;
    assert_eq!(m["id"], 9);
    assert_eq!(
        assert_generic_internal_error(&m, &[panic_message]),
        "req-panic-on-mcp"
    );
    let r = mcp_stateless_call(
        &server,
        10,
        "run_kql_query",
        json!({"query": "print n = 2"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(structured(&mcp_message(r).await)["rows"], json!([[2]]));

    // One log line per panic, with its message, where it happened and the request id; the
    // process's default panic output stays out of the log.
    let lines = log_lines(&server, panic_message);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains(&sse_request_id) && lines[0].contains("failure.rs"));
    assert!(lines[1].contains("req-panic-on-mcp"));
    assert!(!server.log().contains("panicked at"), "{}", server.log());
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic hook is compiled into debug builds only"
)]
fn a_panicking_tool_call_on_stdio_answers_with_its_jsonrpc_id_and_the_session_goes_on() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = common::stdio_command()
        .env("SENTINEL_MCP_TEST_PANIC", MARKER)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut send = |v: Value| writeln!(stdin, "{v}").unwrap();
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")}),
    );
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(
        json!({"jsonrpc": "2.0", "id": "boom-7", "method": "tools/call", "params": {"name": "run_kql_query", "arguments": panicking("tool")}}),
    );
    send(
        json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "print n = 8"}}}),
    );
    let mut answers = std::collections::HashMap::new();
    while answers.len() < 3 {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "stdout closed early");
        let v: Value = serde_json::from_str(&line).unwrap();
        answers.insert(v["id"].to_string(), v);
    }
    let panicked = &answers["\"boom-7\""];
    assert_eq!(assert_generic_internal_error(panicked, &[]), "boom-7");
    assert_eq!(structured(&answers["8"])["rows"], json!([[8]]));
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic hook is compiled into debug builds only"
)]
async fn a_query_task_that_failed_is_an_internal_error_whose_detail_stays_in_the_log() {
    let server = Server::start(&[("SENTINEL_MCP_TEST_PANIC", MARKER)]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.call_tool("run_kql_query", panicking("engine")).await;
    let request_id = assert_generic_internal_error(&r, &["query task failed", "panicked"]);
    let lines = log_lines(&server, "query task failed");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains(&request_id), "{}", lines[0]);
    let ok = c
        .call_tool("run_kql_query", json!({"query": "print n = 1"}))
        .await;
    structured(&ok);
}

#[tokio::test]
async fn errors_the_caller_can_act_on_keep_their_detail() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    // KQL syntax: a tool error with line and column.
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs\n| where ResultType =="}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("line 2, column"), "{r}");
    // The guard's refusal says what was refused.
    let r = c
        .call_tool("run_kql_query", json!({"query": ".drop table SigninLogs"}))
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).to_lowercase().contains("control command"), "{r}");
    // Arguments: -32602 naming the field.
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "print 1", "max_rows": "many"}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("max_rows"),
        "{r}"
    );
    // Not found: the caller's id.
    let r = c.call_tool("get_incident", json!({"id": "no-such"})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("no-such"), "{r}");
}

async fn on_azure(extra: &[(&str, &str)]) -> (FakeAzure, Server, SseClient) {
    let mut settings = vec![("SENTINEL_MCP_AZURE_MAX_RETRIES", "0")];
    settings.extend_from_slice(extra);
    common::azure_session(&settings).await
}

#[tokio::test]
async fn azure_outages_and_answers_of_the_wrong_shape_are_generic_for_the_client_and_detailed_in_the_log()
 {
    let (fake, server, mut c) = on_azure(&[]).await;
    let query_path = format!("/v1/workspaces/{WORKSPACE_ID}/query");
    let query = json!({"query": "SigninLogs | take 1"});

    fake.inject(&query_path, Fault::ServerError);
    let r = c.call_tool("run_kql_query", query.clone()).await;
    let request_id =
        assert_generic_internal_error(&r, &["Something went wrong", "InternalServerError"]);
    let lines = log_lines(&server, "Something went wrong");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains(&request_id), "{}", lines[0]);

    fake.inject(&query_path, Fault::Malformed);
    let r = c.call_tool("run_kql_query", query.clone()).await;
    let request_id = assert_generic_internal_error(&r, &["could not be read", "tables"]);
    let lines = log_lines(&server, "could not be read");
    assert!(lines.iter().any(|l| l.contains(&request_id)), "{lines:#?}");

    // A refusal of the query itself (400) and throttling (429) stay the caller's to act on.
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | where NoSuchColumn == 1"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("NoSuchColumn"), "{r}");
    fake.inject(
        &query_path,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let r = c.call_tool("run_kql_query", query).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("429"), "{r}");
}

#[tokio::test]
async fn with_debug_the_client_sees_the_internal_detail_too() {
    let (fake, _server, mut c) = on_azure(&[("DEBUG", "true")]).await;
    fake.inject(
        &format!("/v1/workspaces/{WORKSPACE_ID}/query"),
        Fault::ServerError,
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    assert_eq!(r["error"]["code"], -32603, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("Something went wrong"), "{message}");
}
