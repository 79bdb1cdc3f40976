//! The load tool's open loop against the bare server, on every transport, as
//! scripts/bench.sh runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A reference server (`mcp-bare`, `mcp-rmcp`) on a port the system picks, killed on drop.
struct Reference {
    child: Child,
    base: String,
}

impl Reference {
    fn start(bin: &str, args: &[&str]) -> Reference {
        let mut child = Command::new(bin)
            .arg("0")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the reference server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("it says where it listens");
        let addr = line.trim().strip_prefix("listening on ").expect(&line);
        Reference {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn bare() -> Reference {
        Reference::start(env!("CARGO_BIN_EXE_mcp-bare"), &[])
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn load(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-load"))
        .args(args)
        .output()
        .expect("run mcp-load")
}

/// An open-loop run of 200 calls/s for one second over four sessions: its JSON report.
fn open_loop(url: &str, transport: &str) -> Value {
    let out = load(&[
        "throughput",
        "--url",
        url,
        "--transport",
        transport,
        "--sessions",
        "4",
        "--rate",
        "200",
        "--duration",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

/// Calls are due every 5 ms over one second: 200 of them, each run even if late (its lateness
/// counts as latency), so the count does not depend on this machine's speed.
fn assert_every_due_call_ran(r: &Value) {
    assert_eq!(r["offered_rate"], 200.0, "{r}");
    assert_eq!(r["calls_ok"], 200, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    let latency = &r["latency"];
    assert_eq!(latency["count"], 200);
    for (low, high) in [
        ("p50_ms", "p99_ms"),
        ("p99_ms", "p999_ms"),
        ("p999_ms", "max_ms"),
    ] {
        assert!(latency[low].as_f64() <= latency[high].as_f64(), "{latency}");
    }
}

#[test]
fn open_loop_runs_every_call_due_in_the_measured_window_on_every_transport() {
    let bare = Reference::bare();
    for (transport, path) in [
        ("sse", "/sse"),
        ("streamable", "/mcp"),
        ("stateless", "/mcp"),
    ] {
        let r = open_loop(&format!("{}{path}", bare.base), transport);
        assert_every_due_call_ran(&r);
    }
}

#[test]
fn the_stock_rmcp_peer_serves_its_tools_in_both_streamable_eras() {
    let dir = std::env::temp_dir().join(format!("mcp-rmcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tools = dir.join("tools.json");
    let list = serde_json::json!({"tools": [{
        "name": "list_sentinel_tables",
        "description": "List the workspace's tables.",
        "inputSchema": {"type": "object", "properties": {}}
    }]});
    std::fs::write(&tools, list.to_string()).unwrap();
    let peer = Reference::start(env!("CARGO_BIN_EXE_mcp-rmcp"), &[tools.to_str().unwrap()]);
    for transport in ["streamable", "stateless"] {
        let r = open_loop(&format!("{}/mcp", peer.base), transport);
        assert_every_due_call_ran(&r);
    }
}

#[test]
fn a_rate_that_is_not_a_positive_number_is_refused() {
    let bare = Reference::bare();
    let url = format!("{}/mcp", bare.base);
    for rate in ["--rate=0", "--rate=-5", "--rate=NaN"] {
        let out = load(&[
            "throughput",
            "--url",
            &url,
            "--transport",
            "stateless",
            "--sessions",
            "1",
            rate,
            "--duration",
            "1",
        ]);
        assert!(!out.status.success(), "{rate} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--rate must be a positive number"),
            "{rate}: {err}"
        );
    }
}
