//! Entra ID authentication and authorization: every way a token can be wrong is refused with the
//! right status and challenge, and the refused call never runs.

mod common;

use common::{APP, Server, SseClient, TENANT, structured};
use serde_json::{Value, json};
use test_support::entra::{self, FakeEntra, TokenSpec};

const OTHER_TENANT: &str = "0d4b1e6a-1111-4c4c-9e9e-abcdefabcdef";
const ALL: [&str; 3] = ["SecOps.Read", "SecOps.Hunt", "SecOps.Write"];

async fn secured(entra: &FakeEntra) -> Server {
    common::start_with_entra(
        entra,
        &[
            ("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true"),
            ("SENTINEL_MCP_PUBLIC_URL", "https://mcp.contoso.com"),
            ("RUST_LOG", "debug"),
        ],
    )
    .await
}

/// A stateless (2026-07-28) tools/call of `add_incident_comment` on /mcp: one request runs one tool.
fn comment_call(server: &Server, token: Option<&str>, message: &str) -> reqwest::RequestBuilder {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "auth-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add_incident_comment", "arguments": {"id": "1042", "message": message}, "_meta": meta}});
    let mut req = reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "add_incident_comment")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req
}

fn challenge(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn comments_file(server: &Server) -> String {
    std::fs::read_to_string(server.state_dir.join("sentinel-mcp-state.json")).unwrap_or_default()
}

fn with(mut spec: TokenSpec, f: impl FnOnce(&mut TokenSpec)) -> TokenSpec {
    f(&mut spec);
    spec
}

#[tokio::test]
async fn every_bad_token_is_refused_with_401_and_nothing_runs() {
    let entra = FakeEntra::start(&[TENANT, OTHER_TENANT]).await;
    let server = secured(&entra).await;
    let good = TokenSpec::user(TENANT, APP, &ALL);
    let valid = entra.mint(&good);

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "expired",
            Some(entra.mint(&with(good.clone(), |s| s.expires_in_secs = -600))),
            "expired",
        ),
        (
            "nbf in the future",
            Some(entra.mint(&with(good.clone(), |s| s.not_before_offset_secs = 3600))),
            "not valid yet",
        ),
        (
            "iat in the future",
            Some(entra.mint(&with(good.clone(), |s| {
                s.issued_offset_secs = 3600;
                s.not_before_offset_secs = 0;
            }))),
            "issued in the future",
        ),
        (
            "wrong audience",
            Some(entra.mint(&TokenSpec::user(TENANT, "api://someone-else", &ALL))),
            "another audience",
        ),
        (
            "wrong issuer",
            Some(entra.mint(&with(good.clone(), |s| {
                s.issuer_override = Some("https://evil.example.com/v2.0".into())
            }))),
            "issuer",
        ),
        (
            "wrong tenant",
            Some(entra.mint(&TokenSpec::user(OTHER_TENANT, APP, &ALL))),
            "tenant",
        ),
        ("alg none", Some(entra::alg_none(&valid)), "not accepted"),
        (
            "HS256 with the public key",
            Some(entra::hs256_with_key(&valid, &entra.public_key_pem())),
            "not accepted",
        ),
        (
            "tampered payload",
            Some(entra::tamper_payload(
                &valid,
                "oid",
                json!("00000000-0000-0000-0000-000000000000"),
            )),
            "signature",
        ),
        (
            "tampered signature",
            Some(entra::tamper_signature(&valid)),
            "signature",
        ),
        ("malformed", Some("not.a.jwt".to_string()), "well-formed"),
        ("64 KiB", Some("a".repeat(64 * 1024)), "too large"),
    ];
    for (name, token, reason) in &cases {
        let resp = comment_call(&server, token.as_deref(), name)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{name}");
        let c = challenge(&resp);
        assert!(c.starts_with("Bearer resource_metadata=\"https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp\""), "{name}: {c}");
        assert!(c.contains("error=\"invalid_token\""), "{name}: {c}");
        assert!(c.contains(reason), "{name}: {c} should say {reason}");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("BEGIN") && !body.contains("\"n\""),
            "no key material: {body}"
        );
    }

    // The v1 shape with a v1 audience is accepted too.
    let resp = comment_call(
        &server,
        Some(&entra.mint(&TokenSpec::user(TENANT, &format!("api://{APP}"), &ALL).v1())),
        "v1",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(comments_file(&server).contains("\"v1\""));
    std::fs::remove_file(server.state_dir.join("sentinel-mcp-state.json")).unwrap();

    // No token, a Basic credential, a token in the URL.
    let resp = comment_call(&server, None, "x").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let c = challenge(&resp);
    assert!(
        c.contains("scope=\"api://") && c.contains("SecOps.Read") && !c.contains("error="),
        "missing token: {c}"
    );
    let resp = comment_call(&server, None, "x")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(challenge(&resp).contains("error=\"invalid_request\""));
    let resp = reqwest::Client::new()
        .get(server.url(&format!("/sse?access_token={valid}")))
        .bearer_auth(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        401,
        "a token in the query string is refused even beside a valid header"
    );
    assert!(challenge(&resp).contains("/.well-known/oauth-protected-resource/sse"));

    assert!(comments_file(&server).is_empty(), "no refused call ran");
    let log = server.log();
    for (name, token, _) in &cases {
        if let Some(t) = token
            .as_deref()
            .filter(|t| t.len() > 40 && t.len() < 10_000)
        {
            let signature = t.rsplit('.').next().unwrap_or(t);
            assert!(
                signature.len() < 20 || !log.contains(signature),
                "{name}: token leaked into the log"
            );
        }
    }
    assert!(!log.contains(&valid));

    // Valid v2 and v1 tokens run the tool.
    for spec in [good.clone(), good.clone().v1()] {
        let resp = comment_call(&server, Some(&entra.mint(&spec)), "valid")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{spec:?}");
    }
    assert_eq!(
        comments_file(&server)
            .matches("\"kind\": \"comment\"")
            .count(),
        2
    );
    // Probes need no token.
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
    assert_eq!(
        reqwest::get(server.url("/ready")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_401() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured(&entra).await;
    let good = TokenSpec::app(TENANT, APP, &["SecOps.Read"]);
    assert_eq!(
        comment_call(&server, Some(&entra.mint(&good)), "x")
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "read-only app may not comment"
    );
    let fetches = entra.jwks_fetches();
    assert_eq!(fetches, 1);
    let unknown = entra.mint(&with(good, |s| s.kid_override = Some("no-such-kid".into())));
    for _ in 0..3 {
        let resp = comment_call(&server, Some(&unknown), "x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert!(challenge(&resp).contains("signing key"));
    }
    assert_eq!(
        entra.jwks_fetches(),
        fetches + 1,
        "one forced refetch, not one per request"
    );
}

#[tokio::test]
async fn rotated_key_is_accepted_after_a_refetch() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured(&entra).await;
    let spec = TokenSpec::user(TENANT, APP, &ALL);
    assert_eq!(
        comment_call(&server, Some(&entra.mint(&spec)), "before")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    entra.rotate(true);
    let resp = comment_call(&server, Some(&entra.mint(&spec)), "after")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "keys rotate without a restart");
    assert_eq!(entra.jwks_fetches(), 2);
}

#[tokio::test]
async fn read_only_principal_gets_403_step_up_for_a_write_tool_and_does_not_see_it() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured(&entra).await;
    let reader = entra.mint(&TokenSpec::user(TENANT, APP, &["SecOps.Read"]));
    let resp = comment_call(&server, Some(&reader), "x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let c = challenge(&resp);
    assert!(c.contains("error=\"insufficient_scope\""), "{c}");
    assert!(
        c.contains(&format!("scope=\"api://{APP}/SecOps.Write\"")),
        "{c}"
    );
    assert!(comments_file(&server).is_empty());

    let mut client = SseClient::connect_as(&server, Some(&reader)).await;
    client.initialize().await;
    let tools = client.request("tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"run_kql_query"));
    assert!(
        !names.contains(&"add_incident_comment")
            && !names.contains(&"update_incident")
            && !names.contains(&"run_hunting_query"),
        "{names:?}"
    );
    let r = client
        .call_tool("run_kql_query", json!({"query": "print ok = true"}))
        .await;
    assert_eq!(structured(&r)["rows"], json!([[true]]));
    let resp = client.post_raw(&json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "run_hunting_query", "arguments": {"query": "DeviceProcessEvents | take 1"}}}).to_string()).await;
    assert_eq!(resp.status(), 403, "legacy SSE POSTs get the same step-up");
    assert!(challenge(&resp).contains("SecOps.Hunt"));

    let nobody = entra.mint(&TokenSpec::user(TENANT, APP, &["User.Read"]));
    let resp = reqwest::Client::new()
        .get(server.url("/sse"))
        .bearer_auth(nobody)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        403,
        "a token with no role of ours opens no session"
    );
}

#[tokio::test]
async fn sessions_belong_to_the_principal_that_opened_them() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured(&entra).await;
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &ALL));
    let mallory = entra.mint(&with(TokenSpec::user(TENANT, APP, &ALL), |s| {
        s.oid = "99999999-9999-9999-9999-999999999999".into();
        s.upn = Some("mallory@contoso.com".into());
    }));
    let mut a = SseClient::connect_as(&server, Some(&alice)).await;
    a.initialize().await;
    let hijack = reqwest::Client::new()
        .post(&a.endpoint)
        .bearer_auth(&mallory)
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "add_incident_comment", "arguments": {"id": "1042", "message": "pwned"}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        hijack.status(),
        404,
        "someone else's legacy session looks missing"
    );
    // Streamable HTTP sessions too.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")});
    let resp = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let resp = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&mallory)
        .header("mcp-session-id", &sid)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(!comments_file(&server).contains("pwned"));
    // Alice's own session still works, and the audit log names her.
    let r = a
        .call_tool("run_kql_query", json!({"query": "print n = 1"}))
        .await;
    assert_eq!(structured(&r)["rows"], json!([[1]]));
    let log = server.log();
    let audit: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .collect();
    let last = audit.last().expect("an audit event per tool call");
    assert_eq!(last["tool"], "run_kql_query");
    assert_eq!(last["upn"], test_support::entra::DEFAULT_USER_UPN);
    assert_eq!(last["tid"], TENANT);
    // Roles and scopes as the token's `scp` claim writes them: names, space-separated.
    assert_eq!(last["scopes"], ALL.join(" "));
    assert_eq!(last["roles"], "");
    assert_eq!(last["outcome"], "ok");
    assert!(last["arguments"].as_str().unwrap().contains("print n = 1"));
    assert!(
        last["session_id"]
            .as_str()
            .is_some_and(|s| s == a.session_id)
    );
    assert!(!log.contains(&alice) && !log.contains(&mallory));
}

#[tokio::test]
async fn on_port_zero_the_default_resource_url_names_the_port_the_system_chose() {
    let entra = FakeEntra::start(&[TENANT]).await;
    // The harness starts every server with PORT=0 and reads the port from its "listening" line.
    let server = common::start_with_entra(&entra, &[]).await;
    assert_ne!(server.port, 0);
    let doc: Value = reqwest::get(server.url("/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["resource"],
        format!("http://127.0.0.1:{}/mcp", server.port)
    );
}

#[tokio::test]
async fn protected_resource_metadata_describes_the_server() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = secured(&entra).await;
    for (path, resource) in [
        ("", "https://mcp.contoso.com"),
        ("/mcp", "https://mcp.contoso.com/mcp"),
        ("/sse", "https://mcp.contoso.com/sse"),
    ] {
        let doc: Value =
            reqwest::get(server.url(&format!("/.well-known/oauth-protected-resource{path}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(doc["resource"], resource);
        assert_eq!(
            doc["authorization_servers"],
            json!([format!("{}/{TENANT}/v2.0", entra.authority_host())])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(format!("api://{APP}/SecOps.Write")))
        );
    }
}

#[test]
fn unauthenticated_server_on_a_public_address_refuses_to_start() {
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SENTINEL_MCP_ALLOW_UNAUTHENTICATED"));
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--host", "127.0.0.1"])
        .env("SENTINEL_MCP_AUTH", "entra")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AZURE_TENANT_ID"));
    let out = std::process::Command::new(common::BIN)
        .args(["serve"])
        .envs([
            ("SENTINEL_MCP_AUTH", "entra"),
            ("AZURE_TENANT_ID", TENANT),
            ("MCP_SERVER_APP_ID", APP),
            ("SENTINEL_MCP_AUTHORITY_HOST", "http://login.example.com"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"));
}

#[tokio::test]
async fn explicitly_allowed_unauthenticated_public_server_starts_with_a_warning() {
    let log = common::temp_dir("public").join("server.log");
    let mut child = std::process::Command::new(common::BIN)
        .args(["serve", "--host", "0.0.0.0"])
        .envs([
            ("PORT", "0".into()),
            ("SENTINEL_MCP_ALLOW_UNAUTHENTICATED", "true".into()),
            ("SENTINEL_MCP_DEMO_ROWS", "2000".into()),
            ("RUST_LOG", common::with_listening_line("warn")),
        ])
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let port = common::listening_port(&mut child, &log).await;
    let port = port.expect("the server listens");
    let mut ok = false;
    for _ in 0..100 {
        if reqwest::get(format!("http://127.0.0.1:{port}/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "started");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("WITHOUT authentication"), "{log}");
}

#[tokio::test]
async fn multi_tenant_allowlist_and_a_custom_app_id_uri_are_honoured() {
    let third = "3a3a3a3a-3333-4333-8333-333333333333";
    let entra = FakeEntra::start(&[TENANT, OTHER_TENANT, third]).await;
    let authority = entra.authority_host();
    let tenants = format!("{OTHER_TENANT}, {TENANT}");
    let server = Server::start(&[
        ("SENTINEL_MCP_AUTH", "entra"),
        ("SENTINEL_MCP_ALLOWED_TENANTS", tenants.as_str()),
        ("MCP_SERVER_APP_ID", APP),
        (
            "SENTINEL_MCP_APP_ID_URI",
            "https://sentinel-mcp.contoso.com",
        ),
        ("SENTINEL_MCP_AUTHORITY_HOST", authority.as_str()),
        ("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true"),
    ])
    .await;
    for (tenant, audience) in [
        (TENANT, APP),
        (OTHER_TENANT, "https://sentinel-mcp.contoso.com"),
        (OTHER_TENANT, &format!("api://{APP}")),
    ] {
        let token = entra.mint(&TokenSpec::user(tenant, audience, &ALL));
        assert_eq!(
            comment_call(&server, Some(&token), "ok")
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{tenant} {audience}"
        );
    }
    let outsider = entra.mint(&TokenSpec::user(third, APP, &ALL));
    let resp = comment_call(&server, Some(&outsider), "no")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a tenant outside the allowlist");
    assert!(challenge(&resp).contains("tenant"));
    let doc: Value = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["authorization_servers"].as_array().unwrap().len(), 2);
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("https://sentinel-mcp.contoso.com/SecOps.Read"))
    );
    assert_eq!(
        comments_file(&server)
            .matches("\"kind\": \"comment\"")
            .count(),
        3
    );
}
