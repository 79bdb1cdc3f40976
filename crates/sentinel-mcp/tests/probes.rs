//! /health, /ready, /metrics and unknown paths.

mod common;

use common::Server;
use serde_json::Value;

#[tokio::test]
async fn health_reports_the_contract_fields() {
    let server = Server::start(&[("MCP_TRANSPORT", "http")]).await;
    let r = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["server"], "sentinel-mcp-server");
    assert_eq!(h["transport"], "http");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert!(h["uptime_seconds"].is_u64());
}

#[tokio::test]
async fn ready_names_the_backend_and_unknown_paths_are_404() {
    let server = Server::start(&[]).await;
    let r: Value = reqwest::get(server.url("/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "ready");
    assert_eq!(r["backend"]["kind"], "local");
    assert_eq!(
        reqwest::get(server.url("/nope")).await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn ready_is_503_with_the_reason_when_the_data_cannot_load() {
    let dir = common::temp_dir("bad-data");
    std::fs::write(
        dir.join("SigninLogs.jsonl"),
        "{\"TimeGenerated\": \"2024-01-01T00:00:00Z\"}\nnot json\n",
    )
    .unwrap();
    let log = dir.join("server.log");
    let mut child = std::process::Command::new(common::BIN)
        .env("PORT", "0")
        .env("SENTINEL_MCP_DATA_DIR", &dir)
        .env("RUST_LOG", common::with_listening_line("warn"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let port = common::listening_port(&mut child, &log).await;
    let port = port.expect("the server listens");
    let url = format!("http://127.0.0.1:{port}/ready");
    let mut last = None;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await {
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            if status == 503
                && body["status"] == "not_ready"
                && body["backend"]["reason"]
                    .as_str()
                    .is_some_and(|s| s.contains("failed to load"))
            {
                last = Some(body);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let body = last.expect("503 with a reason");
    assert!(
        body["backend"]["reason"]
            .as_str()
            .unwrap()
            .contains("SigninLogs.jsonl"),
        "{body}"
    );
}
