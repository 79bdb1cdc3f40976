"""Fixtures that start the real `sentinel-mcp` binary for clients we did not write.

Every server runs on 127.0.0.1 on a free port, is polled until `/health` and then `/ready`
answer 200, and is killed at teardown. If it dies or never becomes ready, the test fails with
the server's stderr.

Environment:
  SENTINEL_MCP_BIN       the binary (default: <target dir>/debug/sentinel-mcp)
  INTEROP_NODE_BIN_DIR   folder with node (>= 22), inspector and conformance
                         (default: tests/interop/node_modules/.bin)
  INTEROP_TARGET=peer    point the harness at the Python reference peer in ../shared instead
                         (harness development only: tests that need our tools are skipped)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import against_peer

INTEROP_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEROP_DIR.parent.parent
PEER_SERVER = REPO_ROOT.parent / "shared" / "peers" / "python-sse-reference" / "server.py"

STARTUP_TIMEOUT_S = float(os.environ.get("INTEROP_STARTUP_TIMEOUT", "90"))


def server_binary() -> Path:
    explicit = os.environ.get("SENTINEL_MCP_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "debug" / "sentinel-mcp"


def node_bin_dir() -> Path:
    return Path(os.environ.get("INTEROP_NODE_BIN_DIR", INTEROP_DIR / "node_modules" / ".bin"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Probes go straight to 127.0.0.1 whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with _DIRECT.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


@dataclass
class RunningServer:
    """One server process on 127.0.0.1:port."""

    port: int
    process: subprocess.Popen
    stderr_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sse_url(self) -> str:
        return f"{self.base_url}/sse"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def stderr_text(self, limit: int = 20_000) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "<no stderr captured>"
        return text[-limit:]

    def assert_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(
                f"server exited with status {code}; its stderr:\n{self.stderr_text()}",
                pytrace=False,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _command(port: int, peer_transport: str) -> tuple[list[str], dict[str, str]]:
    if against_peer():
        env = {"PORT": str(port)}
        if peer_transport == "http":
            env["MCP_TRANSPORT"] = "streamable"
        return [sys.executable, str(PEER_SERVER)], env
    binary = server_binary()
    if not binary.exists():
        pytest.fail(
            f"{binary} does not exist: run `cargo build -p sentinel-mcp` first "
            "(scripts/test.sh does)",
            pytrace=False,
        )
    return [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)], {}


class _PortTaken(Exception):
    """The server could not bind: another process took the free port first."""


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    paths = ["/health"] if against_peer() else ["/health", "/ready"]
    for path in paths:
        last = None
        while True:
            if server.process.poll() is not None and "in use" in server.stderr_text().lower():
                raise _PortTaken()
            server.assert_alive()
            last = http_status(server.base_url + path)
            # The peer's Streamable HTTP app has no /health: any answer means it listens.
            if last == 200 or (against_peer() and last is not None):
                break
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(
                    f"{path} did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s "
                    f"(last status {last}); server stderr:\n{server.stderr_text()}",
                    pytrace=False,
                )
            time.sleep(0.05)


def start_server(tmp_dir: Path, extra_env: dict[str, str] | None = None, peer_transport: str = "sse") -> RunningServer:
    """Start a server and wait until it is ready. `peer_transport` matters only for the peer,
    which serves one transport per process; sentinel-mcp serves every endpoint on one port."""
    for attempt in range(3):
        port = free_port()
        argv, cmd_env = _command(port, peer_transport)
        env = dict(os.environ)
        # Settings from the developer's shell must not change what the tests see.
        for key in list(env):
            if key.startswith(("SENTINEL_MCP_", "OTEL_", "APPLICATIONINSIGHTS_")) and key != "SENTINEL_MCP_BIN":
                del env[key]
        env.pop("MCP_TRANSPORT", None)
        env.update(cmd_env)
        env.setdefault("RUST_LOG", "info")
        env.update(extra_env or {})
        stderr_path = tmp_dir / f"server-{port}.stderr"
        stderr_file = open(stderr_path, "wb")
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stderr_file,
            stderr=stderr_file,
            env=env,
            cwd=str(tmp_dir),
        )
        stderr_file.close()
        server = RunningServer(port=port, process=process, stderr_path=stderr_path, env=env)
        try:
            _wait_ready(server)
        except _PortTaken:
            # Another process took the port between our probe and the server's bind.
            if attempt == 2:
                server.assert_alive()
            continue
        return server
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def session_tmp() -> Path:
    path = Path(tempfile.mkdtemp(prefix="sentinel-interop-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server(session_tmp: Path) -> RunningServer:
    """sentinel-mcp with default settings (write tools off), shared by the read-only tests."""
    srv = start_server(session_tmp)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def http_server(session_tmp: Path, server: RunningServer) -> RunningServer:
    """The server to reach at /mcp: the same process for sentinel-mcp, a second peer process."""
    if not against_peer():
        yield server
        return
    srv = start_server(session_tmp, peer_transport="http")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def write_server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """sentinel-mcp with the write tools on and its own state directory."""
    state = tmp_path_factory.mktemp("state")
    srv = start_server(
        state,
        {"SENTINEL_MCP_ENABLE_WRITE_TOOLS": "true", "SENTINEL_MCP_STATE_DIR": str(state)},
    )
    srv.state_dir = state  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the stderr of every server a failed test used to its report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, RunningServer):
            rep.sections.append((f"{name} stderr (last 8 kB)", value.stderr_text(8_000)))
