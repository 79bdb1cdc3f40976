//! Connections through the real binary: over MAX_CONNECTIONS a connection is answered 503 (probes
//! still 200) instead of waiting in the kernel queue; clients slow to send their headers are cut
//! off without holding others up; kept-alive connections outlive the header timeout and close
//! after the idle timeout.

mod common;

use std::time::Duration;

use common::{Server, SseClient, wait_until};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 response (headers and a Content-Length body) from a raw connection; its
/// status, or `None` when the server closed the connection first.
async fn read_response(stream: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                return head.split(' ').nth(1).and_then(|s| s.parse().ok());
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut chunk))
            .await
            .expect("an answer or a close within 60 s")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Waits (generously) until the server closes `stream` without having answered anything.
async fn closed_unanswered(stream: &mut TcpStream) {
    let mut chunk = [0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut chunk))
        .await
        .expect("the server closes the connection within 60 s");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!(
            "expected a close, got {:?}",
            String::from_utf8_lossy(&chunk[..n])
        ),
    }
}

#[tokio::test]
async fn over_max_connections_new_connections_get_503_but_probes_are_answered() {
    let server = Server::start(&[("MAX_CONNECTIONS", "4")]).await;
    // Fill every slot with a stream (retrying while the readiness poll's connection closes).
    let mut held = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while held.len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "could not hold 4 streams"
        );
        let r = reqwest::get(server.url("/sse")).await.unwrap();
        if r.status() == 200 {
            held.push(r);
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let refused = reqwest::get(server.url("/sse")).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(refused.headers()["connection"], "close");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["limit"], "MAX_CONNECTIONS");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("MAX_CONNECTIONS=4"),
        "{body}"
    );
    let refused = common::mcp_session_initialize(&server, &[]).await;
    assert_eq!(refused.status(), 503, "every MCP endpoint is refused");
    for probe in ["/health", "/ready", "/metrics"] {
        let r = reqwest::get(server.url(probe)).await.unwrap();
        assert_eq!(r.status(), 200, "{probe} is answered over the cap");
    }
    assert_eq!(server.sse_sessions().await, 4);

    // A freed slot takes the next connection.
    held.pop();
    wait_until("a freed slot takes a new stream", || async {
        reqwest::get(server.url("/sse"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

#[tokio::test]
async fn beyond_the_probe_reserve_a_connection_still_gets_a_503_not_silence() {
    let server = Server::start(&[
        ("MAX_CONNECTIONS", "1"),
        ("SENTINEL_MCP_HEADER_READ_TIMEOUT_SECS", "0"),
    ])
    .await;
    let addr = format!("127.0.0.1:{}", server.port);
    // One slot and the reserve of 64, held by clients that send nothing.
    let mut silent = Vec::new();
    for _ in 0..65 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    // The readiness poll's connection may still hold the slot when the first of these is
    // accepted (the server sees its close a moment later, later still on a loaded machine): then
    // the last silent one is the one refused, and the slot freed after goes to the next
    // connection, which stays silent too. One more connection is then beyond the reserve.
    let mut answer = Vec::new();
    let mut in_freed_slot = None;
    for wait in [5, 60] {
        let mut beyond = TcpStream::connect(&addr).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(wait), beyond.read_to_end(&mut answer)).await
        {
            Ok(read) => {
                read.unwrap();
                break;
            }
            Err(_) if in_freed_slot.is_none() => in_freed_slot = Some(beyond),
            Err(_) => panic!("no answer and close within {wait} s"),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 5"), "{answer}");
    assert!(answer.contains("\"limit\":\"MAX_CONNECTIONS\""), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_completes_its_headers_is_disconnected() {
    let server = Server::start(&[("SENTINEL_MCP_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let addr = format!("127.0.0.1:{}", server.port);
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    closed_unanswered(&mut silent).await;
    closed_unanswered(&mut partial).await;
}

#[tokio::test]
async fn slowloris_clients_are_cut_off_and_do_not_block_others() {
    let server = Server::start(&[
        ("SENTINEL_MCP_HEADER_READ_TIMEOUT_SECS", "2"),
        ("MAX_CONNECTIONS", "8"),
    ])
    .await;
    let addr = format!("127.0.0.1:{}", server.port);
    // More trickling clients than connection slots: headers of 4 KiB, one byte per 100 ms.
    let header = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(4096)
    );
    let mut slowloris = Vec::new();
    for _ in 0..12 {
        let stream = TcpStream::connect(&addr).await.unwrap();
        let header = header.clone().into_bytes();
        slowloris.push(tokio::spawn(async move {
            let (mut read, mut write) = stream.into_split();
            let mut sent = 0;
            let mut answer = [0u8; 512];
            loop {
                tokio::select! {
                    r = read.read(&mut answer) => {
                        assert!(!matches!(r, Ok(n) if n > 0), "a slowloris client got an answer");
                        return sent;
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if sent == header.len() || write.write_all(&header[sent..=sent]).await.is_err() {
                            return sent;
                        }
                        sent += 1;
                    }
                }
            }
        }));
    }
    // Meanwhile the probes are answered, and once the trickling clients are cut off, so is
    // everything else.
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
    for client in slowloris {
        let sent = tokio::time::timeout(Duration::from_secs(120), client)
            .await
            .expect("every slowloris client is cut off")
            .unwrap();
        assert!(
            sent < header.len(),
            "cut off before the headers were complete"
        );
    }
    wait_until("a normal client gets a session", || async {
        reqwest::get(server.url("/sse"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
}

#[tokio::test]
async fn kept_alive_connections_outlive_the_header_timeout_and_close_when_idle() {
    let server = Server::start(&[
        ("SENTINEL_MCP_HEADER_READ_TIMEOUT_SECS", "1"),
        ("SENTINEL_MCP_CONNECTION_IDLE_SECS", "8"),
    ])
    .await;
    let mut conn = TcpStream::connect(format!("127.0.0.1:{}", server.port))
        .await
        .unwrap();
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut conn).await, Some(200));
    // Idle three times the header timeout, well within the idle timeout: still usable.
    tokio::time::sleep(Duration::from_secs(3)).await;
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(
        read_response(&mut conn).await,
        Some(200),
        "a kept-alive connection is not held to the header timeout while idle"
    );
    // Left idle, it is closed (after 8 s).
    closed_unanswered(&mut conn).await;
}
