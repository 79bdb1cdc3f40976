"""The official Python MCP SDK (mcp==2.3.0) as the client, over every transport we serve.

Transports:
  sse           legacy HTTP+SSE at /sse (initialize handshake)
  http-session  Streamable HTTP at /mcp, session era (initialize, Mcp-Session-Id)
  http-auto     Streamable HTTP at /mcp, the SDK's default negotiation (server/discover first,
                falling back to initialize)
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from support import (
    DEMO_TABLES,
    DETERMINISTIC_QUERIES,
    READ_TOOLS,
    WRITE_TOOLS,
    against_peer,
    needs_sentinel,
    table_names,
)

TRANSPORTS = ["sse", "http-session", "http-auto"]
CALL_TIMEOUT_S = 60


@asynccontextmanager
async def connect(kind: str, sse_server, http_server):
    if kind == "sse":
        client = Client(sse_client(sse_server.sse_url), mode="legacy")
    elif kind == "http-session":
        client = Client(http_server.mcp_url, mode="legacy")
    elif kind == "http-auto":
        client = Client(http_server.mcp_url)
    else:
        raise ValueError(kind)
    async with client:
        yield client


def run(fn, *args) -> Any:
    async def bounded():
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await fn(*args)

    return anyio.run(bounded)


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def call(client, tool: str, arguments: dict | None = None):
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, f"{tool} returned an error result: {text_of(result)}"
    return result


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_tools_list_has_the_eight_read_tools_and_no_write_tools(kind, server, http_server):
    async def body():
        async with connect(kind, server, http_server) as client:
            tools = (await client.list_tools()).tools
            return {t.name: t for t in tools}

    tools = run(body)
    names = set(tools)
    if against_peer():
        assert {"run_kql_query", "list_sentinel_tables"} <= names
        return
    assert READ_TOOLS <= names, f"missing read tools: {sorted(READ_TOOLS - names)}"
    assert not (WRITE_TOOLS & names), f"write tools listed while disabled: {sorted(WRITE_TOOLS & names)}"
    for name in READ_TOOLS:
        tool = tools[name]
        assert tool.description, f"{name} has no description"
        assert tool.input_schema.get("type") == "object", f"{name} input schema: {tool.input_schema}"
    assert "query" in tools["run_kql_query"].input_schema.get("required", [])


@needs_sentinel
@pytest.mark.parametrize("kind", TRANSPORTS)
@pytest.mark.parametrize(("query", "columns", "rows"), DETERMINISTIC_QUERIES)
def test_run_kql_query_returns_the_exact_rows_in_structured_content(
    kind, query, columns, rows, server, http_server
):
    async def body():
        async with connect(kind, server, http_server) as client:
            return await call(client, "run_kql_query", {"query": query})

    result = run(body)
    structured = result.structured_content
    assert isinstance(structured, dict), f"no structuredContent; text was: {text_of(result)}"
    assert [c["name"] for c in structured["columns"]] == columns
    assert structured["rows"] == rows
    assert text_of(result).strip(), "the text content is empty"


@needs_sentinel
@pytest.mark.parametrize("kind", TRANSPORTS)
def test_run_kql_query_counts_a_positive_number_of_demo_signins(kind, server, http_server):
    async def body():
        async with connect(kind, server, http_server) as client:
            return await call(client, "run_kql_query", {"query": "SigninLogs | count"})

    structured = run(body).structured_content
    assert [c["name"] for c in structured["columns"]] == ["Count"]
    assert len(structured["rows"]) == 1
    (count,) = structured["rows"][0]
    assert isinstance(count, int) and count > 0, f"Count = {count!r}"


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_list_sentinel_tables_names_every_demo_table(kind, server, http_server):
    async def body():
        async with connect(kind, server, http_server) as client:
            return await call(client, "list_sentinel_tables")

    result = run(body)
    names = table_names(result.structured_content, text_of(result))
    if against_peer():
        assert {"SecurityIncident", "SigninLogs"} <= names
        return
    assert names == DEMO_TABLES, f"extra: {sorted(names - DEMO_TABLES)}, missing: {sorted(DEMO_TABLES - names)}"


@needs_sentinel
def test_streamable_http_negotiates_the_stateless_2026_07_28_era_by_default(http_server):
    async def body():
        async with connect("http-auto", None, http_server) as client:
            rows = (await call(client, "run_kql_query", {"query": "print n = 41 + 1"})).structured_content["rows"]
            return client.protocol_version, rows

    version, rows = run(body)
    assert version == "2026-07-28"
    assert rows == [[42]]


@needs_sentinel
def test_session_era_initialize_reports_the_server_name(http_server):
    async def body():
        async with connect("http-session", None, http_server) as client:
            return client.protocol_version, client.server_info

    version, info = run(body)
    assert version in ("2025-06-18", "2025-11-25", "2025-03-26"), version
    assert info is not None and info.name, info


@needs_sentinel
@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_truncated_result_links_to_its_full_table_read_in_pages(kind, server, http_server):
    """A result cut by the row cap carries a resource_link the SDK decodes; resources/read on it
    returns the rows the result left out (CSV and JSON pages), and the template is listed."""

    async def body():
        async with connect(kind, server, http_server) as client:
            result = await call(
                client,
                "run_kql_query",
                {"query": "range x from 1 to 1000 step 1 | extend s = strcat('row,', x)", "max_rows": 10},
            )
            links = [c for c in result.content if getattr(c, "type", None) == "resource_link"]
            assert len(links) == 1, result.content
            uri = str(links[0].uri)
            csv = await client.read_resource(f"{uri}?offset=10&limit=3&format=csv")
            page = await client.read_resource(f"{uri}?offset=990")
            templates = await client.list_resource_templates()
            return result, uri, csv, page, templates

    result, uri, csv, page, templates = run(body)
    assert result.structured_content["full_result"] == uri
    assert uri in text_of(result)
    assert csv.contents[0].mime_type == "text/csv"
    assert csv.contents[0].text == 'x,s\r\n11,"row,11"\r\n12,"row,12"\r\n13,"row,13"\r\n'
    rows = json.loads(page.contents[0].text)
    assert rows["total_rows"] == 1000 and rows["returned_rows"] == 10 and rows["next_offset"] is None
    assert rows["rows"][0] == [991, "row,991"]
    assert [t.uri_template for t in templates.resource_templates] == ["sentinel://results/{id}{?offset,limit,format}"]
