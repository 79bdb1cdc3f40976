//! Streamable HTTP at /mcp: the session era and the stateless 2026-07-28 era.

mod common;

use common::{
    Server, init_params, mcp_message as message, mcp_open_session, mcp_post as post,
    mcp_session_request, mcp_stateless_call,
};
use serde_json::{Value, json};

#[tokio::test]
async fn session_era_initialize_call_and_delete() {
    let server = Server::start(&[]).await;
    let resp = post(&server, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-06-18")})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let init = message(resp).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "sentinel-mcp-server");

    let with_session = |body: Value| {
        post(&server, body)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", "2025-06-18")
    };
    let r = with_session(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let tools = message(
        with_session(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 9);
    let call = message(
        with_session(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "range i from 1 to 5 step 1 | summarize total = sum(i)"}}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(call["result"]["structuredContent"]["rows"], json!([[15]]));

    let r = reqwest::Client::new()
        .delete(server.url("/mcp"))
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "DELETE answered {}", r.status());
    let r = with_session(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a deleted session is gone");
}

/// Reads a session-era answer's stream until `n` keep-alive comments arrived; fails on anything
/// else (an answer, a priming event) before them.
async fn keep_alives(stream: &mut reqwest::Response, n: usize) {
    let mut seen = String::new();
    while seen.matches(": keep-alive\n\n").count() < n {
        let chunk = stream.chunk().await.unwrap().expect("the stream is open");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(
        seen.replace(": keep-alive\n\n", ""),
        "",
        "only keep-alives: {seen:?}"
    );
}

#[tokio::test]
async fn a_running_session_era_call_keeps_its_stream_alive_until_cancelled_or_deleted() {
    let server = Server::start(&[
        ("SENTINEL_MCP_SSE_KEEPALIVE_SECS", "1"),
        ("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "300"),
    ])
    .await;
    let queries = "sentinel_mcp_local_queries_running";
    let sid = mcp_open_session(&server, &[]).await;
    // Hundreds of millions of joined rows, counted as they stream: it runs until stopped.
    let endless = json!({"name": "run_kql_query", "arguments": {
        "query": "DeviceNetworkEvents | join kind=inner (DeviceNetworkEvents) on ActionType | summarize count()"}});

    // The headers come at once, then keep-alives while the query runs.
    let mut running = mcp_session_request(&server, &sid, 5, "tools/call", endless.clone()).await;
    assert_eq!(running.status(), 200);
    assert_eq!(running.headers()["content-type"], "text/event-stream");
    keep_alives(&mut running, 2).await;
    server.wait_for_metric(queries, 1).await;

    // notifications/cancelled ends the stream without an answer and stops the query.
    let cancelled = post(
        &server,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5, "reason": "the analyst gave up"}}),
    )
    .header("mcp-session-id", &sid)
    .header("mcp-protocol-version", "2025-06-18")
    .send()
    .await
    .unwrap();
    assert_eq!(cancelled.status(), 202);
    let rest = running.text().await.unwrap();
    assert!(
        !rest.contains("data:"),
        "no answer to a cancelled call: {rest:?}"
    );
    server.wait_for_metric(queries, 0).await;

    // The session still answers, and DELETE stops a call it runs.
    let tables = mcp_session_request(
        &server,
        &sid,
        6,
        "tools/call",
        json!({"name": "list_sentinel_tables", "arguments": {}}),
    )
    .await;
    assert!(message(tables).await["result"]["structuredContent"].is_object());
    let mut running = mcp_session_request(&server, &sid, 7, "tools/call", endless).await;
    keep_alives(&mut running, 1).await;
    server.wait_for_metric(queries, 1).await;
    let deleted = reqwest::Client::new()
        .delete(server.url("/mcp"))
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    let rest = running.text().await.unwrap();
    assert!(
        !rest.contains("data:"),
        "no answer once the session is gone: {rest:?}"
    );
    server.wait_for_metric(queries, 0).await;
}

#[tokio::test]
async fn stateless_2026_era_answers_without_a_session() {
    let server = Server::start(&[]).await;
    let resp = mcp_stateless_call(
        &server,
        7,
        "run_kql_query",
        json!({"query": "print n = 40 + 2"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers().get("mcp-session-id").is_none(),
        "no session in the stateless era"
    );
    let msg = message(resp).await;
    assert_eq!(
        msg["result"]["structuredContent"]["rows"],
        json!([[42]]),
        "{msg}"
    );
}

#[tokio::test]
async fn dns_rebinding_is_refused_on_mcp() {
    let server = Server::start(&[]).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-06-18")});
    let r = post(&server, init.clone())
        .header("host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(&server, init)
        .header("origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn malformed_json_before_a_session_is_a_400() {
    let server = Server::start(&[]).await;
    let r = reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32700);
    let r = reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "wrong content type");
}

/// The calls both paths answer in the comparisons: a shared answer, a fresh one, a tool error,
/// bad arguments and an unknown tool.
fn compared_calls() -> [(&'static str, Value); 5] {
    [
        ("list_sentinel_tables", json!({})),
        (
            "run_kql_query",
            json!({"query": "print n = 40 + 2, s = 'x'"}),
        ),
        ("run_kql_query", json!({"query": "SigninLogs | where"})),
        (
            "run_kql_query",
            json!({"query": "print 1", "no_such_argument": 1}),
        ),
        ("no_such_tool", json!({})),
    ]
}

/// A stateless-era `tools/call` in the plain shape clients send is answered by the server's own
/// path (in one piece, with its length); the same call with a second `Accept` header, which only
/// rmcp's full parsing reads, goes through rmcp's service. Both answers must be the same: status, content type and
/// every byte, for a shared answer, a fresh one, a tool error and a call rmcp refuses.
#[tokio::test]
async fn stateless_calls_answer_alike_on_the_direct_path_and_through_rmcp() {
    let server = Server::start(&[]).await;
    for (tool, arguments) in compared_calls() {
        let answer = |accept: Option<&'static str>| {
            let call = mcp_stateless_call(&server, 9, tool, arguments.clone());
            let call = match accept {
                Some(accept) => call.header("accept", accept),
                None => call,
            };
            async move {
                let r = call.send().await.unwrap();
                let status = r.status();
                let headers = r.headers().clone();
                (status, headers, r.bytes().await.unwrap())
            }
        };
        let (status, headers, body) = answer(None).await;
        let (rmcp_status, rmcp_headers, rmcp_body) = answer(Some("text/event-stream;q=0.5")).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(
            headers.get("content-length").map(|v| v.to_str().unwrap()),
            Some(body.len().to_string().as_str()),
            "{tool}: the direct path answers in one piece: {headers:?}"
        );
        assert!(
            rmcp_headers.get("content-length").is_none(),
            "{tool}: rmcp streams its answer: {rmcp_headers:?}"
        );
        assert_eq!(status, rmcp_status, "{tool}: {text}");
        assert_eq!(
            headers["content-type"], rmcp_headers["content-type"],
            "{tool}"
        );
        assert_eq!(
            text,
            String::from_utf8_lossy(&rmcp_body),
            "{tool} {arguments}"
        );
        assert!(
            text.starts_with("data: {\"jsonrpc\":\"2.0\",\"id\":9,"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn session_era_calls_answer_alike_on_the_direct_path_and_through_rmcp() {
    let server = Server::start(&[]).await;
    let (ours, theirs) = (
        mcp_open_session(&server, &[]).await,
        mcp_open_session(&server, &[]).await,
    );
    // The first table list makes the demo tables, on a blocking thread: not at once.
    let first = json!({"name": "list_sentinel_tables", "arguments": {}});
    message(mcp_session_request(&server, &ours, 2, "tools/call", first).await).await;
    for (tool, arguments) in compared_calls() {
        let answer = |session: &str, accept: &'static str| {
            let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}});
            let call = reqwest::Client::new()
                .post(server.url("/mcp"))
                .header("content-type", "application/json")
                .body(call.to_string())
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18")
                .header("accept", accept);
            async move {
                let r = call.send().await.unwrap();
                assert_eq!(r.status(), 200, "{tool}");
                assert_eq!(r.headers()["content-type"], "text/event-stream", "{tool}");
                let length = r.headers().get("content-length").cloned();
                (length, r.text().await.unwrap())
            }
        };
        let (length, direct) = answer(&ours, "application/json, text/event-stream").await;
        // An answer ready at once (the table list is) goes in one piece, with its length; a
        // query waits for the engine's blocking thread, so its answer is streamed.
        let length = length.map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
        assert!(
            length.is_none_or(|n| n == direct.len()),
            "{tool}: {length:?}"
        );
        if tool == "list_sentinel_tables" {
            assert_eq!(length, Some(direct.len()));
        }
        // A weighted Accept is left to rmcp's full parsing: rmcp answers.
        let (_, rmcp) = answer(&theirs, "application/json, text/event-stream;q=0.9").await;
        let rmcp_message = rmcp
            .lines()
            .find(|l| l.starts_with("data: {"))
            .unwrap_or_else(|| panic!("{tool}: rmcp answered {rmcp:?}"));
        assert!(rmcp.contains("\nid: "), "rmcp's events carry ids: {rmcp:?}");
        assert_eq!(direct, format!("{rmcp_message}\n\n"), "{tool} {arguments}");
    }
}
