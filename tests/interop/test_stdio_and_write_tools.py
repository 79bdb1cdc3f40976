"""The Python SDK over stdio, and the write tools that only exist when switched on."""

from __future__ import annotations

import json
import os

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from conftest import server_binary
from support import READ_TOOLS, WRITE_TOOLS, needs_sentinel

TIMEOUT_S = 90


def run(fn):
    async def bounded():
        with anyio.fail_after(TIMEOUT_S):
            return await fn()

    return anyio.run(bounded)


@needs_sentinel
def test_stdio_client_lists_tools_and_gets_rows_from_run_kql_query(tmp_path):
    errlog_path = tmp_path / "stdio-server.stderr"
    params = StdioServerParameters(
        command=str(server_binary()),
        args=["--transport", "stdio"],
        env={"RUST_LOG": "info", "PATH": os.environ.get("PATH", "")},
        cwd=str(tmp_path),
    )

    async def body():
        with open(errlog_path, "w") as errlog:
            from mcp.client.stdio import stdio_client

            async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                result = await client.call_tool(
                    "run_kql_query",
                    {"query": 'datatable(a:long, b:string)[1,"x",2,"y",3,"z"] | where a >= 2 | project b'},
                )
                return names, result

    try:
        names, result = run(body)
    except BaseException as e:
        raise AssertionError(f"stdio session failed: {e!r}\nserver stderr:\n{errlog_path.read_text()[-8000:]}") from e
    assert READ_TOOLS <= names, f"missing: {sorted(READ_TOOLS - names)}"
    assert not (WRITE_TOOLS & names)
    assert not result.is_error, result.content
    assert result.structured_content["rows"] == [["y"], ["z"]]


@needs_sentinel
def test_write_tools_are_listed_when_enabled(write_server):
    async def body():
        async with Client(sse_client(write_server.sse_url), mode="legacy") as client:
            return {t.name for t in (await client.list_tools()).tools}

    names = run(body)
    assert WRITE_TOOLS <= names, f"missing write tools: {sorted(WRITE_TOOLS - names)}"
    assert READ_TOOLS <= names


@needs_sentinel
def test_write_tools_are_listed_over_streamable_http_when_enabled(write_server):
    async def body():
        async with Client(write_server.mcp_url, mode="legacy") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            return tools

    tools = run(body)
    assert WRITE_TOOLS <= set(tools)
    assert "id" in tools["add_incident_comment"].input_schema.get("properties", {})
    assert "message" in tools["add_incident_comment"].input_schema.get("properties", {})


@needs_sentinel
def test_incident_comment_added_by_a_client_survives_a_server_restart(tmp_path):
    from conftest import start_server

    state = tmp_path / "state"
    state.mkdir()
    env = {"SENTINEL_MCP_ENABLE_WRITE_TOOLS": "true", "SENTINEL_MCP_STATE_DIR": str(state)}
    message = f"interop check {os.getpid()}-{tmp_path.name}: password spray triaged"

    first = start_server(tmp_path, env)
    try:

        async def comment():
            async with Client(first.mcp_url, mode="legacy") as client:
                listed = await client.call_tool("list_incidents", {"top": 1})
                assert not listed.is_error, listed.content
                incident_id = listed.structured_content["incidents"][0]["id"]
                added = await client.call_tool("add_incident_comment", {"id": incident_id, "message": message})
                assert not added.is_error, added.content
                return incident_id

        incident_id = run(comment)
    finally:
        first.stop()

    second = start_server(tmp_path, env)
    try:

        async def read_back():
            async with Client(sse_client(second.sse_url), mode="legacy") as client:
                got = await client.call_tool("get_incident", {"id": incident_id})
                assert not got.is_error, got.content
                return got

        got = run(read_back)
    finally:
        second.stop()
    assert message in json.dumps(got.structured_content), got.structured_content
    assert message in "\n".join(getattr(c, "text", "") for c in got.content)
