//! A minimal MCP client over hyper's HTTP/1 client connections: legacy SSE sessions,
//! Streamable HTTP sessions and stateless (2026-07-28) calls. Each connection is one TCP
//! socket and one small task, so thousands of idle sessions stay cheap on the client side.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::sse::SseParser;
use crate::target::Target;

/// Longest any single network step may take before it counts as an error.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the end of a per-request event stream may lag behind its reply.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect to {0} failed: {1}")]
    Connect(std::net::SocketAddr, std::io::Error),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("server answered {0} to {1}")]
    Status(StatusCode, &'static str),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("the event stream ended before {0}")]
    StreamEnded(&'static str),
    #[error("bad event stream: {0}")]
    Sse(#[from] crate::sse::SseError),
    #[error("bad endpoint: {0}")]
    Target(#[from] crate::target::TargetError),
    #[error("bad JSON-RPC message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the server answered with a JSON-RPC error or a tool error")]
    RpcError,
    #[error("initialize returned no Mcp-Session-Id header")]
    NoSessionId,
}

type Result<T> = std::result::Result<T, ClientError>;

async fn step<T>(what: &'static str, f: impl Future<Output = Result<T>>) -> Result<T> {
    timeout(STEP_TIMEOUT, f)
        .await
        .map_err(|_| ClientError::Timeout(what))?
}

/// One HTTP/1.1 keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Opens a TCP connection (no Nagle) and runs its HTTP/1 state machine on a task.
    pub async fn connect(target: &Target) -> Result<Conn> {
        let stream = step("connect", async {
            TcpStream::connect(target.addr)
                .await
                .map_err(|e| ClientError::Connect(target.addr, e))
        })
        .await?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender })
    }

    /// True once the server or an error closed the connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one request and returns the response head with its still-streaming body.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>> {
        step("response headers", async {
            self.sender.ready().await?;
            Ok(self.sender.send_request(req).await?)
        })
        .await
    }

    /// Like `send`, but hands the request back when it never left (the server had closed the
    /// connection), so the caller can retry it on a new connection without sending it twice.
    async fn try_send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> std::result::Result<Response<Incoming>, (ClientError, Option<Request<Full<Bytes>>>)> {
        let sent = timeout(STEP_TIMEOUT, async {
            if let Err(e) = self.sender.ready().await {
                return Err((ClientError::Http(e), None));
            }
            self.sender.try_send_request(req).await.map_err(|mut e| {
                let unsent = e.take_message();
                (ClientError::Http(e.into_error()), unsent)
            })
        })
        .await;
        sent.unwrap_or(Err((ClientError::Timeout("response headers"), None)))
    }
}

/// A lazily (re)connected keep-alive connection for POSTs; reconnects when the server closed it.
pub struct Poster {
    target: Target,
    conn: Option<Conn>,
}

impl Poster {
    /// A poster for `target`'s server; connects on first use.
    pub fn new(target: &Target) -> Poster {
        Poster {
            target: target.clone(),
            conn: None,
        }
    }

    /// POSTs a JSON body to `path` with extra headers; returns the response.
    pub async fn post(
        &mut self,
        path: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        if self.conn.as_ref().is_none_or(Conn::is_closed) {
            self.conn = Some(Conn::connect(&self.target).await?);
        }
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", &self.target.authority)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|_| ClientError::Status(StatusCode::BAD_REQUEST, "building a request"))?;
        let conn = self.conn.as_mut().ok_or(ClientError::StreamEnded("post"))?;
        match conn.try_send(req).await {
            Ok(r) => Ok(r),
            Err((_, Some(unsent))) => {
                // The server closed this keep-alive connection first; the request never left.
                let mut fresh = Conn::connect(&self.target).await?;
                let r = fresh.send(unsent).await;
                self.conn = r.is_ok().then_some(fresh);
                r
            }
            Err((e, None)) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Forgets the connection, e.g. after abandoning a response body mid-stream.
    pub fn discard(&mut self) {
        self.conn = None;
    }
}

/// Reads a whole (small) response body.
pub async fn read_body(resp: Response<Incoming>) -> Result<Bytes> {
    step("response body", async {
        Ok(resp.into_body().collect().await?.to_bytes())
    })
    .await
}

/// The parts of a JSON-RPC response the load tool checks.
#[derive(Debug, Deserialize)]
pub struct RpcReply {
    pub id: Option<serde_json::Value>,
    pub error: Option<serde::de::IgnoredAny>,
    pub result: Option<ReplyResult>,
}

/// The parts of a result the load tool checks.
#[derive(Debug, Deserialize)]
pub struct ReplyResult {
    #[serde(rename = "isError")]
    pub is_error: Option<bool>,
    #[serde(rename = "protocolVersion")]
    pub protocol_version: Option<String>,
}

impl RpcReply {
    /// The numeric id, when the message is a response to one of ours.
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.as_ref()?.as_u64()
    }

    /// True for a successful result that is not a tool error.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
            && self
                .result
                .as_ref()
                .is_some_and(|r| r.is_error != Some(true))
    }
}

/// The tool a benchmark calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    #[value(name = "list_sentinel_tables")]
    ListSentinelTables,
    #[value(name = "run_kql_query")]
    RunKqlQuery,
    /// `run_kql_query` on a 1,000-row `summarize` (ten groups), not a one-row `print`.
    #[value(name = "run_kql_summarize")]
    RunKqlSummarize,
}

impl Tool {
    /// The MCP tool name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::ListSentinelTables => "list_sentinel_tables",
            Tool::RunKqlQuery | Tool::RunKqlSummarize => "run_kql_query",
        }
    }

    fn arguments(self) -> serde_json::Value {
        match self {
            Tool::ListSentinelTables => json!({}),
            Tool::RunKqlQuery => json!({"query": "print x = 1"}),
            Tool::RunKqlSummarize => json!({
                "query": "range i from 1 to 1000 step 1 | summarize n = count(), total = sum(i) by bucket = i / 100"
            }),
        }
    }
}

/// Protocol version a legacy SSE client announces.
pub const SSE_PROTOCOL: &str = "2024-11-05";
/// Protocol version a Streamable HTTP session-era client announces.
pub const STREAMABLE_PROTOCOL: &str = "2025-06-18";
/// The stateless era: no initialize, every request carries its version and client info.
pub const STATELESS_PROTOCOL: &str = "2026-07-28";

/// The `initialize` request body.
pub fn initialize_body(id: u64, protocol: &str) -> Bytes {
    Bytes::from(
        json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": protocol, "capabilities": {},
            "clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")}}})
        .to_string(),
    )
}

/// The `notifications/initialized` body.
pub fn initialized_body() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
}

/// A `tools/call` body; `stateless` adds the 2026-07-28 `_meta` fields.
pub fn call_body(id: u64, tool: Tool, stateless: bool) -> Bytes {
    let mut params = json!({"name": tool.name(), "arguments": tool.arguments()});
    if stateless {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": STATELESS_PROTOCOL,
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")},
            "io.modelcontextprotocol/clientCapabilities": {}
        });
    }
    Bytes::from(
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string(),
    )
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<bool>>>>;

/// One legacy SSE session: the open `GET /sse` stream (read by a task that routes responses to
/// waiting callers by id) and the announced POST endpoint.
pub struct SseSession {
    pub endpoint: Target,
    pending: Pending,
    next_id: AtomicU64,
    reader: JoinHandle<()>,
}

impl Drop for SseSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SseSession {
    /// Opens `GET <url>` and waits for the `endpoint` event.
    pub async fn open(sse: &Target) -> Result<SseSession> {
        let mut conn = Conn::connect(sse).await?;
        let req = Request::builder()
            .method(Method::GET)
            .uri(&sse.path)
            .header("host", &sse.authority)
            .header("accept", "text/event-stream")
            .body(Full::new(Bytes::new()))
            .map_err(|_| ClientError::Status(StatusCode::BAD_REQUEST, "building a request"))?;
        let resp = conn.send(req).await?;
        if resp.status() != StatusCode::OK {
            return Err(ClientError::Status(resp.status(), "GET /sse"));
        }
        let mut body = resp.into_body();
        let mut parser = SseParser::default();
        let mut early = Vec::new();
        let endpoint = step("the endpoint event", async {
            loop {
                let frame = body
                    .frame()
                    .await
                    .ok_or(ClientError::StreamEnded("the endpoint event"))??;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                for ev in parser.push(&data)? {
                    if ev.event == "endpoint" {
                        return Ok(ev.data);
                    }
                    early.push(ev);
                }
            }
        })
        .await?;
        let endpoint = sse.with_endpoint(endpoint.trim())?;
        let pending: Pending = Arc::default();
        let routes = pending.clone();
        let reader = tokio::spawn(async move {
            let _conn = conn;
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let Ok(events) = parser.push(&data) else {
                    break;
                };
                for ev in events.into_iter().filter(|e| e.event == "message") {
                    let Ok(reply) = serde_json::from_str::<RpcReply>(&ev.data) else {
                        continue;
                    };
                    let Some(id) = reply.numeric_id() else {
                        continue;
                    };
                    let waiter = routes.lock().ok().and_then(|mut m| m.remove(&id));
                    if let Some(w) = waiter {
                        let _ = w.send(reply.is_ok());
                    }
                }
            }
            // Stream gone: callers still waiting see their sender dropped.
            if let Ok(mut m) = routes.lock() {
                m.clear();
            }
        });
        Ok(SseSession {
            endpoint,
            pending,
            next_id: AtomicU64::new(1),
            reader,
        })
    }

    /// A fresh request id for this session.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// POSTs a request and waits for its response on the stream. Ok(true) when it succeeded.
    pub async fn request(&self, poster: &mut Poster, id: u64, body: Bytes) -> Result<bool> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.pending.lock() {
            m.insert(id, tx);
        }
        if let Err(e) = self.post(poster, body).await {
            if let Ok(mut m) = self.pending.lock() {
                m.remove(&id);
            }
            return Err(e);
        }
        match timeout(STEP_TIMEOUT, rx).await {
            Ok(Ok(ok)) => Ok(ok),
            Ok(Err(_)) => Err(ClientError::StreamEnded("the response")),
            Err(_) => {
                if let Ok(mut m) = self.pending.lock() {
                    m.remove(&id);
                }
                Err(ClientError::Timeout("the response on the stream"))
            }
        }
    }

    /// POSTs a message (request or notification) and checks for 2xx.
    pub async fn post(&self, poster: &mut Poster, body: Bytes) -> Result<()> {
        let resp = poster.post(&self.endpoint.path, body, &[]).await?;
        let status = resp.status();
        read_body(resp).await?;
        if !status.is_success() {
            return Err(ClientError::Status(status, "POST /messages"));
        }
        Ok(())
    }

    /// initialize + notifications/initialized, as every MCP client does first.
    pub async fn initialize(&self, poster: &mut Poster) -> Result<()> {
        let id = self.next_id();
        if !self
            .request(poster, id, initialize_body(id, SSE_PROTOCOL))
            .await?
        {
            return Err(ClientError::RpcError);
        }
        self.post(poster, initialized_body()).await
    }

    /// One tools/call; Ok(true) when it succeeded.
    pub async fn call(&self, poster: &mut Poster, tool: Tool) -> Result<bool> {
        let id = self.next_id();
        self.request(poster, id, call_body(id, tool, false)).await
    }

    /// POSTs a tools/call without waiting for its response on the stream.
    pub async fn send_call(&self, poster: &mut Poster, tool: Tool) -> Result<()> {
        let id = self.next_id();
        self.post(poster, call_body(id, tool, false)).await
    }
}

/// Reads a Streamable HTTP response (JSON or an SSE stream) until the reply to `id`, then the
/// rest of the stream; a stream still open after that is abandoned and its connection discarded.
pub async fn read_streamable_reply(
    resp: Response<Incoming>,
    id: u64,
    poster: &mut Poster,
) -> Result<RpcReply> {
    let r = read_reply(resp, id).await;
    if !matches!(r, Ok((_, true))) {
        poster.discard();
    }
    r.map(|(reply, _)| reply)
}

/// The reply to `id`, and whether the body was read to its end.
async fn read_reply(resp: Response<Incoming>, id: u64) -> Result<(RpcReply, bool)> {
    let status = resp.status();
    if !status.is_success() {
        let _ = read_body(resp).await;
        return Err(ClientError::Status(status, "POST /mcp"));
    }
    let is_sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        let bytes = read_body(resp).await?;
        return Ok((serde_json::from_slice(&bytes)?, true));
    }
    let mut body = resp.into_body();
    let mut parser = SseParser::default();
    step("the response event", async {
        let mut found = None;
        let mut ended = false;
        loop {
            let frame = if found.is_some() {
                // Drain the rest of this request's stream so the connection can be reused;
                // a server that keeps it open costs a reconnect, not a stall.
                match timeout(DRAIN_TIMEOUT, body.frame()).await {
                    Ok(f) => f,
                    Err(_) => break,
                }
            } else {
                body.frame().await
            };
            let Some(frame) = frame else {
                ended = true;
                break;
            };
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            for ev in parser.push(&data)? {
                if ev.event != "message" || ev.data.is_empty() {
                    continue;
                }
                let reply: RpcReply = serde_json::from_str(&ev.data)?;
                if reply.numeric_id() == Some(id) {
                    found = Some(reply);
                }
            }
            if found.is_some() && body.is_end_stream() {
                ended = true;
                break;
            }
        }
        found
            .map(|f| (f, ended))
            .ok_or(ClientError::StreamEnded("the response event"))
    })
    .await
}

/// A Streamable HTTP session (session era): `Mcp-Session-Id` from initialize on every request.
pub struct StreamableSession {
    pub mcp: Target,
    pub session_id: Option<String>,
    pub protocol: String,
    next_id: AtomicU64,
}

impl StreamableSession {
    /// initialize + notifications/initialized over `poster`.
    pub async fn open(mcp: &Target, poster: &mut Poster) -> Result<StreamableSession> {
        let resp = poster
            .post(&mcp.path, initialize_body(1, STREAMABLE_PROTOCOL), &[])
            .await?;
        let session_id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let reply = read_streamable_reply(resp, 1, poster).await?;
        if !reply.is_ok() {
            return Err(ClientError::RpcError);
        }
        let protocol = reply
            .result
            .and_then(|r| r.protocol_version)
            .unwrap_or_else(|| STREAMABLE_PROTOCOL.to_string());
        let session_id = Some(session_id.ok_or(ClientError::NoSessionId)?);
        let s = StreamableSession {
            mcp: mcp.clone(),
            session_id,
            protocol,
            next_id: AtomicU64::new(2),
        };
        let resp = poster
            .post(&s.mcp.path, initialized_body(), &s.headers())
            .await?;
        let status = resp.status();
        read_body(resp).await?;
        if !status.is_success() {
            return Err(ClientError::Status(status, "notifications/initialized"));
        }
        Ok(s)
    }

    /// The stateless era: nothing to open; every call carries `_meta`.
    pub fn stateless(mcp: &Target) -> StreamableSession {
        StreamableSession {
            mcp: mcp.clone(),
            session_id: None,
            protocol: STATELESS_PROTOCOL.to_string(),
            next_id: AtomicU64::new(1),
        }
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        let mut h = vec![("mcp-protocol-version", self.protocol.as_str())];
        if let Some(id) = &self.session_id {
            h.push(("mcp-session-id", id.as_str()));
        }
        h
    }

    /// One tools/call; Ok(true) when it succeeded.
    pub async fn call(&self, poster: &mut Poster, tool: Tool) -> Result<bool> {
        let (id, resp) = self.send_call(poster, tool).await?;
        Ok(read_streamable_reply(resp, id, poster).await?.is_ok())
    }

    /// Sends a tools/call and returns its id and the response, its body unread.
    pub async fn send_call(
        &self,
        poster: &mut Poster,
        tool: Tool,
    ) -> Result<(u64, Response<Incoming>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stateless = self.session_id.is_none();
        let mut headers = self.headers();
        if stateless {
            headers.push(("mcp-method", "tools/call"));
            headers.push(("mcp-name", tool.name()));
        }
        let resp = poster
            .post(&self.mcp.path, call_body(id, tool, stateless), &headers)
            .await?;
        Ok((id, resp))
    }

    /// DELETE the session (session era); errors are ignored, the run is over.
    pub async fn close(&self, poster: &mut Poster) {
        let Some(id) = &self.session_id else { return };
        let Some(conn) = poster.conn.as_mut() else {
            return;
        };
        let Ok(req) = Request::builder()
            .method(Method::DELETE)
            .uri(&self.mcp.path)
            .header("host", &self.mcp.authority)
            .header("mcp-session-id", id.as_str())
            .header("mcp-protocol-version", self.protocol.as_str())
            .body(Full::new(Bytes::new()))
        else {
            return;
        };
        if let Ok(resp) = conn.send(req).await {
            let _ = read_body(resp).await;
        }
    }
}

/// A plain GET returning status and body (probes, /metrics).
pub async fn get(target: &Target) -> Result<(StatusCode, Bytes)> {
    let mut conn = Conn::connect(target).await?;
    let req = Request::builder()
        .method(Method::GET)
        .uri(&target.path)
        .header("host", &target.authority)
        .body(Full::new(Bytes::new()))
        .map_err(|_| ClientError::Status(StatusCode::BAD_REQUEST, "building a request"))?;
    let resp = conn.send(req).await?;
    let status = resp.status();
    Ok((status, read_body(resp).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_with_tool_errors_or_rpc_errors_are_not_ok() {
        let ok: RpcReply =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":3,"result":{"content":[]}}"#).unwrap();
        assert!(ok.is_ok());
        assert_eq!(ok.numeric_id(), Some(3));
        let tool_err: RpcReply =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":3,"result":{"isError":true}}"#).unwrap();
        assert!(!tool_err.is_ok());
        let rpc_err: RpcReply = serde_json::from_str(
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}}"#,
        )
        .unwrap();
        assert!(!rpc_err.is_ok());
        assert_eq!(rpc_err.numeric_id(), None);
    }

    #[test]
    fn stateless_calls_carry_the_protocol_meta() {
        let v: serde_json::Value =
            serde_json::from_slice(&call_body(9, Tool::RunKqlQuery, true)).unwrap();
        assert_eq!(v["id"], 9);
        assert_eq!(v["params"]["name"], "run_kql_query");
        assert_eq!(v["params"]["arguments"]["query"], "print x = 1");
        assert_eq!(
            v["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            STATELESS_PROTOCOL
        );
        let v: serde_json::Value =
            serde_json::from_slice(&call_body(1, Tool::ListSentinelTables, false)).unwrap();
        assert!(v["params"].get("_meta").is_none());
    }
}
