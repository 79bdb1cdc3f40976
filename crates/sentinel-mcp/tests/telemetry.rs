//! Traces and log lines through the real server: spans exported over OTLP/HTTP to a receiver on
//! loopback (decoded with the protocol's protobuf types) and to a fake Application Insights
//! ingestion endpoint, parented on the caller's `traceparent` (header or `_meta`), sharing the
//! trace with the `traceparent` Azure receives; flushed on shutdown; never failing a call when
//! the collector is down. And every JSON log line names its request, with no secret in any.

mod common;

use std::time::{Duration, Instant};

use common::{Server, SseClient, TENANT, mcp_message, mcp_post, structured};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, WORKSPACE_ID};
use test_support::entra::{FakeEntra, TokenSpec};
use test_support::telemetry::{CLIENT, FakeAppInsights, OtlpReceiver, ReceivedSpan, SERVER};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const WAIT: Duration = Duration::from_secs(60);

fn traceparent(trace: &str, parent: &str) -> String {
    format!("00-{trace}-{parent}-01")
}

/// Settings that export to `receiver` quickly (every 100 ms).
fn otlp_env(receiver: &OtlpReceiver) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("OTEL_SERVICE_NAME", "sentinel-mcp-under-test".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test,team=soc%20one".into(),
        ),
    ]
}

fn as_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn span_named(receiver: &OtlpReceiver, name: &str) -> ReceivedSpan {
    receiver
        .wait_for(WAIT, |s| s.name == name)
        .await
        .unwrap_or_else(|| panic!("no span {name:?}; got {:#?}", receiver.spans()))
}

#[tokio::test]
async fn a_legacy_sse_call_is_a_server_span_in_the_callers_trace_and_azure_gets_the_same_trace() {
    let receiver = OtlpReceiver::start().await;
    let fake = FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, &as_env(&otlp_env(&receiver))).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let query = "SigninLogs | take 3";
    let r = c
        .request(
            "tools/call",
            json!({"name": "run_kql_query", "arguments": {"query": query}, "_meta": {"traceparent": traceparent(TRACE, PARENT)}}),
        )
        .await;
    assert_eq!(structured(&r)["returned_rows"], 3, "{r}");

    let call = span_named(&receiver, "tools/call run_kql_query").await;
    assert_eq!(call.kind, SERVER);
    assert_eq!(call.trace_id, TRACE);
    assert_eq!(call.parent_span_id, PARENT);
    assert_eq!(call.attr("mcp.method.name"), Some("tools/call"));
    assert_eq!(call.attr("gen_ai.tool.name"), Some("run_kql_query"));
    assert_eq!(call.attr("gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(call.attr("mcp.session.id"), Some(c.session_id.as_str()));
    assert_eq!(call.attr("network.transport"), Some("tcp"));
    assert_eq!(
        call.attr("server.port"),
        Some(server.port.to_string().as_str())
    );
    assert_eq!(
        call.attr("kql.query_length"),
        Some(query.len().to_string().as_str())
    );
    assert_eq!(call.attr("kql.row_count"), Some("3"));
    assert_eq!(call.attr("kql.executor"), Some("log_analytics"));
    assert_eq!(call.attr("error.type"), None);
    assert!(call.attr("jsonrpc.request.id").is_some());
    // Arguments stay off spans unless asked for.
    assert_eq!(call.attr("gen_ai.tool.call.arguments"), None);
    assert_eq!(
        call.resource.get("service.name").map(String::as_str),
        Some("sentinel-mcp-under-test")
    );
    assert_eq!(
        call.resource.get("team").map(String::as_str),
        Some("soc one")
    );

    // Its Log Analytics call is a CLIENT child, and Azure received that span as its parent.
    let la = receiver
        .wait_for(WAIT, |s| {
            s.kind == CLIENT && s.parent_span_id == call.span_id
        })
        .await
        .unwrap_or_else(|| panic!("no client span under the call: {:#?}", receiver.spans()));
    assert_eq!(la.trace_id, TRACE);
    assert_eq!(la.name, "POST /v1/workspaces/{id}/query");
    assert_eq!(la.attr("http.request.method"), Some("POST"));
    assert_eq!(la.attr("http.response.status_code"), Some("200"));
    assert_eq!(la.attr("azure.service"), Some("log_analytics"));
    let sent = fake
        .requests_to(&format!("/v1/workspaces/{WORKSPACE_ID}/query"))
        .into_iter()
        .find(|r| r.body.contains("SigninLogs"))
        .expect("the query reached Log Analytics");
    assert_eq!(
        sent.header("traceparent"),
        Some(traceparent(TRACE, &la.span_id).as_str())
    );
    assert_eq!(
        la.attr("azure.client_request_id"),
        sent.header("x-ms-client-request-id")
    );
    // Every MCP request is a span: initialize, and tools/list (its `_meta` parent honoured too,
    // on the generic decoding path).
    let init = span_named(&receiver, "initialize").await;
    assert_eq!(
        (init.kind, init.attr("mcp.session.id")),
        (SERVER, Some(c.session_id.as_str()))
    );
    let list_parent = "1111111111111111";
    c.request(
        "tools/list",
        json!({"_meta": {"traceparent": traceparent(TRACE, list_parent)}}),
    )
    .await;
    let list = span_named(&receiver, "tools/list").await;
    assert_eq!(
        (list.trace_id.as_str(), list.parent_span_id.as_str()),
        (TRACE, list_parent)
    );
    // No query string in a span.
    assert!(
        receiver
            .spans()
            .iter()
            .all(|s| !s.name.contains('?')
                && s.attr("url.template").is_none_or(|u| !u.contains('?')))
    );
}

/// An operator raising one module's level (a `sentinel_mcp::…` directive in RUST_LOG) still gets
/// the trace of a retried call, even when Log Analytics then runs a slow query (the `union *` of
/// list_sentinel_tables): the fakes, the OTLP receiver among them, keep answering meanwhile, so
/// the export in flight is not timed out and dropped.
#[tokio::test]
async fn a_retried_call_is_exported_with_a_module_at_debug_while_log_analytics_is_busy() {
    let receiver = OtlpReceiver::start().await;
    let fake = FakeAzure::start(20_000).await;
    let mut env = otlp_env(&receiver);
    env.push(("RUST_LOG", "info,sentinel_mcp::http=debug".into()));
    let server = Server::start_on_azure(&fake, &as_env(&env)).await;
    fake.inject(
        &format!("/v1/workspaces/{WORKSPACE_ID}/query"),
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .request(
            "tools/call",
            json!({"name": "run_kql_query", "arguments": {"query": "SigninLogs | take 2"}, "_meta": {"traceparent": traceparent(TRACE, PARENT)}}),
        )
        .await;
    assert_eq!(structured(&r)["returned_rows"], 2, "{r}");
    // At once the slow query, while the spans above are exported: this runtime (the receiver's)
    // must not stall.
    let list = tokio::spawn(
        common::mcp_stateless_call(&server, 2, "list_sentinel_tables", json!({})).send(),
    );
    let mut longest = Duration::ZERO;
    while !list.is_finished() {
        let tick = Instant::now();
        tokio::time::sleep(Duration::from_millis(50)).await;
        longest = longest.max(tick.elapsed());
    }
    mcp_message(list.await.unwrap().unwrap()).await;
    assert!(
        longest < Duration::from_secs(2),
        "the fakes stopped answering for {longest:?}"
    );

    let call = span_named(&receiver, "tools/call run_kql_query").await;
    assert_eq!((call.kind, call.trace_id.as_str()), (SERVER, TRACE));
    let la = receiver
        .wait_for(WAIT, |s| {
            s.kind == CLIENT && s.parent_span_id == call.span_id
        })
        .await
        .unwrap_or_else(|| panic!("no client span under the call: {:#?}", receiver.spans()));
    assert_eq!(la.attr("http.request.resend_count"), Some("1"));
}

#[tokio::test]
async fn streamable_http_takes_the_header_traceparent_and_a_call_without_one_starts_its_own_trace()
{
    let receiver = OtlpReceiver::start().await;
    let env = otlp_env(&receiver);
    let mut env = as_env(&env);
    env.push(("SENTINEL_MCP_TRACE_ARGUMENTS", "true"));
    env.push(("SENTINEL_MCP_AUDIT_ARGUMENTS", "redacted"));
    let server = Server::start(&env).await;
    let secret_query = "SigninLogs | where UserPrincipalName == 'x' | take 1";
    let call = |tool: &str, args: Value| common::mcp_stateless_call(&server, 7, tool, args);
    let r = call("run_kql_query", json!({"query": secret_query}))
        .header("traceparent", traceparent(TRACE, PARENT))
        .header("tracestate", "vendor=abc")
        .header("x-request-id", "call-with-parent")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    mcp_message(r).await;
    let with_parent = span_named(&receiver, "tools/call run_kql_query").await;
    assert_eq!(with_parent.trace_id, TRACE);
    assert_eq!(with_parent.parent_span_id, PARENT);
    assert_eq!(with_parent.attr("mcp.protocol.version"), Some("2026-07-28"));
    assert_eq!(with_parent.attr("request_id"), Some("call-with-parent"));
    // A small table: the row engine.
    assert_eq!(with_parent.attr("kql.executor"), Some("rows"));
    // Arguments on the span, redacted as the audit setting says.
    let args = with_parent.attr("gen_ai.tool.call.arguments").unwrap();
    assert!(
        args.contains("redacted") && !args.contains("UserPrincipalName"),
        "{args}"
    );

    // No parent: a new trace, rooted at the call. A failed tool is marked so.
    let r = call("get_table_schema", json!({"table": "NoSuchTable"}))
        .send()
        .await
        .unwrap();
    let answer = mcp_message(r).await;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let failed = span_named(&receiver, "tools/call get_table_schema").await;
    assert_ne!(failed.trace_id, TRACE);
    assert_eq!(failed.parent_span_id, "");
    assert_eq!(failed.attr("error.type"), Some("tool_error"));
    assert_eq!(failed.status, 2, "status error");

    // A malformed traceparent restarts the trace rather than joining a made-up one.
    let r = call("list_sentinel_tables", json!({}))
        .header("traceparent", "00-zzzz-yyyy-01")
        .send()
        .await
        .unwrap();
    mcp_message(r).await;
    let restarted = span_named(&receiver, "tools/call list_sentinel_tables").await;
    assert_eq!(restarted.parent_span_id, "");

    // Session era: initialize and tools/list are spans of their own, parented by the header.
    let list_parent = "2222222222222222";
    let session = common::mcp_open_session(&server, &[]).await;
    let r = common::mcp_post(
        &server,
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}}),
    )
    .header("mcp-session-id", &session)
    .header("mcp-protocol-version", "2025-06-18")
    .header("traceparent", traceparent(TRACE, list_parent))
    .send()
    .await
    .unwrap();
    mcp_message(r).await;
    let list = span_named(&receiver, "tools/list").await;
    assert_eq!(
        (list.trace_id.as_str(), list.parent_span_id.as_str()),
        (TRACE, list_parent)
    );
    assert_eq!(list.attr("mcp.session.id"), Some(session.as_str()));
    span_named(&receiver, "initialize").await;
}

#[tokio::test]
async fn spans_still_queued_are_sent_on_graceful_shutdown() {
    let receiver = OtlpReceiver::start().await;
    let mut env = otlp_env(&receiver);
    // Far longer than the test: only the shutdown flush can send them.
    env.retain(|(k, _)| *k != "OTEL_BSP_SCHEDULE_DELAY");
    env.push(("OTEL_BSP_SCHEDULE_DELAY", "600000".into()));
    let mut server = Server::start(&as_env(&env)).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    c.call_tool("list_sentinel_tables", json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.spans().is_empty(), "exported before shutdown");
    drop(c);
    server.signal("TERM");
    assert_eq!(server.exit_code().await, Some(0), "{}", server.log());
    assert!(
        receiver
            .spans()
            .iter()
            .any(|s| s.name == "tools/call list_sentinel_tables"),
        "not flushed: {:#?}",
        receiver.spans()
    );
}

#[tokio::test]
async fn a_collector_that_is_down_fails_no_call_and_its_drops_are_counted() {
    let (_held, port) = common::refusing_port();
    let down = format!("http://127.0.0.1:{port}");
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", down.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    for _ in 0..3 {
        let r = c.call_tool("list_sentinel_tables", json!({})).await;
        assert!(r.get("result").is_some(), "{r}");
    }
    let dropped =
        r#"sentinel_mcp_telemetry_spans_dropped_total{exporter="otlp",reason="export_failed"}"#;
    let mut last = None;
    common::wait_until("spans counted as dropped", async || {
        last = server.metric(dropped).await;
        last.is_some_and(|n| n >= 3)
    })
    .await;
    let queue_full =
        r#"sentinel_mcp_telemetry_spans_dropped_total{exporter="otlp",reason="queue_full"}"#;
    assert_eq!(server.metric(queue_full).await, Some(0));
}

#[tokio::test]
async fn application_insights_gets_requests_and_dependencies_at_the_connection_strings_endpoint() {
    let ingestion = FakeAppInsights::start().await;
    let fake = FakeAzure::start(20_000).await;
    let key = "5e1a6a38-ai-key-never-logged";
    let connection = ingestion.connection_string(key);
    let server = Server::start_on_azure(
        &fake,
        &[
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", connection.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    c.request(
        "tools/call",
        json!({"name": "run_kql_query", "arguments": {"query": "SigninLogs | take 1"}, "_meta": {"traceparent": traceparent(TRACE, PARENT)}}),
    )
    .await;
    let base_type = |e: &Value| e["data"]["baseType"].as_str().unwrap_or("").to_string();
    let request = ingestion
        .wait_for(WAIT, |e| {
            base_type(e) == "RequestData"
                && e["data"]["baseData"]["name"] == "tools/call run_kql_query"
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no request telemetry: {:#?}\n{}",
                ingestion.envelopes(),
                server.log()
            )
        });
    assert_eq!(request["iKey"], key);
    assert_eq!(request["tags"]["ai.operation.id"], TRACE);
    assert_eq!(request["tags"]["ai.operation.parentId"], PARENT);
    let request_id = request["data"]["baseData"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dependency = ingestion
        .wait_for(WAIT, |e| {
            base_type(e) == "RemoteDependencyData"
                && e["tags"]["ai.operation.parentId"] == request_id.as_str()
        })
        .await
        .unwrap_or_else(|| panic!("no dependency telemetry: {:#?}", ingestion.envelopes()));
    assert_eq!(dependency["tags"]["ai.operation.id"], TRACE);
    assert_eq!(dependency["data"]["baseData"]["resultCode"], "200");
    assert!(!server.log().contains(key), "the key was logged");
}

#[tokio::test]
async fn telemetry_settings_that_cannot_work_stop_the_server_at_start_with_the_setting_named() {
    for (env, named) in [
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                ("OTEL_TRACES_SAMPLER", "sometimes"),
            ],
            "OTEL_TRACES_SAMPLER",
        ),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ],
            "OTEL_TRACES_SAMPLER_ARG",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "hunter2-secret-value"),
            ],
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
            ],
            "OTEL_RESOURCE_ATTRIBUTES",
        ),
        (
            vec![(
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "IngestionEndpoint=http://127.0.0.1:9/;hunter2-secret-value",
            )],
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
        ),
    ] {
        let mut server = Server::launch(&env, common::temp_dir("bad-telemetry")).await;
        assert_eq!(server.exit_code().await, Some(1), "{env:?}");
        let log = server.log();
        assert!(log.contains(named), "{env:?}: {log}");
        assert!(!log.contains("hunter2"), "a secret was printed: {log}");
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// Every line the server writes, parsed as JSON (the format is one object per line).
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

#[tokio::test]
async fn every_log_line_of_a_request_names_it_and_no_secret_is_ever_logged() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let fake = FakeAzure::start(20_000).await;
    let ingestion = FakeAppInsights::start().await;
    let receiver = OtlpReceiver::start().await;
    let ai_key = "7d3c0e1a-log-secret-ikey";
    let connection = ingestion.connection_string(ai_key);
    let otlp_header = "x-api-key=otlp-header-secret";
    // Inbound tokens from the fake Entra; outbound Azure access as a managed identity on the
    // fake Azure (its identity endpoint), with the Azure services on the fake.
    let mut env: Vec<(String, String)> = fake
        .server_env()
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "AZURE_TENANT_ID"
                    | "AZURE_CLIENT_ID"
                    | "AZURE_CLIENT_SECRET"
                    | "SENTINEL_MCP_AUTHORITY_HOST"
            )
        })
        .collect();
    let authority = entra.authority_host();
    for (k, v) in [
        ("SENTINEL_MCP_AUTH", "entra"),
        ("AZURE_TENANT_ID", TENANT),
        ("MCP_SERVER_APP_ID", common::APP),
        ("SENTINEL_MCP_AUTHORITY_HOST", authority.as_str()),
        ("RUST_LOG", "info"),
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", connection.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", otlp_header),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ] {
        env.push((k.into(), v.into()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = Server::start(&env).await;
    let token = entra.mint(&TokenSpec::user(
        TENANT,
        common::APP,
        &["SecOps.Read", "SecOps.Hunt"],
    ));

    // Legacy SSE, with a backend retry: the first query attempt is throttled.
    fake.inject(
        &format!("/v1/workspaces/{WORKSPACE_ID}/query"),
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let mut sse = SseClient::connect_as(&server, Some(&token)).await;
    sse.initialize().await;
    let r = sse
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 2"}))
        .await;
    assert_eq!(structured(&r)["returned_rows"], 2, "{r}");
    // Streamable HTTP, session era and stateless, with the client's own request id.
    let session =
        common::mcp_open_session(&server, &[("authorization", &format!("Bearer {token}"))]).await;
    let r = mcp_post(
        &server,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_sentinel_tables", "arguments": {}}}),
    )
    .header("mcp-session-id", &session)
    .header("mcp-protocol-version", "2025-06-18")
    .header("x-request-id", "client-chosen-id-42")
    .bearer_auth(&token)
    .send()
    .await
    .unwrap();
    assert_eq!(r.headers()["x-request-id"], "client-chosen-id-42");
    mcp_message(r).await;
    let r = common::mcp_stateless_call(&server, 3, "list_sentinel_tables", json!({}))
        .bearer_auth(&token)
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let echoed = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        uuid::Uuid::parse_str(&echoed).is_ok(),
        "an insane id is replaced: {echoed}"
    );
    mcp_message(r).await;
    // Authentication failures: a forged token and none at all.
    let forged = format!("{}x", &token[..token.len() - 1]);
    for bad in [Some(forged.as_str()), None] {
        let mut req = common::mcp_stateless_call(&server, 4, "list_sentinel_tables", json!({}))
            .header("x-request-id", "refused-request");
        if let Some(t) = bad {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    let sse_session = sse.session_id.clone();
    drop(sse);
    server.signal("TERM");
    assert_eq!(server.exit_code().await, Some(0));

    let log = server.log();
    for secret in [
        token.as_str(),
        forged.as_str(),
        ai_key,
        connection.as_str(),
        "otlp-header-secret",
        test_support::azure::CLIENT_SECRET,
    ] {
        assert!(!log.contains(secret), "{secret:?} was logged");
    }
    // Each token's signature part alone must not appear either.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature));

    let lines = json_lines(&log);
    let audits: Vec<&Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    assert_eq!(audits.len(), 3, "{log}");
    for audit in &audits {
        for field in [
            "request_id",
            "trace_id",
            "span_id",
            "oid",
            "tool",
            "outcome",
        ] {
            assert!(
                audit[field].as_str().is_some_and(|v| !v.is_empty()),
                "audit line without {field}: {audit}"
            );
        }
        assert_eq!(audit["trace_id"].as_str().unwrap().len(), 32);
    }
    assert!(
        audits.iter().any(
            |a| a["request_id"] == "client-chosen-id-42" && a["session_id"] == session.as_str()
        )
    );
    assert!(
        audits
            .iter()
            .any(|a| a["session_id"] == sse_session.as_str())
    );
    // The retry line belongs to the legacy call: same request and trace as its audit line.
    let retry = lines
        .iter()
        .find(|l| l["message"] == "retrying outbound call")
        .unwrap_or_else(|| panic!("no retry line: {log}"));
    let sse_audit = audits
        .iter()
        .find(|a| a["session_id"] == sse_session.as_str())
        .unwrap();
    assert_eq!(retry["trace_id"], sse_audit["trace_id"], "{retry}");
    assert_eq!(retry["request_id"], sse_audit["request_id"], "{retry}");
    // Refused requests are logged with their request id.
    let refusals: Vec<&Value> = lines
        .iter()
        .filter(|l| l["request_id"] == "refused-request")
        .collect();
    assert!(
        !refusals.is_empty(),
        "no line for the refused requests: {log}"
    );
    // Whatever the line, a request's fields are well formed when present.
    for line in &lines {
        if let Some(trace) = line.get("trace_id") {
            let trace = trace.as_str().unwrap();
            assert!(
                trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()),
                "{line}"
            );
        }
        if let Some(request_id) = line.get("request_id").and_then(|r| r.as_str()) {
            assert!(!request_id.contains('<'), "{line}");
        }
    }
    // And the trace the audit line names is the one exported.
    let exported = receiver
        .wait_for(WAIT, |s| {
            s.trace_id == sse_audit["trace_id"].as_str().unwrap()
        })
        .await;
    assert!(
        exported.is_some(),
        "the audit line's trace was not exported"
    );
    let otlp_headers = receiver.headers();
    assert!(otlp_headers.iter().all(|h| {
        h.get("x-api-key")
            .is_some_and(|v| v == "otlp-header-secret")
    }));
}
