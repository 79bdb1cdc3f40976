//! CORS for the origins SENTINEL_MCP_CORS_ORIGINS lists (and for no other), preflights answered
//! without credentials, and the response headers every MCP endpoint sends.

mod common;

use common::{APP, Server, SseClient, TENANT, mcp_post, mcp_session_initialize};
use reqwest::Method;
use serde_json::json;
use test_support::entra::{FakeEntra, TokenSpec};

const WEB_APP: &str = "https://app.contoso.com";

async fn secured_with_cors(entra: &FakeEntra) -> Server {
    common::start_with_entra(entra, &[("SENTINEL_MCP_CORS_ORIGINS", WEB_APP)]).await
}

fn preflight(server: &Server, path: &str, origin: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, mcp-session-id",
        )
}

fn cors_headers(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn preflight_from_a_listed_origin_is_answered_without_credentials() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured_with_cors(&entra).await;
    for path in ["/mcp", "/sse", "/messages"] {
        let r = preflight(&server, path, WEB_APP).send().await.unwrap();
        assert_eq!(r.status(), 204, "{path}: no token needed");
        assert!(r.headers().get("www-authenticate").is_none());
        assert_eq!(header(&r, "access-control-allow-origin"), WEB_APP);
        let methods = header(&r, "access-control-allow-methods");
        for m in ["GET", "POST", "DELETE"] {
            assert!(methods.contains(m), "{path}: {methods}");
        }
        let allowed = header(&r, "access-control-allow-headers").to_ascii_lowercase();
        for h in [
            "authorization",
            "content-type",
            "mcp-session-id",
            "mcp-protocol-version",
            "mcp-method",
            "mcp-name",
            "last-event-id",
        ] {
            assert!(allowed.contains(h), "{path}: {h} missing from {allowed}");
        }
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn responses_to_a_listed_origin_expose_the_session_id_and_the_challenge() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured_with_cors(&entra).await;
    // The refusal of a request without a token is readable by the web app, challenge included.
    let r = mcp_session_initialize(&server, &[("origin", WEB_APP)]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "access-control-allow-origin"), WEB_APP);
    let exposed = header(&r, "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("mcp-session-id") && exposed.contains("www-authenticate"));
    // With a token the listed origin passes the Origin guard and gets its session id.
    let token = entra.mint(&TokenSpec::user(TENANT, APP, &["SecOps.Read"]));
    let bearer = format!("Bearer {token}");
    let r = mcp_session_initialize(
        &server,
        &[("origin", WEB_APP), ("authorization", bearer.as_str())],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("mcp-session-id"));
    assert_eq!(header(&r, "access-control-allow-origin"), WEB_APP);
    assert!(header(&r, "vary").to_ascii_lowercase().contains("origin"));
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured_with_cors(&entra).await;
    // A foreign origin is refused by the Origin guard, preflight or not, and learns nothing.
    for r in [
        preflight(&server, "/mcp", "https://evil.example.com")
            .send()
            .await
            .unwrap(),
        mcp_session_initialize(&server, &[("origin", "https://evil.example.com")]).await,
        // Same host, other scheme or port: another origin.
        preflight(&server, "/mcp", "http://app.contoso.com")
            .send()
            .await
            .unwrap(),
        preflight(&server, "/mcp", "https://app.contoso.com:8443")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 403);
        assert!(cors_headers(&r).is_empty(), "{:?}", cors_headers(&r));
    }
    // An origin the guard allows (loopback) but CORS does not list: answered, no CORS headers.
    let r = preflight(&server, "/mcp", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(cors_headers(&r).is_empty(), "{:?}", cors_headers(&r));
}

#[tokio::test]
async fn without_cors_origins_there_are_no_cors_headers_at_all() {
    let server = Server::start(&[]).await;
    let r = preflight(&server, "/mcp", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(cors_headers(&r).is_empty());
    assert!(r.headers().get("vary").is_none());
    let r = mcp_session_initialize(&server, &[("origin", "http://localhost:6274")]).await;
    assert_eq!(r.status(), 200);
    assert!(cors_headers(&r).is_empty());
}

/// Every MCP response: nosniff and no-store; event streams also X-Accel-Buffering: no.
fn assert_mcp_headers(what: &str, r: &reqwest::Response) {
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(r, "cache-control"), "no-store", "{what}");
    if header(r, "content-type").starts_with("text/event-stream") {
        assert_eq!(header(r, "x-accel-buffering"), "no", "{what}");
    }
}

#[tokio::test]
async fn every_mcp_response_carries_nosniff_and_no_store() {
    let server = Server::start(&[]).await;
    let sse = reqwest::get(server.url("/sse")).await.unwrap();
    assert_eq!(header(&sse, "x-accel-buffering"), "no");
    assert_mcp_headers("GET /sse", &sse);
    let c = SseClient::connect(&server).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    assert_mcp_headers("POST /messages", &c.post_raw(&ping).await);
    let r = mcp_session_initialize(&server, &[]).await;
    assert_eq!(header(&r, "content-type"), "text/event-stream");
    assert_mcp_headers("initialize on /mcp", &r);
    let refusals = [
        mcp_post(
            &server,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .header("mcp-session-id", "no-such-session")
        .send()
        .await
        .unwrap(),
        mcp_session_initialize(&server, &[("host", "evil.example.com")]).await,
        reqwest::Client::new()
            .post(server.url("/messages?sessionId=nope"))
            .header("content-type", "application/json")
            .body(ping)
            .send()
            .await
            .unwrap(),
    ];
    for r in &refusals {
        assert!(r.status().is_client_error(), "{}", r.status());
        assert_mcp_headers("a refusal", r);
    }
}
