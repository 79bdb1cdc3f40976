//! run_kql_query, list_sentinel_tables and get_table_schema through the real server with
//! SENTINEL_MCP_BACKEND=azure against the fake Log Analytics, asserting what the fake received.

mod common;

use common::{Server, SseClient, structured, text};
use serde_json::json;
use test_support::azure::{FakeAzure, Fault, LOG_ANALYTICS, WORKSPACE_ID};

async fn start() -> (FakeAzure, Server) {
    start_with(&[]).await
}

/// Starts the fake and a server on it, with `extra` settings.
async fn start_with(extra: &[(&str, &str)]) -> (FakeAzure, Server) {
    let fake = FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, extra).await;
    (fake, server)
}

fn query_path() -> String {
    format!("/v1/workspaces/{WORKSPACE_ID}/query")
}

/// The queries the fake ran, excluding readiness probes.
fn queries(fake: &FakeAzure) -> Vec<test_support::azure::Recorded> {
    fake.requests_to(&query_path())
        .into_iter()
        .filter(|r| !r.body.contains("print ready"))
        .collect()
}

#[tokio::test]
async fn azure_kql_query_is_posted_to_log_analytics_with_timespan_prefer_and_its_own_token() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | summarize n = count() by ResultType | sort by n desc | take 3", "timespan": "P7D"}),
        )
        .await;
    let s = structured(&r);
    assert_eq!(
        s["columns"],
        json!([{"name": "ResultType", "type": "string"}, {"name": "n", "type": "long"}])
    );
    assert!(!s["rows"].as_array().unwrap().is_empty());

    let sent = queries(&fake);
    assert_eq!(sent.len(), 1);
    let q = &sent[0];
    assert_eq!(q.method, "POST");
    let body = q.json();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .starts_with("SigninLogs | summarize")
    );
    let ts = body["timespan"].as_str().unwrap();
    let (a, b) = ts.split_once('/').unwrap();
    assert!(a.ends_with('Z') && b.ends_with('Z'), "{ts}");
    let prefer = q.header("prefer").unwrap();
    assert!(
        prefer.starts_with("wait=") && prefer.contains("include-statistics=true"),
        "{prefer}"
    );
    let token = q
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(fake.audience_of(token).as_deref(), Some(LOG_ANALYTICS));
    assert!(q.header("x-ms-client-request-id").is_some());
    let tp = q.header("traceparent").unwrap();
    assert_eq!(tp.len(), 55, "{tp}");
    // The token came from the client secret grant for Log Analytics' scope.
    let grants = fake.requests_to("/oauth2/v2.0/token");
    assert!(grants.iter().any(|g| {
        g.form()
            .contains(&("scope".into(), format!("{LOG_ANALYTICS}/.default")))
    }));
}

#[tokio::test]
async fn azure_every_column_type_survives_the_wire_including_dynamic_sent_as_text() {
    let (_fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "print b = true, i = toint(7), l = 9000000000, r = 1.5, s = 'x', t = datetime(2024-01-02T03:04:05Z), ts = 1d, g = toguid('6f1e1a8c-0a5b-4d4b-9c1e-2f3a4b5c6d7e'), d = dynamic({\"a\": [1, 2]})"}),
        )
        .await;
    let s = structured(&r);
    let types: Vec<&str> = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "bool", "int", "long", "real", "string", "datetime", "timespan", "guid", "dynamic"
        ]
    );
    let row = &s["rows"][0];
    assert_eq!(row[0], true);
    assert_eq!(row[2], 9000000000i64);
    assert_eq!(row[5], "2024-01-02T03:04:05Z");
    assert_eq!(
        row[8],
        json!({"a": [1, 2]}),
        "dynamic is JSON again, not text: {row}"
    );
}

#[tokio::test]
async fn azure_control_commands_and_network_operators_never_leave_the_server() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    for q in [
        ".show tables",
        "externaldata(a:string)[h'https://example.com/x.csv'] | take 1",
        "print 1 | evaluate http_request('https://example.com')",
    ] {
        let r = c.call_tool("run_kql_query", json!({"query": q})).await;
        assert_eq!(r["result"]["isError"], true, "{q}: {r}");
        // The tools' guard or the backend's own check refuses it; either way it is not sent.
        assert!(!text(&r).is_empty(), "{r}");
    }
    assert!(queries(&fake).is_empty(), "nothing was sent");
}

#[tokio::test]
async fn azure_throttling_and_server_errors_are_retried_with_the_same_client_request_id() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    fake.inject(
        &query_path(),
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    fake.inject(&query_path(), Fault::ServerError);
    let started = std::time::Instant::now();
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    let sent = queries(&fake);
    assert_eq!(sent.len(), 3, "429, 500, then success");
    let ids: Vec<_> = sent
        .iter()
        .map(|r| r.header("x-ms-client-request-id").unwrap().to_string())
        .collect();
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
}

#[tokio::test]
async fn azure_expired_token_is_refreshed_once_and_the_query_repeated() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let issued = fake.tokens_issued();
    fake.inject(&query_path(), Fault::Unauthorized);
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    assert_eq!(fake.tokens_issued(), issued + 1);
    let sent = queries(&fake);
    assert_eq!(sent.len(), 2);
    assert_ne!(
        sent[0].header("authorization"),
        sent[1].header("authorization")
    );
}

#[tokio::test]
async fn azure_partial_results_carry_a_visible_warning() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    fake.inject(&query_path(), Fault::PartialError);
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 5"}))
        .await;
    let s = structured(&r);
    assert_eq!(s["rows"].as_array().unwrap().len(), 5);
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("Partial results") && warnings.contains("PartialError"),
        "{warnings}"
    );
    assert!(text(&r).contains("Partial results"), "{}", text(&r));
}

#[tokio::test]
async fn azure_service_errors_become_tool_errors_with_the_service_code_and_message() {
    let (_fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | where NoSuchColumn == 1"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true);
    let t = text(&r);
    assert!(
        t.contains("Log Analytics answered HTTP 400 BadArgumentError/SemanticError"),
        "{t}"
    );
    assert!(t.contains("NoSuchColumn"), "{t}");
}

#[tokio::test]
async fn azure_tables_and_schemas_come_from_log_analytics_and_are_cached() {
    let (fake, server) = start().await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.call_tool("list_sentinel_tables", json!({})).await;
    let tables = structured(&r)["tables"].as_array().unwrap().clone();
    let signin = tables
        .iter()
        .find(|t| t["name"] == "SigninLogs")
        .expect("SigninLogs listed");
    assert!(signin["row_count"].as_u64().unwrap() > 0);
    assert!(signin["last_time"].is_string());
    c.call_tool("list_sentinel_tables", json!({})).await;

    let r = c
        .call_tool("get_table_schema", json!({"table": "SigninLogs"}))
        .await;
    let cols = structured(&r)["columns"].as_array().unwrap().clone();
    assert!(cols.contains(&json!({"name": "TimeGenerated", "type": "datetime"})));
    c.call_tool("get_table_schema", json!({"table": "SigninLogs"}))
        .await;
    let r = c
        .call_tool("get_table_schema", json!({"table": "signinlogs"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("did you mean SigninLogs"), "{r}");

    let sent = queries(&fake);
    let unions = sent
        .iter()
        .filter(|r| r.body.contains("union withsource"))
        .count();
    let schemas = sent
        .iter()
        .filter(|r| r.body.contains("SigninLogs | take 0"))
        .count();
    assert_eq!((unions, schemas), (1, 1), "cached: {sent:#?}");
}

#[tokio::test]
async fn azure_ready_probes_are_cached_however_often_the_platform_asks() {
    let (fake, server) = start().await;
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let r = http.get(server.url("/ready")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let probes = fake
        .requests_to(&query_path())
        .into_iter()
        .filter(|r| r.body.contains("print ready"))
        .count();
    assert_eq!(probes, 1, "one probe per 30 s");
}

#[tokio::test]
async fn azure_server_uses_the_container_apps_managed_identity_without_any_secret() {
    let fake = FakeAzure::start(20_000).await;
    let endpoint = fake.identity_endpoint();
    let mut env = fake.server_env();
    env.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "AZURE_CLIENT_SECRET" | "AZURE_TENANT_ID" | "AZURE_CLIENT_ID"
        )
    });
    env.push(("IDENTITY_ENDPOINT".into(), endpoint));
    env.push((
        "IDENTITY_HEADER".into(),
        test_support::azure::IDENTITY_HEADER.into(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    assert!(fake.requests_to("/oauth2/v2.0/token").is_empty());
    let mi = fake.requests_to("/msi/token");
    assert!(!mi.is_empty());
    assert!(
        mi.iter()
            .all(|r| r.param("api-version") == Some("2019-08-01")
                && r.param("resource") == Some(LOG_ANALYTICS)
                && r.header("x-identity-header") == Some(test_support::azure::IDENTITY_HEADER))
    );
    let q = queries(&fake).pop().unwrap();
    let token = q
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert!(token.starts_with("fake-containerapps-token"));
}

#[tokio::test]
async fn azure_query_slower_than_the_timeout_is_a_timeout_and_not_retried() {
    let (fake, server) = start_with(&[("SENTINEL_MCP_QUERY_TIMEOUT_SECS", "1")]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    fake.inject(
        &query_path(),
        Fault::Slow(std::time::Duration::from_secs(20)),
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("did not finish within 1 seconds"), "{r}");
    let sent = queries(&fake);
    assert_eq!(sent.len(), 1, "a timed-out query is not repeated");
    assert!(sent[0].header("prefer").unwrap().starts_with("wait=1,"));
}

#[tokio::test]
async fn azure_missing_workspace_id_stops_the_server_with_the_setting_to_fix() {
    let out = std::process::Command::new(common::BIN)
        .arg("serve")
        .env_clear()
        .env("SENTINEL_MCP_BACKEND", "azure")
        .env("PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SENTINEL_WORKSPACE_ID is required"), "{err}");
}

#[tokio::test]
async fn azure_named_workspaces_route_queries_and_unknown_names_are_refused() {
    let second = test_support::azure::SECOND_WORKSPACE_ID;
    let pair = format!("archive={second}");
    let (fake, server) = start_with(&[("SENTINEL_MCP_WORKSPACES", &pair)]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | take 1", "workspace": "archive"}),
        )
        .await;
    structured(&r);
    assert_eq!(
        fake.requests_to(&format!("/v1/workspaces/{second}/query"))
            .len(),
        1
    );
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | take 1", "workspace": "nope"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(
        text(&r).contains("unknown workspace 'nope'; this server knows: default, archive"),
        "{r}"
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    assert_eq!(
        queries(&fake).len(),
        1,
        "the default workspace took the unnamed query"
    );

    let r = c
        .call_tool("list_sentinel_tables", json!({"workspace": "archive"}))
        .await;
    assert!(!structured(&r)["tables"].as_array().unwrap().is_empty());
    let r = c
        .call_tool(
            "get_table_schema",
            json!({"table": "SigninLogs", "workspace": "archive"}),
        )
        .await;
    assert!(!structured(&r)["columns"].as_array().unwrap().is_empty());
    let second_queries: Vec<String> = fake
        .requests_to(&format!("/v1/workspaces/{second}/query"))
        .iter()
        .map(|r| r.json()["query"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        second_queries
            .iter()
            .any(|q| q.starts_with("union withsource")),
        "{second_queries:?}"
    );
    assert!(
        second_queries.iter().any(|q| q == "SigninLogs | take 0"),
        "{second_queries:?}"
    );
}

#[tokio::test]
async fn local_backend_refuses_a_workspace_name() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool("list_sentinel_tables", json!({"workspace": "archive"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("one workspace"), "{r}");
}

#[tokio::test]
async fn azure_throttling_that_outlasts_the_retries_says_so_with_the_request_id() {
    let (fake, server) = start_with(&[("SENTINEL_MCP_AZURE_MAX_RETRIES", "1")]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    fake.inject(
        &query_path(),
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    fake.inject(
        &query_path(),
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    let t = text(&r);
    assert!(
        t.contains("Log Analytics answered HTTP 429 TooManyRequests"),
        "{t}"
    );
    assert!(t.contains("still throttled after retrying"), "{t}");
    let sent = queries(&fake);
    assert_eq!(sent.len(), 2);
    let id = sent[0].header("x-ms-client-request-id").unwrap();
    assert!(t.contains(id), "{t}");
}

#[tokio::test]
async fn azure_cli_is_the_last_resort_for_development() {
    let fake = FakeAzure::start(20_000).await;
    let bin = common::temp_dir("az");
    let calls = bin.join("calls.txt");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {}\nprintf '{{\"accessToken\": \"cli-token-for-%s\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}}' \"$6\"\n",
        calls.display()
    );
    let az = bin.join("az");
    std::fs::write(&az, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    fake.register_token(&format!("cli-token-for-{LOG_ANALYTICS}"), LOG_ANALYTICS);

    let mut env = fake.server_env();
    env.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "AZURE_CLIENT_SECRET" | "SENTINEL_MCP_AZURE_CLI" | "SENTINEL_MCP_IMDS_ENDPOINT"
        )
    });
    // No IMDS here: a closed port, so the chain moves on at once.
    let (_closed, port) = common::refusing_port();
    env.push((
        "SENTINEL_MCP_IMDS_ENDPOINT".into(),
        format!("http://127.0.0.1:{port}"),
    ));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.push(("PATH".into(), path));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    let args = std::fs::read_to_string(&calls).unwrap();
    assert!(
        args.contains(&format!(
            "account get-access-token --output json --resource {LOG_ANALYTICS}"
        )),
        "{args}"
    );
    let q = queries(&fake).pop().unwrap();
    assert_eq!(
        q.header("authorization"),
        Some(format!("Bearer cli-token-for-{LOG_ANALYTICS}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_query_command_sends_exactly_one_query_and_no_readiness_probe() {
    let fake = FakeAzure::start(20_000).await;
    let out = tokio::process::Command::new(common::BIN)
        .args(["query", "--format", "json", "SigninLogs | take 2"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(fake.server_env())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["rows"].as_array().map(Vec::len),
        Some(2),
        "{printed}"
    );
    let sent = fake.requests_to(&query_path());
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].body.contains("SigninLogs | take 2"));
}
