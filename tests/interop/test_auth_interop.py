"""Clients we did not write complete a tool call against a server that requires Entra ID tokens.

The tokens come from the fake Entra (`target/debug/fake-entra`, the same fake the Rust tests use):
it serves OpenID metadata and JWKS on 127.0.0.1 and signs real RS256 tokens.
"""

from __future__ import annotations

import json
import subprocess

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import server_binary, start_server
from support import needs_sentinel
from test_node_clients import inspector

pytestmark = needs_sentinel

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "8a3c6a3e-5d4c-4e57-9a39-6b1e4d2c7f10"
QUERY = "print answer = 6 * 7"


@pytest.fixture(scope="module")
def entra():
    proc = subprocess.Popen(
        [str(server_binary().parent / "fake-entra"), TENANT, APP],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def auth_server(entra, tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("auth"),
        {
            "SENTINEL_MCP_AUTH": "entra",
            "AZURE_TENANT_ID": TENANT,
            "MCP_SERVER_APP_ID": APP,
            "SENTINEL_MCP_AUTHORITY_HOST": entra["authority"],
        },
    )
    yield server
    server.stop()


def run(fn):
    async def bounded():
        with anyio.fail_after(60):
            return await fn()

    return anyio.run(bounded)


def bearer(entra, which="all") -> dict[str, str]:
    return {"Authorization": f"Bearer {entra['tokens'][which]}"}


def test_python_sdk_calls_a_tool_over_legacy_sse_with_a_bearer_token(auth_server, entra):
    async def body():
        async with Client(sse_client(auth_server.sse_url, headers=bearer(entra)), mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("run_kql_query", {"query": QUERY})
            return names, result

    names, result = run(body)
    assert {"run_kql_query", "update_incident"} - names == {"update_incident"}, "write tools are off"
    assert not result.is_error
    assert result.structured_content["rows"] == [[42]]


def test_python_sdk_calls_a_tool_over_streamable_http_with_a_bearer_token(auth_server, entra):
    async def body():
        http = create_mcp_http_client(headers=bearer(entra))
        async with http, Client(streamable_http_client(auth_server.mcp_url, http_client=http), mode="legacy") as client:
            return await client.call_tool("run_kql_query", {"query": QUERY})

    result = run(body)
    assert not result.is_error
    assert result.structured_content["rows"] == [[42]]


def test_python_sdk_without_a_token_is_turned_away(auth_server):
    async def body():
        async with Client(sse_client(auth_server.sse_url), mode="legacy") as client:
            await client.list_tools()

    with pytest.raises(Exception, match="401 Unauthorized"):
        run(body)


def test_inspector_cli_calls_a_tool_with_an_authorization_header(auth_server, entra, tmp_path):
    out = inspector(
        auth_server.sse_url,
        "sse",
        [
            "--header",
            f"Authorization: Bearer {entra['tokens']['read']}",
            "--method",
            "tools/call",
            "--tool-name",
            "run_kql_query",
            "--tool-arg",
            f"query={QUERY}",
        ],
        tmp_path,
    )
    assert out.get("isError") in (False, None), out
    assert out["structuredContent"]["rows"] == [[42]]
