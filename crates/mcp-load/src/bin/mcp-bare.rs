//! The machine's limit: a bare hyper server answering the same HTTP pattern as an MCP server
//! (legacy `GET /sse` + `POST /messages` with replies on the stream, `POST /mcp` with JSON
//! replies, `GET /health`) with canned results and no MCP machinery. Measured with the same
//! load tool, it shows what the sockets, HTTP/1 and JSON parsing alone cost here.
//!
//!     mcp-bare [PORT]      # 127.0.0.1:PORT, default 8090; 0 picks a free port
//!
//! Its first line on stdout is `listening on 127.0.0.1:PORT`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

type Body = UnsyncBoxBody<Bytes, Infallible>;

#[derive(Default)]
struct Sessions {
    next: AtomicU64,
    streams: Mutex<HashMap<u64, mpsc::UnboundedSender<Bytes>>>,
}

/// Removes a session when its stream is dropped.
struct Guard(Arc<Sessions>, u64);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.streams.lock() {
            s.remove(&self.1);
        }
    }
}

#[derive(Deserialize)]
struct Message {
    id: Option<serde_json::Value>,
    method: Option<String>,
}

/// The canned tables as a JSON string's contents (newlines escaped).
static TABLES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| mcp_load::CANNED_TABLES.replace('\n', "\\n"));

fn reply(msg: &Message) -> Option<String> {
    let id = msg.id.as_ref()?;
    let result = match msg.method.as_deref() {
        Some("initialize") => r#"{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"mcp-bare","version":"0"}}"#.to_string(),
        Some("tools/call") => format!(
            r#"{{"content":[{{"type":"text","text":"{}"}}],"isError":false}}"#,
            *TABLES
        ),
        _ => "{}".to_string(),
    };
    Some(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#
    ))
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = status;
    r
}

fn session_id(query: Option<&str>) -> Option<u64> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "sessionId" || k == "session_id").then(|| v.parse().ok())?
    })
}

async fn handle(
    req: Request<Incoming>,
    sessions: Arc<Sessions>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    Ok(match (req.method().clone(), path.as_str()) {
        (Method::GET, "/health") => full(StatusCode::OK, r#"{"status":"healthy"}"#),
        (Method::GET, "/sse") => {
            let id = sessions.next.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = mpsc::unbounded();
            let first = Bytes::from(format!(
                "event: endpoint\ndata: /messages?sessionId={id}\n\n"
            ));
            if let Ok(mut s) = sessions.streams.lock() {
                s.insert(id, tx);
            }
            let guard = Guard(sessions.clone(), id);
            let stream = futures::stream::once(async move { first })
                .chain(rx)
                .map(move |b| {
                    let _ = &guard;
                    Ok::<_, Infallible>(Frame::data(b))
                });
            let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
            r.headers_mut().insert(
                "content-type",
                "text/event-stream".parse().expect("static header"),
            );
            r
        }
        (Method::POST, "/messages" | "/messages/") => {
            let Some(id) = session_id(query.as_deref()) else {
                return Ok(full(StatusCode::BAD_REQUEST, "missing sessionId"));
            };
            let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
                return Ok(full(StatusCode::BAD_REQUEST, "bad body"));
            };
            let Ok(msg) = serde_json::from_slice::<Message>(&body) else {
                return Ok(full(StatusCode::BAD_REQUEST, "bad JSON"));
            };
            let tx = sessions
                .streams
                .lock()
                .ok()
                .and_then(|s| s.get(&id).cloned());
            let Some(tx) = tx else {
                return Ok(full(StatusCode::NOT_FOUND, "no such session"));
            };
            if let Some(r) = reply(&msg) {
                let _ = tx.unbounded_send(Bytes::from(format!("event: message\ndata: {r}\n\n")));
            }
            full(StatusCode::ACCEPTED, "Accepted")
        }
        (Method::POST, "/mcp") => {
            let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
                return Ok(full(StatusCode::BAD_REQUEST, "bad body"));
            };
            let Ok(msg) = serde_json::from_slice::<Message>(&body) else {
                return Ok(full(StatusCode::BAD_REQUEST, "bad JSON"));
            };
            match reply(&msg) {
                None => full(StatusCode::ACCEPTED, ""),
                Some(r) => {
                    let mut resp = full(StatusCode::OK, r);
                    let h = resp.headers_mut();
                    h.insert(
                        "content-type",
                        "application/json".parse().expect("static header"),
                    );
                    if msg.method.as_deref() == Some("initialize") {
                        let sid = sessions.next.fetch_add(1, Ordering::Relaxed);
                        if let Ok(v) = sid.to_string().parse() {
                            h.insert("mcp-session-id", v);
                        }
                    }
                    resp
                }
            }
        }
        (Method::DELETE, "/mcp") => full(StatusCode::OK, ""),
        _ => full(StatusCode::NOT_FOUND, "not found"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(8090), |p| p.parse())?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    let sessions = Arc::new(Sessions::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, sessions.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
