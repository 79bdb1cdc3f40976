//! Streamable HTTP at /mcp: the session era and the stateless 2026-07-28 era.

mod common;

use common::{Server, init_params, mcp_message as message, mcp_post as post, mcp_stateless_call};
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

/// A stateless-era `tools/call` in the plain shape clients send is answered by the server's own
/// path (in one piece, with its length); the same call with a second `Accept` header, which only
/// rmcp's full parsing reads, goes through rmcp's service. Both answers must be the same: status, content type and
/// every byte, for a shared answer, a fresh one, a tool error and a call rmcp refuses.
#[tokio::test]
async fn stateless_calls_answer_alike_on_the_direct_path_and_through_rmcp() {
    let server = Server::start(&[]).await;
    let cases = [
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
    ];
    for (tool, arguments) in cases {
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
