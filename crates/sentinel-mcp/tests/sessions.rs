//! Session lifetimes and the per-principal session quota through the real binary, on both
//! transports: idle sessions are closed (keep-alive comments do not count), the next session over
//! SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL is refused with 429 while the others keep working,
//! and every way a session ends (stream closed, DELETE, idle expiry) frees exactly its slot.

mod common;

use std::time::Duration;

use common::{
    APP, Server, SseClient, TENANT, mcp_message, mcp_open_session, mcp_session_initialize,
    mcp_session_request, wait_until,
};
use serde_json::{Value, json};
use test_support::entra::{FakeEntra, TokenSpec};

/// Asserts the 429 of a session over the quota, naming the limit.
async fn assert_quota_refusal(resp: reqwest::Response) {
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["limit"], "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL",
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("2 open sessions"),
        "{body}"
    );
}

/// `GET /sse` with extra headers, the response unread.
async fn get_sse(server: &Server, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(server.url("/sse"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn delete_session(server: &Server, sid: &str) {
    let r = reqwest::Client::new()
        .delete(server.url("/mcp"))
        .header("mcp-session-id", sid)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "DELETE answered {}", r.status());
}

#[tokio::test]
async fn an_idle_legacy_sse_session_is_closed_while_a_busy_one_stays() {
    let server = Server::start(&[
        ("SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS", "4"),
        ("SENTINEL_MCP_SSE_KEEPALIVE_SECS", "1"),
    ])
    .await;
    let mut idle = SseClient::connect(&server).await;
    idle.initialize().await;
    let mut busy = SseClient::connect(&server).await;
    busy.initialize().await;
    let idle_endpoint = idle.endpoint.clone();

    // The idle one gets keep-alive comments every second, yet ends: they are not activity.
    let ended = tokio::spawn(async move { idle.next_event_or_end().await.is_none() });
    // The busy one sends a request every half second for twice the timeout and stays open.
    for _ in 0..16 {
        assert_eq!(busy.request("ping", json!({})).await["result"], json!({}));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(ended.await.unwrap(), "the idle stream ended cleanly");
    assert_eq!(server.sse_sessions().await, 1);
    let r = reqwest::Client::new()
        .post(&idle_endpoint)
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the idle session is gone");
    // Left alone, the busy one expires too.
    assert!(busy.next_event_or_end().await.is_none());
    assert_eq!(server.sse_sessions().await, 0);
}

#[tokio::test]
async fn an_idle_streamable_http_session_is_deleted_and_its_slot_freed() {
    let server = Server::start(&[
        ("SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS", "2"),
        ("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "1"),
    ])
    .await;
    let sid = mcp_open_session(&server, &[]).await;
    assert_eq!(server.sessions_gauge("streamable").await, 1);
    // Tool calls every half second for twice the timeout keep it open.
    for id in 10..18 {
        let call = mcp_session_request(
            &server,
            &sid,
            id,
            "tools/call",
            json!({"name": "list_sentinel_tables", "arguments": {}}),
        )
        .await;
        assert!(mcp_message(call).await["result"]["structuredContent"].is_object());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        server.sessions_gauge("streamable").await,
        1,
        "a busy session stays"
    );
    // So does one call running for longer than the timeout.
    let endless = json!({"name": "run_kql_query", "arguments": {
        "query": "DeviceNetworkEvents | join kind=inner (DeviceNetworkEvents) on ActionType | summarize count()"}});
    let running = mcp_session_request(&server, &sid, 20, "tools/call", endless).await;
    assert_eq!(running.status(), 200);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        server.sessions_gauge("streamable").await,
        1,
        "a running call keeps it"
    );
    drop(running);
    wait_until("the idle session expires", || async {
        server.sessions_gauge("streamable").await == 0
    })
    .await;
    let r = mcp_session_request(&server, &sid, 2, "tools/list", json!({})).await;
    assert_eq!(r.status(), 404, "later requests are told to re-initialize");
    // Its quota slot went with it.
    mcp_open_session(&server, &[]).await;
}

#[tokio::test]
async fn the_session_quota_spans_both_transports_and_each_close_frees_one_slot() {
    let server = Server::start(&[("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "2")]).await;
    let mut first = SseClient::connect(&server).await;
    first.initialize().await;
    let sid = mcp_open_session(&server, &[]).await;

    assert_quota_refusal(get_sse(&server, &[]).await).await;
    assert_quota_refusal(mcp_session_initialize(&server, &[]).await).await;
    // Refusals hold nothing, and the open sessions are untouched.
    for _ in 0..5 {
        assert_eq!(get_sse(&server, &[]).await.status(), 429);
    }
    let tools = first.request("tools/list", json!({})).await;
    assert!(!tools["result"]["tools"].as_array().unwrap().is_empty());
    let tools =
        mcp_message(mcp_session_request(&server, &sid, 2, "tools/list", json!({})).await).await;
    assert!(!tools["result"]["tools"].as_array().unwrap().is_empty());

    // DELETE frees exactly one slot.
    delete_session(&server, &sid).await;
    let mut second = SseClient::connect(&server).await;
    second.initialize().await;
    assert_eq!(get_sse(&server, &[]).await.status(), 429);

    // A closed stream frees exactly one slot.
    drop(first);
    wait_until("the closed stream's slot is free", || async {
        server.sse_sessions().await == 1
    })
    .await;
    let sid = mcp_open_session(&server, &[]).await;
    assert_quota_refusal(mcp_session_initialize(&server, &[]).await).await;
    delete_session(&server, &sid).await;
    drop(second);
}

#[tokio::test]
async fn zero_turns_the_session_quota_off() {
    let server = Server::start(&[("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "0")]).await;
    let mut held = Vec::new();
    for _ in 0..60 {
        held.push(SseClient::connect(&server).await);
    }
    for _ in 0..60 {
        mcp_open_session(&server, &[]).await;
    }
    assert_eq!(server.sse_sessions().await, 60);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    let server = Server::start(&[
        ("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "2"),
        ("SENTINEL_MCP_TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8"),
    ])
    .await;
    let alice = [("x-forwarded-for", "203.0.113.1")];
    let bob = [("x-forwarded-for", "203.0.113.2, 10.1.2.3")];
    let _a1 = SseClient::connect_with(&server, None, &alice).await;
    let _a2 = mcp_open_session(&server, &alice).await;
    let _b1 = SseClient::connect_with(&server, None, &bob).await;
    let _b2 = mcp_open_session(&server, &bob).await;
    assert_quota_refusal(get_sse(&server, &alice).await).await;
    assert_quota_refusal(mcp_session_initialize(&server, &bob).await).await;
    // Claiming another address on the left of what the proxy saw changes nothing.
    let spoofed = [("x-forwarded-for", "198.51.100.7, 203.0.113.1")];
    assert_quota_refusal(get_sse(&server, &spoofed).await).await;
    // Another client behind the proxy is not held back.
    let carol = [("x-forwarded-for", "203.0.113.3")];
    assert_eq!(get_sse(&server, &carol).await.status(), 200);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let server = Server::start(&[("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "2")]).await;
    let _a = SseClient::connect_with(&server, None, &[("x-forwarded-for", "203.0.113.1")]).await;
    let _b = mcp_open_session(&server, &[("x-forwarded-for", "203.0.113.2")]).await;
    // Every client address claimed here is the peer's own, 127.0.0.1, and it is full.
    assert_quota_refusal(get_sse(&server, &[("x-forwarded-for", "203.0.113.3")]).await).await;
    assert_quota_refusal(
        mcp_session_initialize(&server, &[("x-forwarded-for", "203.0.113.4")]).await,
    )
    .await;
}

#[tokio::test]
async fn with_entra_the_quota_is_per_principal_whatever_the_token_or_address() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server =
        common::start_with_entra(&entra, &[("SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", "2")]).await;
    let user = TokenSpec::user(TENANT, APP, &["SecOps.Read"]);
    let token = entra.mint(&user);
    let bearer = format!("Bearer {token}");
    let _s1 = SseClient::connect_as(&server, Some(&token)).await;
    let _s2 = mcp_open_session(&server, &[("authorization", bearer.as_str())]).await;
    // Another token of the same user is the same principal.
    let again = entra.mint(&TokenSpec {
        expires_in_secs: 1800,
        ..user.clone()
    });
    let again = format!("Bearer {again}");
    assert_quota_refusal(get_sse(&server, &[("authorization", again.as_str())]).await).await;
    // Another principal from the same address has its own quota.
    let daemon = entra.mint(&TokenSpec::app(TENANT, APP, &["SecOps.Read"]));
    let mut other = SseClient::connect_as(&server, Some(&daemon)).await;
    other.initialize().await;
}
