//! The stdio transport and the one-shot commands, through the real binary.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{BIN, Server, TEST_DEMO_ROWS};
use serde_json::{Value, json};

fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env("SENTINEL_MCP_DEMO_ROWS", TEST_DEMO_ROWS)
        .env("SENTINEL_MCP_STATE_DIR", common::temp_dir("cli"));
    c
}

#[test]
fn stdio_speaks_newline_delimited_jsonrpc_and_keeps_stdout_clean() {
    let mut child = common::stdio_command().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut send = |v: Value| writeln!(stdin, "{v}").unwrap();
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")}),
    );
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "datatable(a:long, b:string)[1,'x',2,'y',3,'z'] | where a >= 2 | project b"}}}),
    );
    let mut responses = Vec::new();
    while responses.len() < 2 {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "stdout closed early");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout holds only JSON-RPC, got {line:?}: {e}"));
        responses.push(v);
    }
    assert_eq!(
        responses[0]["result"]["serverInfo"]["name"],
        "sentinel-mcp-server"
    );
    assert_eq!(
        responses[1]["result"]["structuredContent"]["rows"],
        json!([["y"], ["z"]])
    );
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "stdin EOF ends the server cleanly");
}

#[test]
fn query_prints_json_csv_and_table() {
    let q = "datatable(a:long, b:string)[1,'x,y',2,'z'] | order by a asc";
    let out = cmd()
        .args(["query", "--format", "json", q])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        json!({"columns": [{"name": "a", "type": "long"}, {"name": "b", "type": "string"}], "rows": [[1, "x,y"], [2, "z"]]})
    );

    let out = cmd()
        .args(["query", "--format", "csv", q])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "a,b\n1,\"x,y\"\n2,z\n"
    );

    let out = cmd().args(["query", q]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().next().unwrap().starts_with("a  b"), "{text}");
    assert!(text.contains("(2 rows)"));
}

#[test]
fn query_lays_out_a_very_wide_value_cut_short_and_prints_it_whole_as_csv_and_json() {
    // Once a panic in the table layout ("Formatting argument out of range").
    let q = r#"print x = repeat("abc", 100000000)"#;
    let out = cmd().args(["query", q]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let cell = text.lines().nth(2).expect("a row");
    assert!(
        cell.starts_with(r#"["abc","abc""#) && cell.ends_with('…'),
        "{cell}"
    );
    assert_eq!(cell.chars().count(), 257);
    assert!(text.ends_with("(1 row)\n"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("1 cell longer than 256 characters was cut short"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let q = r#"print x = strrep("ab", 10000)"#;
    let out = cmd()
        .args(["query", "--format", "csv", q])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("x\n{}\n", "ab".repeat(10_000))
    );
    let out = cmd()
        .args(["query", "--format", "json", q])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"][0][0], json!("ab".repeat(10_000)));
}

#[test]
fn query_honours_the_memory_budget_like_the_server() {
    let q = "range x from 1 to 1900000 step 1 | extend y = repeat(x, 1000) | summarize count()";
    let out = cmd()
        .env("SENTINEL_MCP_QUERY_MEMORY_MB", "64")
        .args(["query", q])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("more than 64 MB of memory") && err.contains("SENTINEL_MCP_QUERY_MEMORY_MB"),
        "{err}"
    );
    // The engine-wide budget too: a query needs a quarter of its share free to start.
    let out = cmd()
        .env("SENTINEL_MCP_ENGINE_MEMORY_MB", "1")
        .args(["query", "print 1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cmd()
        .env("SENTINEL_MCP_ENGINE_MEMORY_MB", "16")
        .args(["query", q])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("more than 16 MB of memory together")
            && err.contains("SENTINEL_MCP_ENGINE_MEMORY_MB"),
        "{err}"
    );
}

#[test]
fn query_errors_exit_1_with_the_error_on_stderr() {
    let out = cmd()
        .args(["query", "SigninLogs | where"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn query_batch_reports_rows_or_the_error_of_every_line() {
    let dir = common::temp_dir("batch");
    let file = dir.join("queries.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"query\": \"SigninLogs | where IPAddress == '203.0.113.57' and ResultType == '0' | summarize count() by UserPrincipalName\"}\n",
            "{\"query\": \"SigninLogs | where\"}\n",
            "\n",
            "not json\n",
            "{\"path\": \"a record without a query\"}\n",
            "{\"query\": \"print x = 1 | evaluate http_request('http://example.com')\"}\n",
            "{\"query\": \"NoSuchTable | take 1\"}\n",
            "{\"query\": \"SigninLogs | where UserPrincipalName == 'nobody@contoso.com'\"}\n",
        ),
    )
    .unwrap();
    let out = cmd()
        .args(["query", "--batch"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines_of: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(lines_of, [1, 2, 4, 5, 6, 7, 8], "blank lines are skipped");
    assert_eq!(lines[0], json!({"line": 1, "rows": 1}));
    let error = |i: usize| lines[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(error(1).contains("line 1"), "{}", error(1));
    assert!(error(2).contains("line 4 is not JSON"), "{}", error(2));
    assert!(
        error(3).contains("line 5 has no \"query\" string"),
        "{}",
        error(3)
    );
    assert!(
        error(4).contains("no network or code plugins"),
        "{}",
        error(4)
    );
    assert!(error(5).contains("NoSuchTable"), "{}", error(5));
    assert_eq!(lines[6], json!({"line": 8, "rows": 0}));
    assert!(
        err.contains("7 queries: 2 ran (1 returned rows), 5 failed"),
        "{err}"
    );
}

#[test]
fn query_batch_needs_a_readable_file_and_excludes_query_text() {
    let missing = common::temp_dir("batch-missing").join("nope.jsonl");
    let out = cmd()
        .args(["query", "--batch"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("nope.jsonl"),
        "{err}"
    );

    let out = cmd()
        .args(["query", "--batch", "x.jsonl", "print 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses both");
    // No query and no --batch: the query is read from stdin, and an empty one is refused.
    let out = cmd()
        .args(["query"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no query") && err.contains("--batch"), "{err}");
}

#[test]
fn kql_parse_checks_without_running() {
    let dir = common::temp_dir("parse");
    let good = dir.join("good.kql");
    std::fs::write(
        &good,
        "SigninLogs\n| where ResultType == \"50126\"\n| summarize count() by IPAddress",
    )
    .unwrap();
    let out = cmd().args(["kql", "parse"]).arg(&good).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = cmd()
        .args(["kql", "parse"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SigninLogs\n| summarize count( by X")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("column"), "{err}");
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "MCP_TRANSPORT",
        "PORT",
        "HOST",
        "DEBUG",
        "MAX_CONNECTIONS",
        "SENTINEL_MCP_ALLOWED_HOSTS",
        "SENTINEL_MCP_ALLOWED_ORIGINS",
        "SENTINEL_MCP_DATA_DIR",
        "SENTINEL_MCP_DEMO_ROWS",
        "SENTINEL_MCP_ENABLE_WRITE_TOOLS",
        "SENTINEL_MCP_MAX_ROWS",
        "SENTINEL_MCP_MAX_BODY_BYTES",
        "SENTINEL_MCP_SSE_KEEPALIVE_SECS",
        "SENTINEL_MCP_RATE_LIMIT_PER_MINUTE",
        "SENTINEL_MCP_RATE_LIMIT_BURST",
        "SENTINEL_MCP_MAX_CONCURRENT_CALLS",
        "SENTINEL_MCP_CALL_QUEUE",
        "SENTINEL_MCP_AZURE_MAX_CONCURRENT_QUERIES",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn bad_configuration_is_refused_with_a_message() {
    let out = cmd()
        .args(["serve"])
        .env("SENTINEL_MCP_DATA_DIR", "/definitely/not/here")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SENTINEL_MCP_DATA_DIR"));
    let out = cmd()
        .args(["serve"])
        .env("PORT", "not-a-port")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PORT")
            || String::from_utf8_lossy(&out.stderr).contains("port")
    );
}

#[tokio::test]
async fn healthcheck_exits_0_against_a_live_server_and_1_otherwise() {
    let server = Server::start(&[]).await;
    let out = Command::new(BIN)
        .args(["healthcheck", "--url", &server.url("/health")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_held, closed) = common::refusing_port();
    let out = Command::new(BIN)
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{closed}/health"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn query_command_applies_the_query_guard() {
    let out = cmd()
        .args([
            "query",
            "SigninLogs | take 1 | evaluate http_request('http://example.com')",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing ran");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http_request"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cmd()
        .args(["query", "print 1"])
        .env("SENTINEL_MCP_MAX_QUERY_CHARS", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SENTINEL_MCP_MAX_QUERY_CHARS"));
}
