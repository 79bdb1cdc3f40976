//! Legacy HTTP+SSE transport behaviour over real sockets.

mod common;

use common::{Server, SseClient, structured, text};
use serde_json::{Value, json};

const READ_TOOLS: [&str; 9] = [
    "run_kql_query",
    "list_sentinel_tables",
    "get_table_schema",
    "list_incidents",
    "get_incident",
    "list_alerts",
    "get_alert",
    "run_hunting_query",
    "investigate_entity",
];

#[tokio::test]
async fn initialize_list_tools_and_query_over_the_stream() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    let init = c.initialize().await;
    assert_eq!(init["result"]["serverInfo"]["name"], "sentinel-mcp-server");
    assert!(init["result"]["capabilities"]["tools"].is_object());

    let tools = c.request("tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in READ_TOOLS {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    assert!(
        !names.contains(&"update_incident") && !names.contains(&"add_incident_comment"),
        "write tools are off by default"
    );
    for t in tools["result"]["tools"].as_array().unwrap() {
        assert!(t["description"].as_str().unwrap().len() > 40, "{t}");
        assert_eq!(t["inputSchema"]["type"], "object");
        assert_eq!(t["outputSchema"]["type"], "object");
    }

    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "print x = 1 + 2, s = strcat('a', 'b')"}),
        )
        .await;
    let s = structured(&r);
    assert_eq!(
        s["columns"],
        json!([{"name": "x", "type": "long"}, {"name": "s", "type": "string"}])
    );
    assert_eq!(s["rows"], json!([[3, "ab"]]));
    assert!(text(&r).contains("| x | s |"));
    // Results keep the shape of the revisions before 2026-07-28, as rmcp gives their peers:
    // no `resultType` (the shared answer of `list_sentinel_tables` included).
    let listed = c.call_tool("list_sentinel_tables", json!({})).await;
    for result in [&tools["result"], &r["result"], &listed["result"]] {
        assert!(result.get("resultType").is_none(), "{result}");
    }
}

#[tokio::test]
async fn post_errors_have_precise_statuses() {
    let server = Server::start(&[("SENTINEL_MCP_MAX_BODY_BYTES", "4096")]).await;
    let c = SseClient::connect(&server).await;
    let http = reqwest::Client::new();

    let r = http
        .post(server.url("/messages"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "missing session id");
    let r = http
        .post(server.url("/messages?sessionId=nope"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "unknown session");
    let r = http
        .post(&c.endpoint)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "wrong content type");
    let r = c.post_raw("{not json").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
    let r = c.post_raw(r#"{"hello": "world"}"#).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32600);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(8192)
    );
    let r = c.post_raw(&big).await;
    assert_eq!(r.status(), 413, "body over the limit");
    // The alternative spelling of the session parameter reaches the same session.
    let alt = c.endpoint.replace("sessionId", "session_id");
    let r = http
        .post(alt)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn protocol_errors_come_back_as_jsonrpc_errors() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.request("no/such/method", json!({})).await;
    assert_eq!(r["error"]["code"], -32601, "{r}");

    let r = c.call_tool("run_kql_query", json!({"query": 5})).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("query"),
        "names the field: {r}"
    );
    let r = c.call_tool("run_kql_query", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("query"),
        "{r}"
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "print 1", "bogus": true}))
        .await;
    assert_eq!(r["error"]["code"], -32602);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("bogus"),
        "{r}"
    );

    let r = c.call_tool("no_such_tool", json!({})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("Unknown tool"));
}

#[tokio::test]
async fn tool_calls_decode_like_any_message_whatever_their_shape() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    // `_meta` in the params and the fields in another order: an ordinary call.
    let r = c
        .post_raw(r#"{"params":{"_meta":{"progressToken":7},"arguments":{"query":"print x = 41 + 1"},"name":"run_kql_query"},"method":"tools/call","id":"call-1","jsonrpc":"2.0"}"#)
        .await;
    assert_eq!(r.status(), 202);
    let ev = c.next_event().await;
    let msg: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(msg["id"], "call-1");
    assert_eq!(msg["jsonrpc"], "2.0");
    assert_eq!(structured(&msg)["rows"], json!([[42]]));
    // A stray `result` makes it no request at all, and nothing runs.
    let r = c
        .post_raw(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_sentinel_tables"},"result":{}}"#)
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600, "{body}");
    // The wrong protocol version is refused the same way.
    let r = c
        .post_raw(r#"{"jsonrpc":"1.0","id":3,"method":"tools/call","params":{"name":"list_sentinel_tables"}}"#)
        .await;
    assert_eq!(r.status(), 400);
    // The next event on the stream answers the next real request, not either of those.
    let r = c
        .post_raw(r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#)
        .await;
    assert_eq!(r.status(), 202);
    let msg: Value = serde_json::from_str(&c.next_event().await.data).unwrap();
    assert_eq!(msg["id"], 4, "{msg}");
}

#[tokio::test]
async fn kql_errors_are_tool_errors_with_a_location() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs\n| wher ResultType == 0"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let t = text(&r);
    assert!(t.contains("line 2"), "{t}");
    let r = c
        .call_tool("run_kql_query", json!({"query": "NoSuchTable | take 1"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("NoSuchTable"), "{r}");
    let r = c
        .call_tool("run_kql_query", json!({"query": ".drop table SigninLogs"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    // The table is still there.
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | count"}))
        .await;
    assert!(structured(&r)["rows"][0][0].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn foreign_host_and_origin_are_refused() {
    let server = Server::start(&[]).await;
    let http = reqwest::Client::new();
    let r = http
        .get(server.url("/sse"))
        .header("host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(server.url("/sse"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        server.sse_sessions().await,
        0,
        "a refused request opens no session"
    );
    let r = http
        .get(server.url("/health"))
        .header("host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "probes are not MCP endpoints");
}

#[tokio::test]
async fn allowed_origin_setting_admits_that_origin() {
    let server = Server::start(&[
        (
            "SENTINEL_MCP_ALLOWED_ORIGINS",
            "https://console.contoso.com",
        ),
        ("SENTINEL_MCP_ALLOWED_HOSTS", "mcp.contoso.com"),
    ])
    .await;
    let http = reqwest::Client::new();
    let r = http
        .get(server.url("/sse"))
        .header("origin", "https://console.contoso.com")
        .header("host", "mcp.contoso.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_thousand_connect_disconnect_cycles_leave_no_session_behind() {
    let server = Server::start(&[]).await;
    for _ in 0..1000 {
        let c = SseClient::connect(&server).await;
        drop(c);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut open = server.sse_sessions().await;
    while open > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        open = server.sse_sessions().await;
    }
    assert_eq!(open, 0);
    let mut c = SseClient::connect(&server).await;
    assert_eq!(
        c.initialize().await["result"]["serverInfo"]["name"],
        "sentinel-mcp-server",
        "still serving"
    );
}

#[tokio::test]
async fn keepalive_comments_arrive_on_an_idle_stream() {
    let server = Server::start(&[("SENTINEL_MCP_SSE_KEEPALIVE_SECS", "1")]).await;
    let resp = reqwest::get(server.url("/sse")).await.unwrap();
    let mut stream = futures::StreamExt::boxed(resp.bytes_stream());
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(": keep-alive") && std::time::Instant::now() < deadline {
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            futures::StreamExt::next(&mut stream),
        )
        .await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(seen.contains(": keep-alive"), "{seen}");
}
