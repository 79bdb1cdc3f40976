"""README's "Connect your client": every JSON configuration shown there parses, names a path and
transport the server has, and works when a client connects with it: the local ones against a
server on a free port (the URL's host and port replaced), the deployed ones (https, a bearer token
from an environment variable) against a server that requires Entra ID tokens from the fake Entra.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import REPO_ROOT, node_bin_dir, server_binary
from support import READ_TOOLS, needs_sentinel
from test_auth_interop import auth_server, entra  # noqa: F401  (fixtures)
from test_node_clients import node_env

pytestmark = needs_sentinel

LOCAL = "127.0.0.1:8000"
# Transport names clients use, by the path they must point at.
TRANSPORT_PATHS = {"http": "/mcp", "streamable-http": "/mcp", "sse": "/sse"}
TOKEN_HEADER = re.compile(r"^Bearer \$\{?([A-Z][A-Z0-9_]*)\}?$")


def readme_configs() -> list[tuple[str, dict]]:
    """(the text before it, the parsed JSON) of each ```json block of the section."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Connect your client", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"\n(.*?)\n*```json\n(.*?)\n```", section, flags=re.S)
    return [(intro.strip(), json.loads(body)) for intro, body in blocks]


def servers_of(config: dict) -> dict[str, dict]:
    servers = config.get("servers") or config.get("mcpServers")
    assert isinstance(servers, dict) and servers, f"no servers / mcpServers: {config}"
    return servers


def run(fn):
    async def bounded():
        with anyio.fail_after(60):
            return await fn()

    return anyio.run(bounded)


async def tool_names(entry: dict, url: str | None, headers: dict[str, str], errlog) -> set[str]:
    """Connects the way the configuration says and lists the tools."""
    if url is None:
        params = StdioServerParameters(
            command=str(server_binary()),
            args=entry.get("args", []),
            env={"PATH": os.environ.get("PATH", ""), "SENTINEL_MCP_DEMO_ROWS": "2000"},
        )
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            return {t.name for t in (await client.list_tools()).tools}
    if entry["type"] == "sse":
        async with Client(sse_client(url, headers=headers), mode="legacy") as client:
            return {t.name for t in (await client.list_tools()).tools}
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
        return {t.name for t in (await client.list_tools()).tools}


def test_readme_shows_a_configuration_for_every_client():
    configs = readme_configs()
    assert len(configs) >= 6, [intro for intro, _ in configs]
    intros = " ".join(intro for intro, _ in configs)
    for client in ("VS Code", "Claude Code", "Claude Desktop", "Copilot", "Inspector"):
        assert client in intros, f"no configuration introduced for {client}: {intros}"


@pytest.mark.parametrize("index", range(len(readme_configs())))
def test_readme_client_configuration_connects(index, server, auth_server, entra, tmp_path):  # noqa: F811
    intro, config = readme_configs()[index]
    for name, entry in servers_of(config).items():
        headers: dict[str, str] = {}
        if "command" in entry:
            assert entry["command"].endswith("sentinel-mcp"), entry
            assert entry.get("args") == ["--transport", "stdio"], entry
            url = None
        else:
            parts = urlsplit(entry["url"])
            kind = entry.get("type")
            assert kind in TRANSPORT_PATHS, f"{name}: transport {kind!r} ({intro})"
            assert parts.path == TRANSPORT_PATHS[kind], f"{name}: {kind} must point at {TRANSPORT_PATHS[kind]}"
            if parts.netloc == LOCAL:
                assert parts.scheme == "http" and "headers" not in entry
                target = server
            else:
                # Deployed: https, and a token from the environment, never one pasted in.
                assert parts.scheme == "https", entry
                auth = entry.get("headers", {}).get("Authorization", "")
                assert TOKEN_HEADER.match(auth), f"{name}: Authorization must be 'Bearer ${{VAR}}': {auth!r}"
                headers = {"Authorization": f"Bearer {entra['tokens']['all']}"}
                target = auth_server
            url = urlunsplit(("http", f"127.0.0.1:{target.port}", parts.path, "", ""))
        with open(tmp_path / f"{name}-stdio.stderr", "w") as errlog:
            names = run(lambda: tool_names(entry, url, headers, errlog))
        assert READ_TOOLS <= names, f"{name} ({intro}): {sorted(names)}"


def test_readme_inspector_config_file_works_with_the_inspector_cli(server, tmp_path):
    configs = [c for intro, c in readme_configs() if "--config" in intro or "Inspector" in intro]
    assert configs, "no Inspector configuration in the README"
    config = json.loads(json.dumps(configs[-1]).replace(LOCAL, f"127.0.0.1:{server.port}"))
    path = tmp_path / "inspector.json"
    path.write_text(json.dumps(config))
    (name,) = servers_of(config)
    # --config is a read-only session file: no writable catalog beside it.
    env = node_env(tmp_path)
    env.pop("MCP_CATALOG_PATH")
    proc = subprocess.run(
        [str(node_bin_dir() / "inspector"), "--cli", "--config", str(path), "--server", name, "--method", "tools/list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert READ_TOOLS <= {t["name"] for t in json.loads(proc.stdout)["tools"]}


def test_readme_local_urls_are_the_servers_defaults():
    """The local configurations point at what `cargo run --release -- serve` binds."""
    help_text = subprocess.run([server_binary(), "serve", "--help"], capture_output=True, text=True).stdout
    assert "[default: 127.0.0.1]" in help_text and "[default: 8000]" in help_text
