"""Shared expectations and helpers of the interop tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def against_peer() -> bool:
    return os.environ.get("INTEROP_TARGET", "") == "peer"


needs_sentinel = pytest.mark.skipif(
    against_peer(), reason="needs sentinel-mcp's tools; the peer has only two canned ones"
)

READ_TOOLS = {
    "run_kql_query",
    "list_sentinel_tables",
    "get_table_schema",
    "list_incidents",
    "get_incident",
    "list_alerts",
    "get_alert",
    "run_hunting_query",
    "investigate_entity",
}
WRITE_TOOLS = {"update_incident", "add_incident_comment"}
# The demo has a table for every documented schema the server carries (one `<Table>.schema` file
# each).
SCHEMAS = Path(__file__).resolve().parents[2] / "crates" / "kql" / "src" / "catalog" / "schemas"
DEMO_TABLES = {schema.stem for schema in SCHEMAS.glob("*.schema")}

# Queries whose answer does not depend on the demo data: (query, column names, rows).
DETERMINISTIC_QUERIES = [
    pytest.param(
        'print x = 1 + 2, s = strcat("a", "b")',
        ["x", "s"],
        [[3, "ab"]],
        id="print-arithmetic-and-strcat",
    ),
    pytest.param(
        'datatable(a:long, b:string)[1,"x",2,"y",3,"z"] | where a >= 2 | project b',
        ["b"],
        [["y"], ["z"]],
        id="datatable-where-project",
    ),
    pytest.param(
        "range i from 1 to 5 step 1 | summarize total = sum(i)",
        ["total"],
        [[15]],
        id="range-summarize-sum",
    ),
]



def table_names(structured: Any, text: str) -> set[str]:
    """Table names out of list_sentinel_tables' structuredContent (any reasonable shape)."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in ("name", "table", "TableName", "table_name"):
                if isinstance(value.get(key), str):
                    names.add(value[key])
                    return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, str):
                    names.add(v)
                else:
                    walk(v)

    walk(structured)
    if not names:  # the peer returns text only: one name a line
        names = {line.strip() for line in text.splitlines() if line.strip()}
    return names
