"""Node clients we did not write: the MCP Inspector CLI and the MCP conformance suite.

Both run from tests/interop/node_modules (installed by `npm ci` in scripts/test.sh, with the
Node 22 binary of the `node` package first on PATH), so no test downloads anything.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import node_bin_dir
from support import READ_TOOLS, WRITE_TOOLS, against_peer, needs_sentinel

TOOL_TIMEOUT_S = 120


def node_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{node_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    # Keep the inspector's catalog and storage out of the real home directory.
    env["HOME"] = str(home)
    env["MCP_CATALOG_PATH"] = str(home / "mcp.json")
    env["NO_COLOR"] = "1"
    env["CI"] = "true"
    return env


def run_node_tool(tool: str, args: list[str], home: Path) -> subprocess.CompletedProcess:
    exe = node_bin_dir() / tool
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run `npm ci` in tests/interop (scripts/test.sh does)", pytrace=False)
    return subprocess.run(
        [str(exe), *args],
        env=node_env(home),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def test_node_on_path_is_at_least_22(tmp_path):
    proc = run_node_tool("node", ["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    major = int(proc.stdout.strip().lstrip("v").split(".")[0])
    assert major >= 22, proc.stdout


# ---------------------------------------------------------------- MCP Inspector CLI


def inspector(server_url: str, transport: str, args: list[str], home: Path) -> dict:
    proc = run_node_tool(
        "inspector",
        ["--cli", server_url, "--transport", transport, *args],
        home,
    )
    assert proc.returncode == 0, f"inspector exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        pytest.fail(f"inspector did not print JSON ({e}):\n{proc.stdout}\nstderr:\n{proc.stderr}")


def test_inspector_cli_lists_the_read_tools_over_legacy_sse(server, tmp_path):
    out = inspector(server.sse_url, "sse", ["--method", "tools/list"], tmp_path)
    names = {t["name"] for t in out["tools"]}
    if against_peer():
        assert "run_kql_query" in names
        return
    assert READ_TOOLS <= names, f"missing: {sorted(READ_TOOLS - names)}"
    assert not (WRITE_TOOLS & names)
    for tool in out["tools"]:
        assert tool["inputSchema"]["type"] == "object", tool


@needs_sentinel
def test_inspector_cli_calls_run_kql_query_over_legacy_sse_and_gets_the_row(server, tmp_path):
    out = inspector(
        server.sse_url,
        "sse",
        [
            "--method",
            "tools/call",
            "--tool-name",
            "run_kql_query",
            "--tool-arg",
            'query=print x = 1 + 2, s = strcat("a", "b")',
        ],
        tmp_path,
    )
    assert out.get("isError") in (False, None), out
    assert out["structuredContent"]["rows"] == [[3, "ab"]]
    assert [c["name"] for c in out["structuredContent"]["columns"]] == ["x", "s"]
    assert any(c.get("type") == "text" and c.get("text") for c in out["content"]), out


@needs_sentinel
def test_inspector_cli_calls_list_sentinel_tables_over_streamable_http(http_server, tmp_path):
    out = inspector(
        http_server.mcp_url,
        "http",
        ["--method", "tools/call", "--tool-name", "list_sentinel_tables"],
        tmp_path,
    )
    assert out.get("isError") in (False, None), out
    text = "\n".join(c.get("text", "") for c in out["content"])
    for table in ("SigninLogs", "DeviceProcessEvents", "Heartbeat"):
        assert table in text or table in json.dumps(out.get("structuredContent")), table


@needs_sentinel
@pytest.mark.parametrize("endpoint", ["sse", "http"])
def test_every_tool_schema_passes_the_inspector_strict_portability_check(endpoint, write_server, tmp_path):
    """No `type` arrays, bare `true` sub-schemas or untyped schemas, in any tool's input or output
    schema (write tools on, so all ten are checked): clients that map schemas onto a single-type
    dialect (Gemini function declarations, strict function calling) accept every tool."""
    url = write_server.sse_url if endpoint == "sse" else write_server.mcp_url
    proc = run_node_tool(
        "inspector", ["--cli", url, "--transport", endpoint, "--method", "tools/list", "--strict"], tmp_path
    )
    report = f"inspector exited {proc.returncode}\nstdout:\n{proc.stdout[:4000]}\nstderr:\n{proc.stderr}"
    findings = [line for line in proc.stderr.splitlines() if line.startswith(("Error:", "Warning:"))]
    assert proc.returncode == 0, report
    assert findings == [], report
    assert "unportable" not in proc.stderr and "warning" not in proc.stderr.lower(), report
    tools = json.loads(proc.stdout)["tools"]
    assert {t["name"] for t in tools} == READ_TOOLS | WRITE_TOOLS
    for tool in tools:
        for key in ("inputSchema", "outputSchema"):
            assert "$defs" not in json.dumps(tool[key]), f"{tool['name']} {key} has definitions"


# ---------------------------------------------------------------- MCP conformance suite

CONFORMANCE_SCENARIOS = ["server-initialize", "ping", "tools-list", "resources-list", "dns-rebinding-protection"]


@pytest.mark.parametrize("scenario", CONFORMANCE_SCENARIOS)
def test_conformance_scenario_passes_against_streamable_http(scenario, http_server, tmp_path):
    out_dir = tmp_path / "results"
    proc = run_node_tool(
        "conformance",
        ["server", "--url", http_server.mcp_url, "--scenario", scenario, "--output-dir", str(out_dir)],
        tmp_path,
    )
    report = f"conformance exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    checks_files = list(out_dir.glob("*/checks.json"))
    assert len(checks_files) == 1, f"expected one checks.json, found {checks_files}\n{report}"
    checks = json.loads(checks_files[0].read_text())
    assert checks, f"the scenario ran no check\n{report}"
    failed = [c for c in checks if c.get("status") != "SUCCESS"]
    assert not failed, "failed checks:\n" + json.dumps(failed, indent=2) + "\n" + report
    assert proc.returncode == 0, report
