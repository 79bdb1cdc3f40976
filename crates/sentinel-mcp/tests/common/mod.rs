//! Test support: start the real binary on an ephemeral port and talk to it like a client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_sentinel-mcp");
/// Small demo workspace: tests need the story, not the noise.
pub const TEST_DEMO_ROWS: &str = "20000";

/// A loopback port that refuses connections: bound (so nothing else takes it while the test
/// holds the socket) but not listening.
pub fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// `RUST_LOG` for a launched server: the test's own, plus the "listening" line (where the harness
/// reads the port the OS chose) when the test's level would hide it.
pub fn with_listening_line(rust_log: &str) -> String {
    let quiet = rust_log
        .split(',')
        .any(|d| matches!(d.trim(), "warn" | "error" | "off"));
    match quiet {
        true => format!("{rust_log},sentinel_mcp::listening=info"),
        false => rust_log.to_string(),
    }
}

/// Waits until the server writing its log to `log` says where it listens (it binds port 0);
/// `None` if it exits first or says nothing in 60 s.
pub async fn listening_port(child: &mut Child, log: &Path) -> Option<u16> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text.lines().find_map(listening_addr) {
            return Some(port);
        }
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The port of a "listening" log line, JSON (`"addr":"127.0.0.1:41234"`) or text
/// (`addr=127.0.0.1:41234`).
fn listening_addr(line: &str) -> Option<u16> {
    if !line.contains("listening:") {
        return None;
    }
    let rest = &line[line.find("addr")? + "addr".len()..];
    let rest = rest.trim_start_matches(['"', ':', '=']);
    let end = rest
        .find(|c: char| c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    let addr: std::net::SocketAddr = rest[..end].parse().ok()?;
    Some(addr.port())
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
        let server = Self::launch(envs, state_dir).await;
        server.wait_ready().await;
        server
    }

    /// Starts the server on a port the OS picks and returns once it listens (or has exited),
    /// without waiting for it to be ready.
    pub async fn launch(envs: &[(&str, &str)], state_dir: PathBuf) -> Server {
        let log = state_dir.join("server.log");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", "0")
            .env("SENTINEL_MCP_DEMO_ROWS", TEST_DEMO_ROWS)
            .env("SENTINEL_MCP_STATE_DIR", &state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let rust_log = envs
            .iter()
            .find(|(k, _)| *k == "RUST_LOG")
            .map_or("warn", |(_, v)| v);
        cmd.env("RUST_LOG", with_listening_line(rust_log));
        let mut child = cmd.spawn().expect("spawn sentinel-mcp");
        let port = listening_port(&mut child, &log).await.unwrap_or(0);
        Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            state_dir,
        }
    }

    pub async fn wait_ready(&self) {
        assert!(
            self.port != 0,
            "the server exited before it listened; its log:\n{}",
            self.log()
        );
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
        self.sessions_gauge("legacy_sse").await
    }

    /// Open sessions of a transport (`legacy_sse`, `streamable`) by the /metrics gauge.
    pub async fn sessions_gauge(&self, transport: &str) -> u64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("sentinel_mcp_sessions_active{{transport=\"{transport}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .expect("sessions gauge in /metrics")
    }

    /// Sends the process a signal (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        signal(self.child.id(), name);
    }

    /// Waits (generously) for the process to exit and returns its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within 60 s; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The tenant whose tokens servers started with [`start_with_entra`] accept.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The API's application id (and token audience) of those servers.
pub const APP: &str = "8a3c6a3e-5d4c-4e57-9a39-6b1e4d2c7f10";

/// A server authenticating with the fake Entra (tenant [`TENANT`], API [`APP`]), plus `extra`.
pub async fn start_with_entra(
    entra: &test_support::entra::FakeEntra,
    extra: &[(&str, &str)],
) -> Server {
    let authority = entra.authority_host();
    let mut env = vec![
        ("SENTINEL_MCP_AUTH", "entra"),
        ("AZURE_TENANT_ID", TENANT),
        ("MCP_SERVER_APP_ID", APP),
        ("SENTINEL_MCP_AUTHORITY_HOST", authority.as_str()),
    ];
    env.extend_from_slice(extra);
    Server::start(&env).await
}

/// Sends process `pid` a signal (`TERM`, `INT`).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
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
        Self::connect_with(server, token, &[]).await
    }

    /// Connects with a bearer token and extra headers on the `GET /sse`.
    pub async fn connect_with(
        server: &Server,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> SseClient {
        let http = reqwest::Client::new();
        let mut req = http.get(server.url("/sse"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
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
        self.next_event_or_end().await.expect("stream ended")
    }

    /// The next event that is not a keep-alive comment, or `None` when the stream ended cleanly.
    pub async fn next_event_or_end(&mut self) -> Option<Event> {
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
                        return Some(ev);
                    }
                    continue;
                }
                let chunk = self.stream.next().await?.expect("stream error");
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

/// The JSON-RPC message of a Streamable HTTP response, whether sent as JSON or as an SSE stream.
pub async fn mcp_message(resp: reqwest::Response) -> Value {
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.text().await.unwrap();
    if ct.starts_with("application/json") {
        return serde_json::from_str(&body).unwrap();
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC response in: {body}"))
}

/// A `POST /mcp` with the headers a Streamable HTTP client sends.
pub fn mcp_post(server: &Server, body: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
}

/// Opens a session-era Streamable HTTP session (initialize, then initialized); its id.
pub async fn mcp_open_session(server: &Server, headers: &[(&str, &str)]) -> String {
    let resp = mcp_session_initialize(server, headers).await;
    assert_eq!(resp.status(), 200, "initialize answered {}", resp.status());
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    mcp_message(resp).await;
    let mut req = mcp_post(
        server,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .header("mcp-session-id", &sid)
    .header("mcp-protocol-version", "2025-06-18");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    assert_eq!(req.send().await.unwrap().status(), 202);
    sid
}

/// A session-era `initialize` on /mcp, as sent (the response unread).
pub async fn mcp_session_initialize(
    server: &Server,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = mcp_post(
        server,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-06-18")}),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// A request on a session-era Streamable HTTP session, as sent (the response unread).
pub async fn mcp_session_request(
    server: &Server,
    session: &str,
    id: u64,
    method: &str,
    params: Value,
) -> reqwest::Response {
    mcp_post(
        server,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .header("mcp-session-id", session)
    .header("mcp-protocol-version", "2025-06-18")
    .send()
    .await
    .unwrap()
}

/// A stateless (2026-07-28 era) `tools/call` on /mcp: no session, the call in one request.
pub fn mcp_stateless_call(
    server: &Server,
    id: u64,
    tool: &str,
    arguments: Value,
) -> reqwest::RequestBuilder {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "sentinel-mcp-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    mcp_post(
        server,
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments, "_meta": meta}}),
    )
    .header("mcp-protocol-version", "2026-07-28")
    .header("mcp-method", "tools/call")
    .header("mcp-name", tool)
}

impl Server {
    /// The value of a metric line in /metrics (`name` with its labels, if any).
    pub async fn metric(&self, name: &str) -> Option<u64> {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Waits (60 s at most) until `name` in /metrics reads `value`.
    pub async fn wait_for_metric(&self, name: &str, value: u64) {
        let mut last = None;
        wait_until(&format!("{name} == {value}"), async || {
            last = self.metric(name).await;
            last == Some(value)
        })
        .await;
    }
}

/// Polls `check` until it holds, failing the test after 60 s.
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("waited 60 s for {what}");
}

impl SseClient {
    /// Posts a `tools/call` with `id` and returns once the server accepted it (202), without
    /// waiting for the answer.
    pub async fn start_call(&self, id: u64, name: &str, args: Value) {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}});
        let resp = self.post_raw(&body.to_string()).await;
        assert_eq!(
            resp.status(),
            202,
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// Asks the server to cancel the call with `id`.
    pub async fn cancel(&self, id: u64) {
        let body = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id, "reason": "test"}});
        assert_eq!(self.post_raw(&body.to_string()).await.status(), 202);
    }

    /// The next JSON-RPC message on the stream.
    pub async fn next_message(&mut self) -> Value {
        let ev = self.next_event().await;
        assert_eq!(ev.event, "message");
        serde_json::from_str(&ev.data).unwrap()
    }
}

impl Server {
    /// A server whose Azure backend uses `fake`, with `extra` settings.
    pub async fn start_on_azure(
        fake: &test_support::azure::FakeAzure,
        extra: &[(&str, &str)],
    ) -> Server {
        let mut env = fake.server_env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&env).await
    }
}

/// A server on the demo workspace with `extra` settings, and an initialized legacy SSE client.
pub async fn local_session(extra: &[(&str, &str)]) -> (Server, SseClient) {
    let server = Server::start(extra).await;
    let mut client = SseClient::connect(&server).await;
    client.initialize().await;
    (server, client)
}

/// A fake Azure, a server on it with `extra` settings, and an initialized legacy SSE client.
pub async fn azure_session(
    extra: &[(&str, &str)],
) -> (test_support::azure::FakeAzure, Server, SseClient) {
    let fake = test_support::azure::FakeAzure::start(20_000).await;
    let server = Server::start_on_azure(&fake, extra).await;
    let mut client = SseClient::connect(&server).await;
    client.initialize().await;
    (fake, server, client)
}

/// The binary serving MCP on stdio (demo workspace, a fresh state dir), its stdin and stdout
/// piped; add settings, then spawn.
pub fn stdio_command() -> Command {
    let mut c = Command::new(BIN);
    c.args(["--transport", "stdio"])
        .env("SENTINEL_MCP_DEMO_ROWS", TEST_DEMO_ROWS)
        .env("SENTINEL_MCP_STATE_DIR", temp_dir("stdio"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

/// The server on stdio, spawned from `command` (see [`stdio_command`]): JSON-RPC messages in and
/// out, one a line.
pub struct StdioServer {
    pub child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl StdioServer {
    pub fn spawn(command: Command) -> StdioServer {
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        StdioServer {
            child,
            stdin,
            lines: tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout)),
        }
    }

    /// Writes one message.
    pub async fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        tokio::io::AsyncWriteExt::write_all(stdin, format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }

    /// The next message the server writes (60 s at most).
    pub async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("an answer within 60 s")
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&line).unwrap()
    }

    /// Closes the server's stdin, as a client that goes away does.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }
}
