//! SENTINEL_MCP_AZURE_ACCESS=on-behalf-of: the real server exchanges each caller's token with the
//! fake Entra's on-behalf-of grant and reaches the fake Azure services as the caller, whose own
//! rights decide what it sees. Every Azure request the fakes received is checked for whose token
//! it carried.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Server, SseClient, temp_dir};
use serde_json::{Value, json};
use test_support::azure::{self, FakeAzure, GRAPH, LOG_ANALYTICS, SERVER_IDENTITY_OID};
use test_support::entra::{
    self, AppRegistration, ClientAuth, FakeEntra, MANAGED_IDENTITY_CLIENT_ID,
    MANAGED_IDENTITY_PRINCIPAL_ID, TOKEN_EXCHANGE_AUDIENCE, TokenSpec,
};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP: &str = "8a3c6a3e-5d4c-4e57-9a39-6b1e4d2c7f10";
const SCOPES: [&str; 3] = ["SecOps.Read", "SecOps.Hunt", "SecOps.Write"];
const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const BOB: &str = "b0b00000-0000-4000-8000-000000000002";
const SECRET: &str = "obo-app-secret-value";

/// How the server authenticates to Entra in the exchange.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Credential {
    ManagedIdentity,
    Certificate,
    UntrustedCertificate,
    Secret,
}

struct Setup {
    fake: FakeAzure,
    entra: FakeEntra,
    server: Server,
}

/// The app registration with admin consent for Log Analytics, Graph and ARM, and every kind of
/// credential the server may use.
fn registration(entra: &FakeEntra) -> AppRegistration {
    let mut app = AppRegistration::new(APP)
        .consent(LOG_ANALYTICS, &["Data.Read"])
        .consent(
            GRAPH,
            &[
                "SecurityIncident.Read.All",
                "SecurityAlert.Read.All",
                "ThreatHunting.Read.All",
            ],
        )
        .consent(azure::ARM, &["user_impersonation"]);
    app.secrets.push(SECRET.into());
    app.certificates.push(entra::client_certificate());
    app.federated.push(entra.managed_identity_credential());
    app
}

async fn start(credential: Credential, extra: &[(&str, &str)]) -> Setup {
    let fake = FakeAzure::start(20_000).await;
    let entra = FakeEntra::start(&[TENANT]).await;
    entra.register_app(registration(&entra));
    let server = launch(&fake, &entra, credential, extra).await;
    server.wait_ready().await;
    Setup {
        fake,
        entra,
        server,
    }
}

/// The server in on-behalf-of mode, not yet ready. The server's own identity is the managed
/// identity of the fake Entra (with `ManagedIdentity`) or the fake Azure's IMDS otherwise; it
/// never holds a client secret of its own.
async fn launch(
    fake: &FakeAzure,
    entra: &FakeEntra,
    credential: Credential,
    extra: &[(&str, &str)],
) -> Server {
    let state = temp_dir("obo");
    let mut env: Vec<(String, String)> = fake
        .server_env()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "AZURE_CLIENT_SECRET" | "AZURE_CLIENT_ID"))
        .collect();
    for (k, v) in [
        ("SENTINEL_MCP_AUTH", "entra".into()),
        ("AZURE_TENANT_ID", TENANT.into()),
        ("MCP_SERVER_APP_ID", APP.into()),
        ("SENTINEL_MCP_AUTHORITY_HOST", entra.authority_host()),
        ("SENTINEL_MCP_AZURE_ACCESS", "on-behalf-of".into()),
        ("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true".into()),
        ("RUST_LOG", "info".into()),
    ] {
        env.push((k.into(), v));
    }
    let pem = state.join("client.pem");
    match credential {
        Credential::ManagedIdentity => {
            env.push(("IDENTITY_ENDPOINT".into(), entra.identity_endpoint()));
            env.push(("IDENTITY_HEADER".into(), azure::IDENTITY_HEADER.into()));
            env.push(("AZURE_CLIENT_ID".into(), MANAGED_IDENTITY_CLIENT_ID.into()));
        }
        Credential::Certificate | Credential::UntrustedCertificate => {
            let text = if credential == Credential::Certificate {
                entra::client_certificate_pem()
            } else {
                entra::untrusted_certificate_pem()
            };
            std::fs::write(&pem, text).unwrap();
            env.push((
                "SENTINEL_MCP_CLIENT_CERTIFICATE_PATH".into(),
                pem.display().to_string(),
            ));
        }
        Credential::Secret => env.push(("SENTINEL_MCP_CLIENT_SECRET".into(), SECRET.into())),
    }
    for (k, v) in extra {
        env.push((k.to_string(), v.to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Server::launch(&env, state).await
}

fn user(entra: &FakeEntra, oid: &str, name: &str) -> String {
    let mut spec = TokenSpec::user(TENANT, APP, &SCOPES);
    spec.oid = oid.into();
    spec.upn = Some(format!("{name}@contoso.onmicrosoft.com"));
    entra.mint(&spec)
}

/// A stateless (2026-07-28) `tools/call` on /mcp.
async fn call(server: &Server, token: &str, tool: &str, args: Value) -> reqwest::Response {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "obo-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": args, "_meta": meta}});
    reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// The JSON-RPC message of a response, plain JSON or one SSE event.
async fn message(resp: reqwest::Response) -> Value {
    let body = resp.text().await.unwrap();
    if let Ok(v) = serde_json::from_str::<Value>(&body) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC response in: {body}"))
}

/// A successful tool call's result (asserting HTTP 200).
async fn result(server: &Server, token: &str, tool: &str, args: Value) -> Value {
    let resp = call(server, token, tool, args).await;
    let status = resp.status();
    let m = message(resp).await;
    assert_eq!(status, 200, "{tool}: {m}");
    m["result"].clone()
}

/// `print 1` runs for the caller.
async fn query_runs(server: &Server, token: &str) {
    let r = result(server, token, "run_kql_query", json!({"query": "print 1"})).await;
    assert_ne!(r["isError"], true, "{r}");
}

fn result_text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn incident_ids(result: &Value) -> Vec<String> {
    result["structuredContent"]["incidents"]
        .as_array()
        .unwrap_or_else(|| panic!("no incidents: {result}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every request a fake Azure data service received, with whose token it carried.
fn data_requests(fake: &FakeAzure) -> Vec<azure::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/workspaces") || r.path.starts_with("/v1.0/"))
        .collect()
}

fn bearer(r: &azure::Recorded) -> String {
    r.header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn each_user_reaches_azure_as_themselves_and_sees_what_their_own_rights_allow() {
    let s = start(Credential::ManagedIdentity, &[]).await;
    // Bob may not read SigninLogs (table-level RBAC) nor see incident 101.
    s.fake.hide_table("SigninLogs", BOB);
    s.fake.hide_incident("101", BOB);
    let alice = user(&s.entra, ALICE, "alice");
    let bob = user(&s.entra, BOB, "bob");
    let query = json!({"query": "SigninLogs | summarize n = count()", "timespan": "P30D"});

    for _ in 0..3 {
        let a = result(&s.server, &alice, "run_kql_query", query.clone()).await;
        assert_ne!(a["isError"], true, "{a}");
        assert!(
            a["structuredContent"]["rows"][0][0].as_i64().unwrap() > 0,
            "{a}"
        );
        let b = result(&s.server, &bob, "run_kql_query", query.clone()).await;
        assert_eq!(b["isError"], true, "Bob's own rights hide the table: {b}");
        assert!(result_text(&b).contains("SigninLogs"), "{b}");
    }
    let a = result(&s.server, &alice, "list_incidents", json!({})).await;
    let b = result(&s.server, &bob, "list_incidents", json!({})).await;
    assert!(incident_ids(&a).contains(&"101".to_string()), "{a}");
    assert!(!incident_ids(&b).contains(&"101".to_string()), "{b}");
    assert!(!incident_ids(&b).is_empty(), "{b}");

    // Every data request carried the caller's own delegated token, never the server's.
    let requests = data_requests(&s.fake);
    assert!(requests.len() >= 8, "{requests:?}");
    for r in &requests {
        let p = r
            .principal
            .as_ref()
            .expect("a principal on every data request");
        assert!(!p.app_only, "an app token reached Azure: {r:?}");
        assert!(p.oid == ALICE || p.oid == BOB, "{r:?}");
        assert_ne!(p.oid, SERVER_IDENTITY_OID);
        assert_ne!(p.oid, MANAGED_IDENTITY_PRINCIPAL_ID);
    }
    let by = |oid: &str| {
        requests
            .iter()
            .filter(|r| r.principal.as_ref().is_some_and(|p| p.oid == oid))
            .count()
    };
    assert!(by(ALICE) >= 4 && by(BOB) >= 4);

    // One exchange per user and resource across all those calls, each authenticated with the
    // managed identity's federated assertion.
    for oid in [ALICE, BOB] {
        assert_eq!(s.entra.exchanges_for(oid, LOG_ANALYTICS), 1, "{oid}");
        assert_eq!(s.entra.exchanges_for(oid, GRAPH), 1, "{oid}");
    }
    let requests = s.entra.token_requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.client_auth == ClientAuth::Federated && r.client_id == APP)
    );
    assert!(
        s.entra
            .identity_requests()
            .iter()
            .all(|r| r.resource == TOKEN_EXCHANGE_AUDIENCE && r.issued)
    );

    // The audit line says the caller's identity reached Azure; no token is in the log.
    let log = s.server.log();
    let audits: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"tool call\""))
        .collect();
    assert_eq!(audits.len(), 8, "{log}");
    assert!(
        audits.iter().all(|l| l.contains("\"identity\":\"caller\"")),
        "{log}"
    );
    for token in fake_tokens(&s.fake).iter().chain([&alice, &bob]) {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token leaked into the log");
    }
}

fn fake_tokens(fake: &FakeAzure) -> Vec<String> {
    data_requests(fake).iter().map(bearer).collect()
}

#[tokio::test]
async fn concurrent_calls_of_one_user_share_one_exchange() {
    let s = start(Credential::Secret, &[]).await;
    s.entra.set_token_delay(Duration::from_millis(300));
    let alice = user(&s.entra, ALICE, "alice");
    let calls = (0..6).map(|i| {
        let (server, token) = (&s.server, alice.clone());
        async move {
            let q = json!({"query": format!("print n = {i}")});
            result(server, &token, "run_kql_query", q).await
        }
    });
    for r in futures::future::join_all(calls).await {
        assert_ne!(r["isError"], true, "{r}");
    }
    assert_eq!(s.entra.exchanges_for(ALICE, LOG_ANALYTICS), 1);
    let requests = s.entra.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].client_auth, ClientAuth::Secret);
}

#[tokio::test]
async fn a_certificate_signs_the_client_assertion_and_an_untrusted_one_is_a_503() {
    let s = start(Credential::Certificate, &[]).await;
    let alice = user(&s.entra, ALICE, "alice");
    let r = result(&s.server, &alice, "list_alerts", json!({})).await;
    assert_ne!(r["isError"], true, "{r}");
    let requests = s.entra.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].client_auth, ClientAuth::Certificate);
    assert_eq!(requests[0].resource, GRAPH);

    // A certificate the app registration does not hold: the server's credential fails, which
    // is the operator's to fix: 503 with a clear message, never a 401 that loops sign-ins.
    let untrusted = launch(&s.fake, &s.entra, Credential::UntrustedCertificate, &[]).await;
    untrusted.wait_ready().await;
    let before = data_requests(&s.fake).len();
    let resp = call(&untrusted, &alice, "list_alerts", json!({})).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("www-authenticate").is_none());
    let m = message(resp).await;
    let text = m["error"]["message"].as_str().unwrap();
    assert!(text.contains("cannot authenticate to Entra ID"), "{m}");
    assert!(text.contains("AADSTS700027"), "{m}");
    assert_eq!(
        data_requests(&s.fake).len(),
        before,
        "nothing reached Azure"
    );
}

#[tokio::test]
async fn ready_checks_only_the_servers_client_assertion() {
    let fake = FakeAzure::start(20_000).await;
    let entra = FakeEntra::start(&[TENANT]).await;
    entra.register_app(registration(&entra));
    entra.set_identity_down(true);
    let server = launch(&fake, &entra, Credential::ManagedIdentity, &[]).await;
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let body = loop {
        let resp = client.get(server.url("/ready")).send().await;
        if let Ok(resp) = resp {
            assert_ne!(resp.status(), 200, "ready without a client assertion");
            let body: Value = resp.json().await.unwrap();
            let reason = body["backend"]["reason"].as_str().unwrap_or("checking");
            if !reason.starts_with("checking") {
                break body;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["status"], "not_ready");
    let reason = body["backend"]["reason"].as_str().unwrap();
    assert!(reason.contains(TOKEN_EXCHANGE_AUDIENCE), "{reason}");
    // Readiness never ran a query: the server's identity needs no data role.
    assert!(data_requests(&fake).is_empty());
}

#[tokio::test]
async fn missing_admin_consent_is_a_tool_error_naming_the_permission() {
    let s = start(Credential::Secret, &[]).await;
    let mut app = registration(&s.entra);
    app.consent.retain(|(resource, _)| resource != GRAPH);
    s.entra.register_app(app);
    let alice = user(&s.entra, ALICE, "alice");
    let r = result(&s.server, &alice, "list_incidents", json!({})).await;
    assert_eq!(r["isError"], true, "{r}");
    let text = result_text(&r);
    assert!(text.contains("SecurityIncident.Read.All"), "{text}");
    assert!(
        text.contains("administrator must grant admin consent"),
        "{text}"
    );
    assert!(text.contains("AADSTS65001"), "{text}");
    assert!(data_requests(&s.fake).is_empty());
    // Log Analytics is consented: that still works.
    query_runs(&s.server, &alice).await;
}

#[tokio::test]
async fn a_conditional_access_claims_challenge_reaches_the_client() {
    let s = start(Credential::Secret, &[]).await;
    s.entra.require_mfa(ALICE, LOG_ANALYTICS);
    let alice = user(&s.entra, ALICE, "alice");
    let query = json!({"query": "print 1"});

    // On /mcp: HTTP 401 with the challenge, before any response started.
    let resp = call(&s.server, &alice, "run_kql_query", query.clone()).await;
    assert_eq!(resp.status(), 401);
    let header = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(header.starts_with("Bearer "), "{header}");
    assert!(header.contains("error=\"insufficient_claims\""), "{header}");
    let claims = header
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(claims)
        .unwrap();
    let decoded: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(
        decoded["access_token"]["capolids"]["essential"], true,
        "{decoded}"
    );
    let m = message(resp).await;
    assert!(
        m["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Conditional Access"),
        "{m}"
    );

    // On legacy SSE the POST is answered on the stream: a JSON-RPC error with the challenge.
    let mut sse = SseClient::connect_as(&s.server, Some(&alice)).await;
    sse.initialize().await;
    let r = sse.call_tool("run_kql_query", query.clone()).await;
    let data = &r["error"]["data"];
    assert_eq!(data["status"], 401, "{r}");
    assert!(
        data["www_authenticate"].as_str().unwrap().contains(claims),
        "{r}"
    );

    // Signed in again with MFA, the same user gets through.
    let mut spec = TokenSpec::user(TENANT, APP, &SCOPES);
    spec.oid = ALICE.into();
    spec.extra.insert("amr".into(), json!(["pwd", "mfa"]));
    let r = result(&s.server, &s.entra.mint(&spec), "run_kql_query", query).await;
    assert_ne!(r["isError"], true, "{r}");
    assert_eq!(data_requests(&s.fake).len(), 1);
}

#[tokio::test]
async fn app_only_callers_are_denied_by_default_or_use_the_server_identity() {
    let s = start(Credential::ManagedIdentity, &[]).await;
    let daemon = s.entra.mint(&TokenSpec::app(TENANT, APP, &SCOPES));
    let resp = call(
        &s.server,
        &daemon,
        "run_kql_query",
        json!({"query": "print 1"}),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let m = message(resp).await;
    let text = m["error"]["message"].as_str().unwrap();
    assert!(
        text.contains("SENTINEL_MCP_APP_CALLERS=server-identity"),
        "{text}"
    );
    assert!(data_requests(&s.fake).is_empty());
    assert!(s.entra.token_requests().is_empty());

    let allowed = launch(
        &s.fake,
        &s.entra,
        Credential::ManagedIdentity,
        &[("SENTINEL_MCP_APP_CALLERS", "server-identity")],
    )
    .await;
    allowed.wait_ready().await;
    query_runs(&allowed, &daemon).await;
    let requests = data_requests(&s.fake);
    assert_eq!(requests.len(), 1);
    let p = requests[0].principal.as_ref().unwrap();
    assert_eq!(
        p.oid, MANAGED_IDENTITY_PRINCIPAL_ID,
        "the server's own identity"
    );
    assert!(
        s.entra.token_requests().is_empty(),
        "no exchange for an app"
    );
    let log = allowed.log();
    let audit = log.lines().find(|l| l.contains("\"tool call\"")).unwrap();
    assert!(audit.contains("\"identity\":\"server\""), "{audit}");
}

#[tokio::test]
async fn a_caller_whose_token_expired_gets_401_not_a_cached_downstream_token() {
    let s = start(Credential::Secret, &[("SENTINEL_MCP_CLOCK_SKEW_SECS", "0")]).await;
    let mut spec = TokenSpec::user(TENANT, APP, &SCOPES);
    spec.oid = ALICE.into();
    spec.expires_in_secs = 8;
    let alice = s.entra.mint(&spec);
    let expires = std::time::Instant::now() + Duration::from_secs(8);
    query_runs(&s.server, &alice).await;
    let before = data_requests(&s.fake).len();
    tokio::time::sleep_until((expires + Duration::from_secs(2)).into()).await;
    let resp = call(
        &s.server,
        &alice,
        "run_kql_query",
        json!({"query": "print 1"}),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let header = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(header.contains("invalid_token"), "{header}");
    assert_eq!(
        data_requests(&s.fake).len(),
        before,
        "nothing reached Azure"
    );
    assert_eq!(s.entra.exchanges_for(ALICE, LOG_ANALYTICS), 1);
}

#[tokio::test]
async fn sentinel_arm_is_reached_as_the_caller_and_refuses_one_without_a_role() {
    let s = start(
        Credential::Certificate,
        &[
            ("SENTINEL_MCP_INCIDENTS_API", "arm"),
            (
                "SENTINEL_MCP_WORKSPACE_RESOURCE_ID",
                azure::WORKSPACE_RESOURCE_ID,
            ),
        ],
    )
    .await;
    s.fake.deny_arm(BOB);
    let alice = user(&s.entra, ALICE, "alice");
    let bob = user(&s.entra, BOB, "bob");
    let a = result(&s.server, &alice, "list_incidents", json!({})).await;
    assert!(!incident_ids(&a).is_empty(), "{a}");
    let b = result(&s.server, &bob, "list_incidents", json!({})).await;
    assert_eq!(b["isError"], true, "{b}");
    assert!(result_text(&b).contains("AuthorizationFailed"), "{b}");
    let arm: Vec<azure::Recorded> = s.fake.requests_to(azure::WORKSPACE_RESOURCE_ID);
    assert!(arm.len() >= 2);
    for r in &arm {
        let p = r.principal.as_ref().unwrap();
        assert!(p.is_user(ALICE) || p.is_user(BOB), "{r:?}");
    }
    assert_eq!(s.entra.exchanges_for(ALICE, azure::ARM), 1);
    assert_eq!(s.entra.exchanges_for(BOB, azure::ARM), 1);
}

#[test]
fn on_behalf_of_without_entra_authentication_or_the_azure_backend_refuses_to_start() {
    let run = |env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.arg("serve")
            .env_clear()
            .env("PORT", "0")
            .env("SENTINEL_MCP_AZURE_ACCESS", "on-behalf-of");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run(&[
        ("SENTINEL_MCP_BACKEND", "azure"),
        ("SENTINEL_WORKSPACE_ID", "w"),
    ]);
    assert!(err.contains("needs SENTINEL_MCP_AUTH=entra"), "{err}");
    let err = run(&[]);
    assert!(err.contains("needs SENTINEL_MCP_BACKEND=azure"), "{err}");
}

#[tokio::test]
async fn downstream_tokens_are_renewed_five_minutes_early_and_the_cache_is_bounded() {
    // One entry: Bob's token pushes Alice's out, so Alice is exchanged again.
    let s = start(
        Credential::Secret,
        &[("SENTINEL_MCP_OBO_CACHE_ENTRIES", "1")],
    )
    .await;
    let alice = user(&s.entra, ALICE, "alice");
    let bob = user(&s.entra, BOB, "bob");
    query_runs(&s.server, &alice).await;
    query_runs(&s.server, &alice).await;
    assert_eq!(s.entra.exchanges_for(ALICE, LOG_ANALYTICS), 1);
    query_runs(&s.server, &bob).await;
    query_runs(&s.server, &alice).await;
    assert_eq!(s.entra.exchanges_for(ALICE, LOG_ANALYTICS), 2);

    // A downstream token with less than five minutes left is not served from the cache.
    s.entra.set_token_lifetime(240);
    query_runs(&s.server, &bob).await;
    query_runs(&s.server, &bob).await;
    assert_eq!(s.entra.exchanges_for(BOB, LOG_ANALYTICS), 3);
}

#[tokio::test]
async fn a_downstream_token_the_service_refuses_is_exchanged_again_once() {
    let s = start(Credential::Secret, &[]).await;
    let alice = user(&s.entra, ALICE, "alice");
    query_runs(&s.server, &alice).await;
    s.fake.inject("/query", azure::Fault::Unauthorized);
    query_runs(&s.server, &alice).await;
    assert_eq!(s.entra.exchanges_for(ALICE, LOG_ANALYTICS), 2);
    let queries = s.fake.requests_to("/query");
    assert_eq!(queries.len(), 3, "the refused call was repeated once");
    assert_ne!(bearer(&queries[1]), bearer(&queries[2]), "with a new token");
    assert!(
        queries
            .iter()
            .all(|r| r.principal.as_ref().unwrap().is_user(ALICE))
    );
}

#[tokio::test]
async fn a_server_credential_entra_does_not_accept_is_a_503_naming_entras_reason() {
    let fake = FakeAzure::start(20_000).await;
    let entra = FakeEntra::start(&[TENANT]).await;
    // Registered without the managed identity's federated credential and with another secret.
    let mut app = registration(&entra);
    app.federated.clear();
    app.secrets = vec!["another-secret".into()];
    entra.register_app(app);
    let alice = user(&entra, ALICE, "alice");
    for (credential, code) in [
        (Credential::ManagedIdentity, "AADSTS70021"),
        (Credential::Secret, "AADSTS7000215"),
    ] {
        let server = launch(&fake, &entra, credential, &[]).await;
        server.wait_ready().await;
        let resp = call(
            &server,
            &alice,
            "run_kql_query",
            json!({"query": "print 1"}),
        )
        .await;
        assert_eq!(resp.status(), 503, "{credential:?}");
        let m = message(resp).await;
        let text = m["error"]["message"].as_str().unwrap();
        assert!(text.contains(code), "{credential:?}: {text}");
        assert!(text.contains("not your sign-in"), "{text}");
        assert!(!text.contains("another-secret") && !text.contains(SECRET));
    }
    assert!(data_requests(&fake).is_empty());
}
