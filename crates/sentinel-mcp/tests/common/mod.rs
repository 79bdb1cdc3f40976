//! Test support: start the real binary on an ephemeral port and talk to it like a client.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_sentinel-mcp");
/// Small demo workspace: tests need the story, not the noise.
pub const TEST_DEMO_ROWS: &str = "20000";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sentinel-mcp-test-{tag}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) as u128
}

/// A running server process, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub base: String,
    pub state_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub async fn start(envs: &[(&str, &str)]) -> Server {
        let state_dir = temp_dir("state");
        Self::start_with_state(envs, state_dir).await
    }

    pub async fn start_with_state(envs: &[(&str, &str)], state_dir: PathBuf) -> Server {
        let server = Self::launch(envs, state_dir);
        server.wait_ready().await;
        server
    }

    /// Starts the server without waiting for it to be ready.
    pub fn launch(envs: &[(&str, &str)], state_dir: PathBuf) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("SENTINEL_MCP_DEMO_ROWS", TEST_DEMO_ROWS)
            .env("SENTINEL_MCP_STATE_DIR", &state_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(state_dir.join("server.log")).expect("log file"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn sentinel-mcp");
        Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            state_dir,
        }
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/ready", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "server did not become ready in 60 s; its log:\n{}",
            self.log()
        );
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn sse_sessions(&self) -> u64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("sentinel_mcp_sessions{transport=\"sse\"} "))
            .and_then(|v| v.trim().parse().ok())
            .expect("sessions gauge in /metrics")
    }
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// A legacy SSE client: the stream plus the POST endpoint it announced.
pub struct SseClient {
    pub http: reqwest::Client,
    pub endpoint: String,
    pub session_id: String,
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
    next_id: u64,
    /// Bearer token sent with every request, when the server wants one.
    pub token: Option<String>,
}

impl SseClient {
    pub async fn connect(server: &Server) -> SseClient {
        Self::connect_as(server, None).await
    }

    /// Connects with a bearer token.
    pub async fn connect_as(server: &Server, token: Option<&str>) -> SseClient {
        let http = reqwest::Client::new();
        let mut req = http.get(server.url("/sse"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut client = SseClient {
            http,
            endpoint: String::new(),
            session_id: String::new(),
            stream: resp.bytes_stream().boxed(),
            buf: String::new(),
            next_id: 1,
            token: token.map(String::from),
        };
        let first = client.next_event().await;
        assert_eq!(first.event, "endpoint");
        assert!(
            first.data.starts_with("/messages?sessionId="),
            "{}",
            first.data
        );
        client.session_id = first
            .data
            .trim_start_matches("/messages?sessionId=")
            .to_string();
        client.endpoint = server.url(&first.data);
        client
    }

    /// The next event that is not a keep-alive comment.
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Some(pos) = self.buf.find("\n\n") {
                    let raw: String = self.buf.drain(..pos + 2).collect();
                    let mut ev = Event {
                        event: "message".into(),
                        data: String::new(),
                    };
                    let mut any = false;
                    for line in raw.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            ev.event = v.trim().to_string();
                            any = true;
                        } else if let Some(v) = line.strip_prefix("data:") {
                            ev.data.push_str(v.trim_start());
                            any = true;
                        }
                    }
                    if any {
                        return ev;
                    }
                    continue;
                }
                let chunk = self
                    .stream
                    .next()
                    .await
                    .expect("stream ended")
                    .expect("stream error");
                self.buf.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("no SSE event within 30 s")
    }

    pub async fn post_raw(&self, body: &str) -> reqwest::Response {
        let mut req = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Sends a request and waits for its response on the stream.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let resp = self
            .post_raw(
                &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
                    .to_string(),
            )
            .await;
        let status = resp.status();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or_default().to_string());
        assert_eq!(
            status,
            202,
            "POST answered {status} {challenge:?}: {}",
            resp.text().await.unwrap_or_default()
        );
        loop {
            let ev = self.next_event().await;
            assert_eq!(ev.event, "message");
            let msg: Value = serde_json::from_str(&ev.data).unwrap();
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    pub async fn notify(&self, method: &str) {
        let resp = self
            .post_raw(&json!({"jsonrpc": "2.0", "method": method}).to_string())
            .await;
        assert_eq!(resp.status(), 202);
    }

    pub async fn initialize(&mut self) -> Value {
        let r = self.request("initialize", init_params("2024-11-05")).await;
        self.notify("notifications/initialized").await;
        r
    }

    pub async fn call_tool(&mut self, name: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": args}))
            .await
    }
}

pub fn init_params(version: &str) -> Value {
    json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "sentinel-mcp-tests", "version": "1.0"}})
}

/// The structured content of a successful tool result.
pub fn structured(response: &Value) -> &Value {
    assert!(
        response.get("error").is_none(),
        "JSON-RPC error: {response}"
    );
    assert_ne!(
        response["result"]["isError"],
        json!(true),
        "tool error: {response}"
    );
    &response["result"]["structuredContent"]
}

/// The text of a tool result.
pub fn text(response: &Value) -> String {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
