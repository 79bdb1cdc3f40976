//! Replicas sharing a real `redis-server` (issue 12). With Entra authentication on, a request
//! relayed to a session's replica is checked there like any other, so a principal's session
//! stays its own across replicas, and nothing of it leaks to whoever guessed its id. On SIGTERM
//! a replica answers its sessions' relayed requests until their streams close, then its
//! sessions are gone on every replica. The many-replica behaviour behind nginx is in
//! tests/interop/test_replicas.py.

mod common;

use std::process::{Child, Command};

use common::{APP, Server, SseClient, TENANT, structured, wait_until};
use serde_json::{Value, json};
use test_support::azure::{FakeAzure, Fault, Gate, WORKSPACE_ID};
use test_support::entra::{FakeEntra, TokenSpec};

const READ: [&str; 1] = ["SecOps.Read"];

/// A `redis-server` on a free loopback port, stopped on drop.
struct Redis {
    child: Child,
    port: u16,
    url: String,
}

impl Redis {
    /// redis-server on a port nobody else holds: it is told a free port and must say it is ready
    /// on it (if another process took the port in between, it exits, and we try another).
    async fn start() -> Redis {
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = common::temp_dir("redis").join("redis.log");
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("redis-server is installed (scripts/install-test-deps.sh)");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("Ready to accept connections") {
                    return Redis {
                        child,
                        port,
                        url: format!("redis://127.0.0.1:{port}"),
                    };
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start on three free ports");
    }

    /// `GET key`, through `redis-cli` (empty when the key does not exist).
    fn get(&self, key: &str) -> String {
        self.cli(&["GET", key])
    }

    /// A command's answer, through `redis-cli`.
    fn cli(&self, command: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(command)
            .output()
            .expect("redis-cli comes with redis-server");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn replica(entra: &FakeEntra, redis: &Redis, id: &str) -> Server {
    replica_with(entra, redis, id, &[]).await
}

/// A replica with settings of its own besides Redis's.
async fn replica_with(
    entra: &FakeEntra,
    redis: &Redis,
    id: &str,
    extra: &[(&str, &str)],
) -> Server {
    let mut settings = vec![
        ("SENTINEL_MCP_REDIS_URL", redis.url.as_str()),
        ("SENTINEL_MCP_REPLICA_ID", id),
    ];
    settings.extend_from_slice(extra);
    common::start_with_entra(entra, &settings).await
}

fn mallory(entra: &FakeEntra) -> String {
    let mut spec = TokenSpec::user(TENANT, APP, &READ);
    spec.oid = "99999999-9999-9999-9999-999999999999".into();
    spec.upn = Some("mallory@contoso.com".into());
    entra.mint(&spec)
}

fn call(id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "print secret = 'alice-only'"}}}).to_string()
}

#[tokio::test]
async fn a_legacy_session_relayed_from_another_replica_answers_its_owner_and_no_one_else() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let redis = Redis::start().await;
    let (a, b) = (
        replica(&entra, &redis, "a").await,
        replica(&entra, &redis, "b").await,
    );
    let alice_token = entra.mint(&TokenSpec::user(TENANT, APP, &READ));
    let mut alice = SseClient::connect_as(&a, Some(&alice_token)).await;
    alice.initialize().await;
    let on_b = b.url(&format!("/messages?sessionId={}", alice.session_id));
    let post = |token: String, body: String| {
        reqwest::Client::new()
            .post(&on_b)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let hijack = post(mallory(&entra), call(66)).await.unwrap();
    assert_eq!(
        hijack.status(),
        404,
        "someone else's session looks missing on every replica"
    );
    let body = hijack.text().await.unwrap();
    assert!(!body.contains("alice-only"), "{body}");
    let no_token = reqwest::Client::new()
        .post(&on_b)
        .body(call(67))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.status(),
        401,
        "the receiving replica authenticates too"
    );

    let own = post(alice_token.clone(), call(7)).await.unwrap();
    assert_eq!(own.status(), 202);
    // Alice's stream carries the answer to her call, and nothing for Mallory's.
    let event = alice.next_event().await;
    let message: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(message["id"], 7, "{message}");
    assert_eq!(
        common::structured(&message)["rows"],
        json!([["alice-only"]]),
        "{message}"
    );
}

#[tokio::test]
async fn a_streamable_session_relayed_from_another_replica_answers_its_owner_and_no_one_else() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let redis = Redis::start().await;
    let (a, b) = (
        replica(&entra, &redis, "a").await,
        replica(&entra, &redis, "b").await,
    );
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &READ));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::init_params("2025-06-18")});
    let send = |server: &Server, token: &str, session: Option<&str>, body: String| {
        let mut req = reqwest::Client::new()
            .post(server.url("/mcp"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body);
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        req.send()
    };
    let opened = send(&a, &alice, None, init.to_string()).await.unwrap();
    assert_eq!(opened.status(), 200);
    let sid = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let sent = send(&b, &alice, Some(&sid), initialized.to_string())
        .await
        .unwrap();
    assert_eq!(sent.status(), 202, "relayed to replica a");

    let hijack = send(&b, &mallory(&entra), Some(&sid), call(66))
        .await
        .unwrap();
    assert_eq!(hijack.status(), 404);
    assert!(!hijack.text().await.unwrap().contains("alice-only"));

    let own = send(&b, &alice, Some(&sid), call(7)).await.unwrap();
    assert_eq!(own.status(), 200);
    let message = common::mcp_message(own).await;
    assert_eq!(message["id"], 7, "{message}");
    assert_eq!(
        common::structured(&message)["rows"],
        json!([["alice-only"]])
    );
}

/// The next JSON-RPC message on a legacy stream.
async fn next_message(c: &mut SseClient) -> Value {
    let event = c.next_event().await;
    assert_eq!(event.event, "message");
    serde_json::from_str(&event.data).unwrap()
}

#[tokio::test]
async fn a_draining_replica_answers_relayed_requests_until_its_stream_closes_then_the_session_is_gone_everywhere()
 {
    let fake = FakeAzure::start(20_000).await;
    let redis = Redis::start().await;
    let replica = async |id: &str| {
        let mut env = fake.server_env();
        env.push(("SENTINEL_MCP_REDIS_URL".into(), redis.url.clone()));
        env.push(("SENTINEL_MCP_REPLICA_ID".into(), id.into()));
        env.push(("SENTINEL_MCP_DRAIN_TIMEOUT_SECS".into(), "60".into()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&env).await
    };
    let (mut a, b) = (replica("a").await, replica("b").await);
    let mut c = SseClient::connect(&a).await;
    c.initialize().await;
    let key = format!("sentinel-mcp:session:{}", c.session_id);
    assert!(redis.get(&key).contains(r#""replica":"a""#));
    // A call relayed to replica a through b, held at the fake Log Analytics.
    let query_path = format!("/v1/workspaces/{WORKSPACE_ID}/query");
    let gate = Gate::new();
    fake.inject_where(&query_path, "held_drain", Fault::Hold(gate.clone()));
    let on_b = b.url(&format!("/messages?sessionId={}", c.session_id));
    let post = |message: Value| {
        reqwest::Client::new()
            .post(&on_b)
            .header("content-type", "application/json")
            .body(message.to_string())
            .send()
    };
    let held = json!({"jsonrpc": "2.0", "id": 70, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": {"query": "SigninLogs | summarize held_drain = count()"}}});
    assert_eq!(post(held).await.unwrap().status(), 202);
    wait_until("the held query reaches Log Analytics", || async {
        fake.requests_to(&query_path)
            .iter()
            .any(|r| r.body.contains("held_drain"))
    })
    .await;

    a.signal("TERM");
    wait_until("replica a drains", || async {
        reqwest::get(a.url("/ready"))
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    let ping = json!({"jsonrpc": "2.0", "id": 71, "method": "ping"});
    assert_eq!(post(ping).await.unwrap().status(), 202);
    let pong = next_message(&mut c).await;
    assert_eq!(
        (pong["id"].clone(), pong["result"].clone()),
        (json!(71), json!({})),
        "the draining replica still answers what is relayed to it: {pong}"
    );
    gate.open();
    let result = next_message(&mut c).await;
    assert_eq!(result["id"], 70, "{result}");
    assert!(structured(&result)["rows"][0][0].as_u64().unwrap() > 0);
    assert!(c.next_event_or_end().await.is_none(), "the stream ends");
    assert_eq!(a.exit_code().await, Some(0), "{}", a.log());

    // Redis marks the session ended, so b answers 404 at once: not 503, which a missing key
    // gets while Redis is this young (it may be a live session not yet put back).
    assert!(redis.get(&key).contains("ended"), "{}", redis.get(&key));
    let after = post(json!({"jsonrpc": "2.0", "id": 72, "method": "ping"}))
        .await
        .unwrap();
    assert_eq!(after.status(), 404);
    assert!(after.text().await.unwrap().contains("session not found"));
}

/// A session's owner record and its end are stamped by the server's clock, not the system's:
/// with a `ManualClock`, an hour passes between open and end without the test waiting it.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_sessions_opening_and_end_in_redis_are_stamped_by_the_servers_clock() {
    use sentinel_mcp::clock::ManualClock;
    use sentinel_mcp::replicas::{Ownership, Record, ReplicaSettings, Replicas};

    let redis = Redis::start().await;
    let manual = ManualClock::new();
    // Well away from the system's now, so a stamp from the system clock could not pass.
    manual.advance(std::time::Duration::from_secs(400 * 86_400));
    let settings = ReplicaSettings {
        redis_url: Some(redis.url.as_str().into()),
        redis_password: None,
        redis_entra: false,
        replica_id: Some("clocked".into()),
    };
    let replicas = Replicas::connect(
        &settings,
        || Err("no identity without SENTINEL_MCP_REDIS_ENTRA".into()),
        manual.clock(),
    )
    .await
    .expect("Redis answers")
    .expect("Redis is configured");
    let opened = manual.clock().now_secs();
    replicas.register("s-1", "streamable", "alice").await;
    assert_eq!(
        replicas.record_of("s-1").await,
        Ok(Some(Record::Owned(Ownership {
            replica: "clocked".into(),
            transport: "streamable".into(),
            owner: "alice".into(),
            opened,
        })))
    );

    manual.advance(std::time::Duration::from_secs(3_600));
    replicas.deregister("s-1");
    // Waits for the background clean-up that marks the session ended.
    replicas.leave().await;
    assert_eq!(
        replicas.record_of("s-1").await,
        Ok(Some(Record::Ended {
            ended: opened + 3_600
        }))
    );
}

/// A truncated result kept on replica `a` answers a stateless `resources/read` on replica `b`
/// (through Redis), for its owner only, with the same pages (JSON and CSV) `a` gives.
#[tokio::test]
async fn a_result_link_answers_on_every_replica_for_its_owner_only() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let redis = Redis::start().await;
    let (a, b) = (
        replica(&entra, &redis, "a").await,
        replica(&entra, &redis, "b").await,
    );
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &READ));
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "replica-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let stateless = |server: &Server, token: &str, method: &str, name: &str, params: Value| {
        let mut params = params;
        params["_meta"] = meta.clone();
        reqwest::Client::new()
            .post(server.url("/mcp"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .header("mcp-name", name)
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
            )
            .send()
    };
    let query = json!({"query": "range x from 1 to 2500 step 1 | extend s = strcat('row,', x), d = bag_pack('x', x)", "max_rows": 10});
    let called = stateless(
        &a,
        &alice,
        "tools/call",
        "run_kql_query",
        json!({"name": "run_kql_query", "arguments": query}),
    )
    .await
    .unwrap();
    let called = common::mcp_message(called).await;
    let uri = common::structured(&called)["full_result"]
        .as_str()
        .unwrap_or_else(|| panic!("no link: {called}"))
        .to_string();
    let id = uri.strip_prefix("sentinel://results/").unwrap();
    assert!(
        redis
            .get(&format!("sentinel-mcp:result:{id}"))
            .contains("\"total\":2500"),
        "the header is in Redis"
    );
    let read = |server: &Server, token: String, uri: String| {
        let request = stateless(
            server,
            &token,
            "resources/read",
            &uri,
            json!({"uri": uri.clone()}),
        );
        async move { common::mcp_message(request.await.unwrap()).await }
    };
    for page in ["?offset=990&limit=20", "?offset=2495&format=csv", ""] {
        let on_a = read(&a, alice.clone(), format!("{uri}{page}")).await;
        let on_b = read(&b, alice.clone(), format!("{uri}{page}")).await;
        assert!(on_b.get("error").is_none(), "{on_b}");
        assert_eq!(
            on_a["result"]["contents"], on_b["result"]["contents"],
            "{page}: the same page on both replicas"
        );
    }
    let on_b = read(&b, alice.clone(), format!("{uri}?offset=990&limit=20")).await;
    let page: Value =
        serde_json::from_str(on_b["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(page["rows"][0], json!([991, "row,991", {"x": 991}]));
    assert_eq!(page["total_rows"], 2500);
    assert_eq!(page["next_offset"], 1010);
    // Someone else, on either replica: the unknown-id answer.
    for server in [&a, &b] {
        let theirs = read(server, mallory(&entra), uri.clone()).await;
        assert!(
            theirs["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("expired or unknown")),
            "{theirs}"
        );
    }
}

/// About 300 KB of JSON in Redis (300 rows of a 1,000-character text), 5 rows shown: three fit
/// a 1 MiB store, a fourth does not.
const WIDE_QUERY: &str = "range x from 1 to 300 step 1 | extend s = strrep('x', 1000)";

/// Runs [`WIDE_QUERY`] on `c` and answers its link's id.
async fn kept_wide_result(c: &mut SseClient) -> String {
    let r = c
        .call_tool("run_kql_query", json!({"query": WIDE_QUERY, "max_rows": 5}))
        .await;
    let uri = structured(&r)["full_result"]
        .as_str()
        .unwrap_or_else(|| panic!("no link: {r}"))
        .to_string();
    uri.strip_prefix("sentinel://results/").unwrap().to_string()
}

/// `resources/read` of result `id`'s first row on `c`.
async fn read_first_row(c: &mut SseClient, id: &str) -> Value {
    c.request(
        "resources/read",
        json!({"uri": format!("sentinel://results/{id}?limit=1")}),
    )
    .await
}

/// SENTINEL_MCP_RESULT_STORE_MB bounds the copies in Redis across replicas, not only each
/// replica's memory: two results kept on `a` and two on `b` (each within its own replica's
/// bound) pass 1 MiB together, so the oldest is deleted from Redis, its link answers like an
/// expired one on `b`, the newest reads on `a`, and the count stays within the bound.
#[tokio::test]
async fn shared_results_are_bounded_by_the_store_size_across_replicas() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let redis = Redis::start().await;
    let small = [("SENTINEL_MCP_RESULT_STORE_MB", "1")];
    let (a, b) = (
        replica_with(&entra, &redis, "a", &small).await,
        replica_with(&entra, &redis, "b", &small).await,
    );
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &READ));
    let mut on_a = SseClient::connect_as(&a, Some(&alice)).await;
    on_a.initialize().await;
    let mut on_b = SseClient::connect_as(&b, Some(&alice)).await;
    on_b.initialize().await;
    let mut ids = Vec::new();
    for on_b_now in [false, false, true, true] {
        let c = if on_b_now { &mut on_b } else { &mut on_a };
        ids.push(kept_wide_result(c).await);
        let bytes: usize = redis.get("sentinel-mcp:results:bytes").parse().unwrap();
        assert!(
            bytes <= 1 << 20,
            "{bytes} bytes shared after {} results",
            ids.len()
        );
    }
    assert_eq!(
        redis.get(&format!("sentinel-mcp:result:{}", ids[0])),
        "",
        "the oldest was deleted from Redis"
    );
    assert_eq!(redis.cli(&["ZCARD", "sentinel-mcp:results:index"]), "3");
    assert_eq!(redis.cli(&["HLEN", "sentinel-mcp:results:sizes"]), "3");
    let bytes: usize = redis.get("sentinel-mcp:results:bytes").parse().unwrap();
    assert!(bytes > 900_000, "three results of about 300 KB: {bytes}");
    let evicted = read_first_row(&mut on_b, &ids[0]).await;
    assert!(
        evicted["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired or unknown")),
        "{evicted}"
    );
    for (c, id) in [(&mut on_a, &ids[3]), (&mut on_b, &ids[1])] {
        let page = read_first_row(c, id).await;
        assert!(
            page.get("error").is_none(),
            "{id} reads on the other replica: {page}"
        );
    }
}

/// Shared results whose TTL passed leave the count: the next write forgets them.
#[tokio::test]
async fn expired_shared_results_leave_the_count() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let redis = Redis::start().await;
    let a = replica_with(
        &entra,
        &redis,
        "a",
        &[("SENTINEL_MCP_RESULT_TTL_SECS", "1")],
    )
    .await;
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &READ));
    let mut c = SseClient::connect_as(&a, Some(&alice)).await;
    c.initialize().await;
    let first = kept_wide_result(&mut c).await;
    let one: usize = redis.get("sentinel-mcp:results:bytes").parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let second = kept_wide_result(&mut c).await;
    let bytes: usize = redis.get("sentinel-mcp:results:bytes").parse().unwrap();
    assert_eq!(bytes, one, "only the live result counts");
    assert_eq!(
        redis.cli(&["ZRANGE", "sentinel-mcp:results:index", "0", "-1"]),
        second
    );
    assert_eq!(
        redis.cli(&["HEXISTS", "sentinel-mcp:results:sizes", &first]),
        "0"
    );
}
