//! `/metrics` against the real binary over real sockets: the series exist, the session gauges
//! and counters are exact on both transports, K tool calls move the counters and histograms by
//! exactly K, refusals and backend calls are counted by reason and service, and the endpoint
//! honours `SENTINEL_MCP_METRICS_TOKEN` and `SENTINEL_MCP_METRICS=false`.

mod common;

use common::{
    Server, SseClient, mcp_message, mcp_open_session, mcp_stateless_call, structured, wait_until,
};
use serde_json::json;
use test_support::azure::{FakeAzure, Fault, WORKSPACE_ID};

/// The value of one series (name with labels), 0 when absent.
async fn value(server: &Server, series: &str) -> u64 {
    server.metric(series).await.unwrap_or(0)
}

async fn metrics_text(server: &Server) -> String {
    let r = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    r.text().await.unwrap()
}

#[tokio::test]
async fn every_family_is_served_from_the_start() {
    let server = Server::start(&[]).await;
    let text = metrics_text(&server).await;
    for series in [
        "sentinel_mcp_sessions_active{transport=\"legacy_sse\"} 0",
        "sentinel_mcp_sessions_active{transport=\"streamable\"} 0",
        "sentinel_mcp_requests_in_flight{transport=\"legacy_sse\"} 0",
        "sentinel_mcp_requests_in_flight{transport=\"streamable\"} 0",
        "sentinel_mcp_sessions_opened_total{transport=\"streamable\"} 0",
        "sentinel_mcp_refused_calls_total{reason=\"rate_limit\"} 0",
        "sentinel_mcp_refused_calls_total{reason=\"busy\"} 0",
        "sentinel_mcp_tool_calls_running 0",
        "sentinel_mcp_tool_calls_waiting 0",
        "sentinel_mcp_rate_limit_buckets 0",
        "sentinel_mcp_result_store_results 0",
        "sentinel_mcp_result_store_bytes 0",
        "sentinel_mcp_build_info{version=\"",
        "sentinel_mcp_uptime_seconds ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(series)),
            "{series} missing from:\n{text}"
        );
    }
    let rss: u64 = server
        .metric("process_resident_memory_bytes")
        .await
        .unwrap();
    assert!(rss > 1024 * 1024, "RSS {rss}");
    assert!(server.metric("process_open_fds").await.unwrap() > 2);
    // The build's cargo features, each named exactly when this build has it.
    let info = text
        .lines()
        .find(|l| l.starts_with("sentinel_mcp_build_info{"))
        .expect("build info");
    let label = info
        .split("features=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a features label");
    let named: Vec<&str> = label.split(',').filter(|f| !f.is_empty()).collect();
    for (feature, built) in [
        ("datafusion", cfg!(feature = "datafusion")),
        ("parquet", cfg!(feature = "parquet")),
        ("otlp", cfg!(feature = "otlp")),
        ("app-insights", cfg!(feature = "app-insights")),
        ("redis", cfg!(feature = "redis")),
    ] {
        assert_eq!(named.contains(&feature), built, "{feature} in {info}");
    }
    assert!(named.len() <= 5, "{info}");
}

#[tokio::test]
async fn session_gauges_and_counters_are_exact_on_both_transports() {
    const N: u64 = 3;
    // Keep-alives every second, so a closed legacy stream is noticed at once.
    let server = Server::start(&[("SENTINEL_MCP_SSE_KEEPALIVE_SECS", "1")]).await;
    let mut legacy = Vec::new();
    let mut streamable = Vec::new();
    for _ in 0..N {
        let mut c = SseClient::connect(&server).await;
        c.initialize().await;
        legacy.push(c);
        streamable.push(mcp_open_session(&server, &[]).await);
    }
    assert_eq!(server.sessions_gauge("legacy_sse").await, N);
    assert_eq!(server.sessions_gauge("streamable").await, N);
    for transport in ["legacy_sse", "streamable"] {
        let opened = format!("sentinel_mcp_sessions_opened_total{{transport=\"{transport}\"}}");
        assert_eq!(value(&server, &opened).await, N, "{opened}");
    }

    drop(legacy);
    for sid in &streamable {
        let r = reqwest::Client::new()
            .delete(server.url("/mcp"))
            .header("mcp-session-id", sid)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "DELETE answered {}", r.status());
    }
    wait_until("both gauges at 0", async || {
        server.sessions_gauge("legacy_sse").await == 0
            && server.sessions_gauge("streamable").await == 0
    })
    .await;
    for transport in ["legacy_sse", "streamable"] {
        let closed = format!(
            "sentinel_mcp_sessions_closed_total{{transport=\"{transport}\",reason=\"client_gone\"}}"
        );
        assert_eq!(value(&server, &closed).await, N, "{closed}");
        let lasted =
            format!("mcp_server_session_duration_seconds_count{{transport=\"{transport}\"}}");
        assert_eq!(value(&server, &lasted).await, N, "{lasted}");
    }
    for transport in ["legacy_sse", "streamable"] {
        let series = format!("sentinel_mcp_requests_in_flight{{transport=\"{transport}\"}}");
        assert_eq!(value(&server, &series).await, 0, "{series}");
    }
}

#[tokio::test]
async fn an_idle_session_is_counted_as_an_idle_timeout() {
    let server = Server::start(&[
        ("SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS", "2"),
        ("SENTINEL_MCP_SSE_KEEPALIVE_SECS", "1"),
    ])
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    mcp_open_session(&server, &[]).await;
    assert!(
        c.next_event_or_end().await.is_none(),
        "the idle stream ends"
    );
    for transport in ["legacy_sse", "streamable"] {
        let closed = format!(
            "sentinel_mcp_sessions_closed_total{{transport=\"{transport}\",reason=\"idle_timeout\"}}"
        );
        wait_until(&closed, async || value(&server, &closed).await == 1).await;
    }
}

#[tokio::test]
async fn k_tool_calls_move_the_counters_and_histograms_by_exactly_k() {
    const K: u64 = 4;
    let server = Server::start(&[]).await;
    let calls = "sentinel_mcp_tool_calls_total{tool=\"run_kql_query\",outcome=\"ok\"}";
    let took = "mcp_server_operation_duration_seconds_count{method=\"tools/call\",tool=\"run_kql_query\",outcome=\"ok\"}";
    let rows = "sentinel_mcp_tool_result_rows_count{tool=\"run_kql_query\"}";
    let errors = "sentinel_mcp_tool_calls_total{tool=\"run_kql_query\",outcome=\"tool_error\"}";
    let before = [
        value(&server, calls).await,
        value(&server, took).await,
        value(&server, rows).await,
    ];
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    for i in 0..K {
        let r = c
            .call_tool("run_kql_query", json!({"query": format!("print n = {i}")}))
            .await;
        structured(&r);
        let r = mcp_stateless_call(
            &server,
            100 + i,
            "run_kql_query",
            json!({"query": "print 1"}),
        )
        .send()
        .await
        .unwrap();
        structured(&mcp_message(r).await);
    }
    let after = [
        value(&server, calls).await,
        value(&server, took).await,
        value(&server, rows).await,
    ];
    assert_eq!(after, before.map(|b| b + 2 * K), "{calls}, {took}, {rows}");
    // One row each: the rows histogram's sum moved by exactly 2K.
    let text = metrics_text(&server).await;
    let sum: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sentinel_mcp_tool_result_rows_sum{tool=\"run_kql_query\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sum, (2 * K) as f64);

    // A query the engine refuses is a tool error, counted as such.
    let r = c
        .call_tool("run_kql_query", json!({"query": "NoSuchTable | take 1"}))
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert_eq!(value(&server, errors).await, 1);
    assert_eq!(value(&server, calls).await, after[0]);

    // A made-up tool name never becomes a label value.
    let r = c.call_tool("no_such_tool_4711", json!({})).await;
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == true,
        "{r}"
    );
    let text = metrics_text(&server).await;
    assert!(!text.contains("no_such_tool_4711"));
    assert!(text.contains("tool=\"unknown\""), "{text}");
    assert_eq!(
        value(
            &server,
            "sentinel_mcp_requests_in_flight{transport=\"streamable\"}"
        )
        .await,
        0
    );
    assert_eq!(
        value(
            &server,
            "sentinel_mcp_requests_in_flight{transport=\"legacy_sse\"}"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn refusals_are_counted_by_reason() {
    let server = Server::start(&[("SENTINEL_MCP_MAX_BODY_BYTES", "4096")]).await;
    let client = reqwest::Client::new();
    let r = client
        .get(server.url("/sse"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .get(server.url("/sse"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(8192)
    );
    let r = client
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    for reason in ["host", "origin", "body_size"] {
        let series = format!("sentinel_mcp_rejected_requests_total{{reason=\"{reason}\"}}");
        assert_eq!(value(&server, &series).await, 1, "{series}");
    }
}

#[tokio::test]
async fn backend_attempts_retries_and_tokens_are_counted_by_service() {
    let fake = FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, &[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let path = format!("/v1/workspaces/{WORKSPACE_ID}/query");
    let ok = "sentinel_mcp_backend_calls_total{service=\"log_analytics\",status=\"200\"}";
    let ok_before = value(&server, ok).await;
    fake.inject(
        &path,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    let r = c
        .call_tool("run_kql_query", json!({"query": "SigninLogs | take 1"}))
        .await;
    structured(&r);
    assert_eq!(
        value(
            &server,
            "sentinel_mcp_backend_calls_total{service=\"log_analytics\",status=\"429\"}"
        )
        .await,
        1
    );
    assert_eq!(value(&server, ok).await, ok_before + 1);
    assert_eq!(
        value(
            &server,
            "sentinel_mcp_backend_retries_total{service=\"log_analytics\"}"
        )
        .await,
        1
    );
    assert!(
        value(
            &server,
            "sentinel_mcp_backend_call_duration_seconds_count{service=\"log_analytics\"}"
        )
        .await
            >= 2
    );
    assert!(
        value(
            &server,
            "sentinel_mcp_token_acquisitions_total{identity=\"client_secret\",outcome=\"ok\"}"
        )
        .await
            >= 1
    );
    assert!(
        value(
            &server,
            "sentinel_mcp_backend_calls_total{service=\"entra\",status=\"200\"}"
        )
        .await
            >= 1
    );
}

#[tokio::test]
async fn the_metrics_token_is_required_when_set_and_a_refusal_shows_nothing() {
    let token = "metrics-s3cret-0123456789";
    let server = Server::start(&[("SENTINEL_MCP_METRICS_TOKEN", token)]).await;
    let client = reqwest::Client::new();
    let offers: [Option<String>; 5] = [
        None,
        Some("Bearer wrong-token".into()),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some("Bearer ".into()),
    ];
    for offer in offers {
        let mut req = client.get(server.url("/metrics"));
        if let Some(v) = &offer {
            req = req.header("authorization", v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{offer:?}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let body = r.text().await.unwrap();
        assert!(!body.contains("sentinel_mcp_"), "{body}");
        assert!(!body.contains("# TYPE"), "{body}");
        assert!(!body.contains(token), "{body}");
    }
    let r = client
        .get(server.url("/metrics"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("sentinel_mcp_sessions_active{transport=\"legacy_sse\"} 0"));
    assert!(!body.contains(token));
    // The probes stay open.
    let r = client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(!server.log().contains(token), "the token is never logged");
}

#[tokio::test]
async fn metrics_false_removes_the_endpoint() {
    let server = Server::start(&[("SENTINEL_MCP_METRICS", "false")]).await;
    let r = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("sentinel_mcp_"));
    let r = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(r.status(), 200);
}
