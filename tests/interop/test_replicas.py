"""Three replicas behind nginx round-robin (no stickiness), one Redis: one server to clients.

The fixture starts a real `redis-server` (with a password) and `nginx` (Debian packages,
installed by scripts/install-test-deps.sh) on loopback ports, three `sentinel-mcp` replicas
sharing the Redis, and nginx in front sending each request to the next replica in turn. The
per-principal limits are off: all test traffic is one loopback principal.

The official Python `mcp` client speaks to nginx over legacy SSE and Streamable HTTP; raw HTTP
checks what a replica answers for a session whose owner is gone or while Redis is down.

Environment: REPLICA_SESSIONS and REPLICA_CALLS size the concurrent run (default 20 x 10; the
issue's bounded scenario is 200 x 50).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from conftest import RunningServer, free_port, http_status, start_server
from support import against_peer

pytestmark = pytest.mark.skipif(against_peer(), reason="replicas are sentinel-mcp's")

REDIS_PASSWORD = "interop-redis-secret"
REPLICAS = 3
CALL_TIMEOUT_S = 120
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail("nginx is not installed: run scripts/install-test-deps.sh", pytrace=False)
    return found


def wait_for(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} within {timeout:.0f} s", pytrace=False)


class Redis:
    """A password-protected redis-server on a loopback port, with nothing persisted."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not shutil.which("redis-server"):
            pytest.fail("redis-server is not installed: run scripts/install-test-deps.sh", pytrace=False)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.cli("PING") == "PONG", "redis-server did not answer PING")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", REDIS_PASSWORD, *args],
            capture_output=True, text=True, timeout=10,
        )
        return done.stdout.strip()

    def owner_of(self, session: str) -> str | None:
        """The replica holding a live session; None when Redis has no key or marks it ended."""
        value = self.cli("GET", f"sentinel-mcp:session:{session}")
        return json.loads(value).get("replica") if value else None


class Nginx:
    """nginx round-robin over the replicas: no stickiness, no buffering of event streams."""

    def __init__(self, tmp: Path, upstreams: list[int]):
        self.port = free_port()
        self.dir = tmp / "nginx"
        self.dir.mkdir(exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
        d = self.dir
        (d / "nginx.conf").write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream replicas {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_next_upstream error timeout;
        }}
    }}
}}
""")
        self.process = subprocess.Popen(
            [nginx_binary(), "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off; user root;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_for(lambda: http_status(f"{self.base_url}/health") == 200, "nginx did not proxy /health")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Cluster:
    def __init__(self, redis: Redis, replicas: list[RunningServer], nginx: Nginx):
        self.redis, self.replicas, self.nginx = redis, replicas, nginx

    def replica(self, name: str) -> RunningServer:
        return self.replicas[int(name.removeprefix("r"))]

    def metric(self, name: str, labels: str) -> float:
        total = 0.0
        for r in self.replicas:
            if r.process.poll() is not None:
                continue
            text = _DIRECT.open(f"{r.base_url}/metrics", timeout=5).read().decode()
            for line in text.splitlines():
                if line.startswith(f"{name}{{{labels}}}"):
                    total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("replicas")
    redis = Redis(tmp)
    redis.start()
    replicas = []
    for i in range(REPLICAS):
        env = {
            "SENTINEL_MCP_REPLICA_ID": f"r{i}",
            "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL": "0",
            "SENTINEL_MCP_RATE_LIMIT_PER_MINUTE": "0",
            "SENTINEL_MCP_MAX_CONCURRENT_CALLS": "0",
        }
        # One replica takes the password from its own setting, the others from the URL.
        if i == 0:
            env["SENTINEL_MCP_REDIS_URL"] = f"redis://127.0.0.1:{redis.port}"
            env["SENTINEL_MCP_REDIS_PASSWORD"] = REDIS_PASSWORD
        else:
            env["SENTINEL_MCP_REDIS_URL"] = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis.port}"
        replicas.append(start_server(tmp, env))
    nginx = Nginx(tmp, [r.port for r in replicas])
    yield Cluster(redis, replicas, nginx)
    nginx.stop()
    for r in replicas:
        r.stop()
    redis.stop()


def run(fn, *args):
    async def bounded():
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await fn(*args)

    return anyio.run(bounded)


def connect(kind: str, base: str) -> Client:
    if kind == "sse":
        return Client(sse_client(f"{base}/sse"), mode="legacy")
    return Client(f"{base}/mcp", mode="legacy")


async def calls_in_one_session(kind: str, base: str, n: int) -> list[int]:
    async with connect(kind, base) as client:
        tools = await client.list_tools()
        assert "run_kql_query" in {t.name for t in tools.tools}
        answers = []
        for i in range(n):
            result = await client.call_tool("run_kql_query", {"query": f"print x = {i} * 2"})
            assert not result.is_error, result
            answers.append(result.structured_content["rows"][0][0])
        return answers


def test_replicas_secrets_stay_out_of_their_logs(cluster):
    for r in cluster.replicas:
        assert REDIS_PASSWORD not in r.stderr_text(200_000)


@pytest.mark.parametrize("kind", ["sse", "http-session"])
def test_the_python_client_through_round_robin_gets_every_answer(cluster, kind):
    relayed = cluster.metric("sentinel_mcp_relays_total", 'outcome="relayed"')
    answers = run(calls_in_one_session, kind, cluster.nginx.base_url, 12)
    assert answers == [i * 2 for i in range(12)]
    # Round robin sent most of the session's requests to replicas that do not hold it.
    assert cluster.metric("sentinel_mcp_relays_total", 'outcome="relayed"') - relayed >= 8


def test_ready_reports_redis_and_the_replica(cluster):
    for i, r in enumerate(cluster.replicas):
        body = json.loads(_DIRECT.open(f"{r.base_url}/ready", timeout=5).read())
        assert body["redis"] == "ok" and body["replica"] == f"r{i}", body


def test_many_sessions_on_both_transports_lose_no_call(cluster):
    sessions = int(os.environ.get("REPLICA_SESSIONS", "20"))
    calls = int(os.environ.get("REPLICA_CALLS", "10"))
    failures: list[str] = []

    async def body():
        async def one(k: int):
            kind = "sse" if k % 2 else "http-session"
            try:
                answers = await calls_in_one_session(kind, cluster.nginx.base_url, calls)
                if answers != [i * 2 for i in range(calls)]:
                    failures.append(f"session {k}: {answers}")
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failures.append(f"session {k} ({kind}): {e!r}")

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for k in range(sessions):
                tg.start_soon(one, k)
        took = time.monotonic() - started
        print(f"{sessions} sessions x {calls} calls through nginx and 3 replicas: "
              f"{sessions * calls / took:.0f} calls/s")

    run(body)
    assert not failures, "\n".join(failures[:20])


# ------------------------------------------------------------------ raw legacy SSE sessions


class SseSession:
    """A legacy SSE session opened through nginx; events read on a thread."""

    def __init__(self, base: str):
        self.base = base
        self.response = _DIRECT.open(f"{base}/sse", timeout=60)
        self.events: list[dict] = []
        self.endpoint = None
        self.ended = False
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        with self.lock:
            self.lock.wait_for(lambda: self.endpoint is not None, timeout=10)
        assert self.endpoint, "no endpoint event"
        self.id = self.endpoint.split("sessionId=")[1]

    def _read(self):
        event = None
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data = line.split(":", 1)[1].strip()
                    with self.lock:
                        if event == "endpoint":
                            self.endpoint = data
                        else:
                            self.events.append(json.loads(data))
                        self.lock.notify_all()
        except (OSError, AttributeError):
            # The stream was closed (by the test, or by the server going away).
            pass
        with self.lock:
            self.ended = True
            self.lock.notify_all()

    def close(self):
        self.response.close()

    def post(self, message: dict, base: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{base or self.base}{self.endpoint}", data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        try:
            with _DIRECT.open(request, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (http.client.HTTPException, ValueError, OSError) as e:
            # The connection broke under the request (its replica was killed): no answer.
            return 599, repr(e)

    def answer(self, request_id: int, timeout: float = 30) -> dict:
        with self.lock:
            self.lock.wait_for(
                lambda: self.ended or any(e.get("id") == request_id for e in self.events), timeout=timeout)
            found = [e for e in self.events if e.get("id") == request_id]
        assert found, f"no answer to request {request_id}; events: {self.events}"
        return found[0]

    def initialize(self):
        status, _ = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "replica-test", "version": "1"}}})
        assert status == 202
        self.answer(0)
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, request_id: int, x: int, base: str | None = None) -> tuple[int, str]:
        return self.post({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {
            "name": "run_kql_query", "arguments": {"query": f"print x = {x}"}}}, base)


def sessions_on_two_replicas(cluster) -> tuple[SseSession, SseSession, str, str]:
    opened = []
    for _ in range(12):
        s = SseSession(cluster.nginx.base_url)
        owner = wait_for(lambda: cluster.redis.owner_of(s.id), "the session was not registered")
        opened.append((s, owner))
        owners = {o for _, o in opened}
        if len(owners) >= 2:
            a = opened[0]
            b = next(x for x in opened if x[1] != a[1])
            return a[0], b[0], a[1], b[1]
    pytest.fail("round robin never spread sessions over two replicas", pytrace=False)


def test_a_session_is_answered_on_its_owner_whichever_replica_takes_the_post(cluster):
    s, _, owner, _ = sessions_on_two_replicas(cluster)
    s.initialize()
    for r in cluster.replicas:
        status, body = s.call(100 + r.port, r.port, base=r.base_url)
        assert status == 202, (r.port, body)
        answer = s.answer(100 + r.port)
        assert answer["result"]["structuredContent"]["rows"] == [[r.port]], answer
    assert owner in {"r0", "r1", "r2"}


def test_redis_down_relays_fail_with_503_local_sessions_keep_working_and_all_recover(cluster):
    s, _, owner, _ = sessions_on_two_replicas(cluster)
    s.initialize()
    holder = cluster.replica(owner)
    other = next(r for r in cluster.replicas if r is not holder and r.process.poll() is None)
    cluster.redis.stop()
    try:
        status, body = s.call(1, 1, base=other.base_url)
        assert status == 503 and "Redis" in json.loads(body)["error"], (status, body)
        status, _ = s.call(2, 2, base=holder.base_url)
        assert status == 202
        assert s.answer(2)["result"]["structuredContent"]["rows"] == [[2]]
        ready = wait_for(
            lambda: (b := json.loads(_DIRECT.open(f"{other.base_url}/ready", timeout=5).read()))["redis"] == "degraded" and b,
            "/ready did not report redis degraded", timeout=20)
        assert ready["status"] == "ready"
    finally:
        cluster.redis.start()
    # The owner's heartbeat puts the session back in the restarted (empty) Redis.
    wait_for(lambda: cluster.redis.owner_of(s.id) == owner, "the session was not re-registered", timeout=30)
    status, body = s.call(3, 3, base=other.base_url)
    assert status == 202, body
    assert s.answer(3)["result"]["structuredContent"]["rows"] == [[3]]
    assert cluster.metric("sentinel_mcp_relays_total", 'outcome="redis_down"') >= 1


def test_sigkill_of_a_replica_ends_its_sessions_and_spares_the_others(cluster):
    a, b, owner_a, owner_b = sessions_on_two_replicas(cluster)
    a.initialize()
    b.initialize()
    victim = cluster.replica(owner_a)
    survivor = next(r for r in cluster.replicas if r is not victim and r.process.poll() is None)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    # Its session is gone everywhere: 404, so the client opens a new one.
    status, body = a.call(7, 7, base=survivor.base_url)
    assert status == 404 and "session not found" in body, (status, body)
    # The other replica's session loses no call, whoever takes its requests.
    for i, r in enumerate(x for x in cluster.replicas if x.process.poll() is None):
        status, body = b.call(20 + i, i, base=r.base_url)
        assert status == 202, body
        assert b.answer(20 + i)["result"]["structuredContent"]["rows"] == [[i]]
    assert cluster.metric("sentinel_mcp_relays_total", 'outcome="owner_gone"') >= 1
    assert owner_b != owner_a


# ------------------------------------------------------------------ limits across replicas


@pytest.fixture
def limited(tmp_path: Path):
    """Three replicas on their own Redis, with a cap of two sessions per principal and a burst
    of three calls (all test traffic is one loopback principal)."""
    redis = Redis(tmp_path)
    redis.start()
    replicas = [
        start_server(tmp_path, {
            "SENTINEL_MCP_REPLICA_ID": f"l{i}",
            "SENTINEL_MCP_REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis.port}",
            "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL": "2",
            "SENTINEL_MCP_RATE_LIMIT_PER_MINUTE": "6",
            "SENTINEL_MCP_RATE_LIMIT_BURST": "3",
        })
        for i in range(REPLICAS)
    ]
    yield redis, replicas
    for r in replicas:
        r.stop()
    redis.stop()


def test_the_session_cap_counts_sessions_on_every_replica(limited):
    redis, (r0, r1, r2) = limited
    first, second = SseSession(r0.base_url), SseSession(r1.base_url)
    # Each replica holds one session or none: only the shared count can refuse the third.
    try:
        _DIRECT.open(f"{r2.base_url}/sse", timeout=10)
        pytest.fail("a third session was admitted")
    except urllib.error.HTTPError as e:
        assert e.code == 429, e.code
        body = json.loads(e.read())
        assert body["limit"] == "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL", body
    # Closing a session frees its place everywhere.
    first.close()
    third = wait_for(lambda: _try_open(r2.base_url), "the closed session's place was not freed")
    assert third.id and second.id


def _try_open(base: str):
    try:
        return SseSession(base)
    except urllib.error.HTTPError:
        return None


def test_the_rate_limit_counts_calls_on_every_replica(limited):
    redis, (r0, r1, r2) = limited
    sessions = [SseSession(r0.base_url), SseSession(r1.base_url)]
    for s in sessions:
        s.initialize()
    # A burst of three, taken on two replicas: the fourth call is over the shared limit
    # whichever replica runs it.
    outcomes = []
    for i, s in enumerate([sessions[0], sessions[1], sessions[0], sessions[1]]):
        status, _ = s.call(50 + i, i)
        assert status == 202
        outcomes.append(s.answer(50 + i))
    assert all("result" in o for o in outcomes[:3]), outcomes
    assert outcomes[3]["error"]["code"] == -32029, outcomes[3]
    assert outcomes[3]["error"]["data"]["retryAfterSeconds"] >= 1


# ------------------------------------------------------------------ Redis sign-in with Entra


def documented_permissions() -> list[str]:
    """The Redis permissions docs/scaling.md tells operators a custom data access policy needs."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "scaling.md").read_text()
    line = next(l.strip() for l in doc.splitlines() if l.startswith("    +hello "))
    return ["resetchannels", *line.split()]


class FakeIdentity:
    """A Container Apps managed identity endpoint (IDENTITY_ENDPOINT, X-IDENTITY-HEADER) that
    issues short-lived JWTs for https://redis.azure.com/ and, as Azure Cache for Redis' data
    access policy would, lets each token sign in as the identity's object id (an ACL user)."""

    OID = "6f1e2d3c-0000-4000-8000-0123456789ab"
    HEADER = "fake-identity-header-secret"
    LIFETIME_S = 20

    def __init__(self, redis: Redis):
        import http.server
        import base64

        self.redis = redis
        self.issued: list[str] = []
        self.asked: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse

                resource = parse_qs(urlparse(self.path).query).get("resource", [""])[0]
                fake.asked.append(resource)
                if self.headers.get("X-IDENTITY-HEADER") != FakeIdentity.HEADER:
                    self.send_response(401)
                    self.end_headers()
                    return
                exp = int(time.time()) + FakeIdentity.LIFETIME_S
                enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
                token = ".".join([enc({"alg": "RS256", "typ": "JWT"}),
                                  enc({"oid": FakeIdentity.OID, "aud": resource, "exp": exp,
                                       "jti": f"t{len(fake.issued)}"}), "c2lnbmF0dXJl"])
                fake.redis.cli("ACL", "SETUSER", FakeIdentity.OID, "on", f">{token}", *documented_permissions())
                fake.issued.append(token)
                body = json.dumps({"access_token": token, "expires_on": str(exp),
                                   "resource": resource, "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/msi/token"

    def stop(self):
        self.server.shutdown()


def test_replicas_sign_in_to_redis_with_their_entra_identity_and_its_refreshed_tokens(tmp_path):
    redis = Redis(tmp_path)
    redis.start()
    identity = FakeIdentity(redis)
    env = {
        "SENTINEL_MCP_REDIS_URL": f"redis://127.0.0.1:{redis.port}",
        "SENTINEL_MCP_REDIS_ENTRA": "true",
        "IDENTITY_ENDPOINT": identity.url,
        "IDENTITY_HEADER": FakeIdentity.HEADER,
        "SENTINEL_MCP_AZURE_CLI": "false",
    }
    a = start_server(tmp_path, {**env, "SENTINEL_MCP_REPLICA_ID": "e0"})
    b = start_server(tmp_path, {**env, "SENTINEL_MCP_REPLICA_ID": "e1"})
    try:
        assert set(identity.asked) == {"https://redis.azure.com/"}, identity.asked
        users = redis.cli("CLIENT", "LIST")
        assert f"user={FakeIdentity.OID}" in users, users

        def relayed_call(s: SseSession, n: int):
            status, body = s.call(n, n, base=b.base_url)
            assert status == 202, body
            assert s.answer(n)["result"]["structuredContent"]["rows"] == [[n]]

        s = SseSession(a.base_url)
        s.initialize()
        relayed_call(s, 1)
        # Registering, relaying, the session cap and the rate limit (Lua scripts) all ran within
        # the permissions the docs give a custom data access policy.
        for r in (a, b):
            log = r.stderr_text(500_000)
            assert "Redis command failed" not in log, log
        # Each replica fetches a new token at half the short life of the last one.
        wait_for(lambda: len(identity.issued) >= 4, "the Redis tokens were not refreshed", timeout=40)
        # Only the newest tokens sign in now; connections still on old ones are cut and come
        # back with the refreshed token (and their subscriptions).
        latest = identity.issued[-2:]
        redis.cli("ACL", "SETUSER", FakeIdentity.OID, "resetpass", *[f">{t}" for t in latest])
        redis.cli("CLIENT", "KILL", "USER", FakeIdentity.OID)
        wait_for(lambda: all(json.loads(_DIRECT.open(f"{r.base_url}/ready", timeout=5).read())["redis"] == "ok"
                             for r in (a, b)) and f"user={FakeIdentity.OID}" in redis.cli("CLIENT", "LIST"),
                 "the replicas did not sign in again", timeout=20)
        wait_for(lambda: _relay_works(s, b), "relays did not work again after the reconnect", timeout=20)
        for r in (a, b):
            log = r.stderr_text(500_000)
            assert not any(t in log for t in identity.issued), "a Redis token was logged"

            assert FakeIdentity.HEADER not in log
    finally:
        a.stop()
        b.stop()
        identity.stop()
        redis.stop()


_next_id = iter(range(1000, 10_000))


def _relay_works(s: SseSession, via: RunningServer) -> bool:
    n = next(_next_id)
    status, _ = s.call(n, n, base=via.base_url)
    if status != 202:
        return False
    try:
        return s.answer(n, timeout=5)["result"]["structuredContent"]["rows"] == [[n]]
    except AssertionError:
        return False


def test_entra_sign_in_with_a_password_too_is_refused_at_start(tmp_path):
    from conftest import server_binary

    done = subprocess.run(
        [str(server_binary()), "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env={**os.environ, "SENTINEL_MCP_REDIS_URL": "redis://:a-password@127.0.0.1:1",
             "SENTINEL_MCP_REDIS_ENTRA": "true"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "remove the password" in done.stderr, done.stderr
    assert "a-password" not in done.stderr + done.stdout


def test_under_load_a_redis_restart_and_a_killed_replica_lose_no_call_of_a_live_replicas_session(tmp_path):
    """Sessions call in a loop through nginx while Redis restarts, then while a replica is
    SIGKILLed: a session whose replica lives never loses its stream or a call (a relay refused
    with 503 while Redis is down is retried); the dead replica's sessions end, open again and go
    on."""
    redis = Redis(tmp_path)
    redis.start()
    replicas = [start_server(tmp_path, {
        "SENTINEL_MCP_REPLICA_ID": f"c{i}",
        "SENTINEL_MCP_REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis.port}",
        "SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL": "0",
        "SENTINEL_MCP_RATE_LIMIT_PER_MINUTE": "0",
    }) for i in range(REPLICAS)]
    nginx = Nginx(tmp_path, [r.port for r in replicas])
    stop = threading.Event()
    lock = threading.Lock()
    report = {"ok": 0, "refused_503": 0, "resent_502": 0, "lost_on_live": [], "reopened": 0}
    dead: set[str] = set()

    def worker(k: int):
        s = SseSession(nginx.base_url)
        s.initialize()
        owner = wait_for(lambda: redis.owner_of(s.id), "the session was not registered")
        n = 0
        while not stop.is_set():
            n += 1
            rid = 10_000 * (k + 1) + n
            status, body = s.call(rid, n)
            if status in (502, 599):
                # The replica nginx gave the POST to died with it in flight (SIGKILL): nginx
                # answers 502 or drops the connection, and a read-only call is sent again.
                with lock:
                    report["resent_502"] += 1
                status, body = s.call(rid, n)
            try:
                answer = s.answer(rid, timeout=15) if status == 202 else None
            except AssertionError:
                # Accepted but never answered: counted below (lost, unless its replica died).
                answer = None
            with lock:
                if answer and answer.get("result", {}).get("structuredContent", {}).get("rows") == [[n]]:
                    report["ok"] += 1
                    continue
                if status == 503 and "Redis" in body:
                    report["refused_503"] += 1
                    time.sleep(0.2)
                    continue
                if owner in dead:
                    # Its replica is gone: the session ended; open a new one and go on.
                    report["reopened"] += 1
                else:
                    report["lost_on_live"].append(f"session {k} on {owner}: {status} {body[:200]} {answer}")
            s = SseSession(nginx.base_url)
            s.initialize()
            owner = wait_for(lambda: redis.owner_of(s.id), "the reopened session was not registered")

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(12)]
    try:
        for t in threads:
            t.start()
        time.sleep(2)
        redis.stop()
        time.sleep(2)
        redis.start()
        time.sleep(12)  # the heartbeat puts every session back
        victim = replicas[0]
        dead.add("c0")
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        nginx.stop()
        for r in replicas:
            r.stop()
        redis.stop()
    print(report)
    assert not report["lost_on_live"], "\n".join(report["lost_on_live"][:10])
    assert report["ok"] > 100 and report["refused_503"] >= 1 and report["reopened"] >= 1, report
