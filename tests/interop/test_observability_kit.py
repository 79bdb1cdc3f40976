"""The observability kit (deploy/observability/) agrees with the binary it watches.

- Every metric the Grafana dashboard queries (panels and template variables) is a series the
  running server exports, under the suffix its type gives it (`_bucket` only on a histogram,
  `_total` only on a counter), and every label a query filters by, groups by or prints in a
  legend is a label of that series. The server has served a session on each HTTP transport,
  tool calls that Azure (a loopback fake of Entra's token endpoint and the Log Analytics query
  API) first throttled with 429, and a request refused for its Host header, so every family the
  dashboard reads has samples to check.
- The OpenTelemetry Collector config is YAML whose pipelines use only components it defines, with
  the connection string and the metrics token from the environment, never written in.
- The dashboard is Grafana JSON that takes its Prometheus data source from the `${datasource}`
  variable everywhere.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest
import yaml
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import REPO_ROOT, RunningServer, start_server
from support import needs_sentinel

pytestmark = needs_sentinel

KIT = REPO_ROOT / "deploy" / "observability"
DASHBOARD = KIT / "grafana-dashboard.json"
COLLECTOR = KIT / "otel-collector.yaml"

# Metrics the dashboard may query before the binary exports them. Each entry names work in
# progress; the test fails once such a metric has a sample in /metrics (the exercised server
# below exports spans over OTLP, so a drop counter created at 0 with its exporter shows), and the
# entry is removed then.
PENDING: set[str] = set()
# Labels Prometheus attaches to every series it scrapes (the target's), absent from /metrics.
TARGET_LABELS = {"job", "instance"}

METRICS_TOKEN = "observability-kit-scrape-token"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
WORKSPACE = "a1b2c3d4-0000-4000-8000-000000000001"
QUERY = "print answer = 6 * 7"

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------- a loopback Azure


class FakeAzure(ThreadingHTTPServer):
    """Entra's client-credentials token endpoint and the Log Analytics query API, as the server
    calls them (`POST {authority}/{tenant}/oauth2/v2.0/token`, `POST
    {endpoint}/v1/workspaces/{id}/query`). The first query that is not the readiness probe is
    answered 429 with `Retry-After: 0`, so the server retries it. It also takes the spans of a
    server whose `OTEL_EXPORTER_OTLP_ENDPOINT` names it (`POST /v1/traces`), as a collector
    would, so the trace exporter runs as it does beside the collector of deploy/observability."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _AzureHandler)
        self.lock = threading.Lock()
        self.throttled = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _AzureHandler(BaseHTTPRequestHandler):
    server: FakeAzure

    def log_message(self, *args) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == f"/{TENANT}/oauth2/v2.0/token":
            self._json(200, {"token_type": "Bearer", "expires_in": 3600, "access_token": "fake-la-token"})
            return
        if self.path == f"/v1/workspaces/{WORKSPACE}/query":
            if self.headers.get("Authorization") != "Bearer fake-la-token":
                self._json(401, {"error": {"code": "InvalidAuthenticationToken", "message": "no token"}})
                return
            query = json.loads(body or b"{}").get("query", "")
            with self.server.lock:
                throttle = "ready" not in query and self.server.throttled == 0
                self.server.throttled += throttle
            if throttle:
                self._json(429, {"error": {"code": "ThrottledError", "message": "slow down"}}, {"Retry-After": "0"})
                return
            column = "ready" if "ready" in query else "answer"
            self._json(200, {"tables": [{"name": "PrimaryResult", "columns": [{"name": column, "type": "long"}],
                                         "rows": [[1 if column == "ready" else 42]]}]})
            return
        if self.path == "/v1/traces":
            # An OTLP/HTTP sink: an empty ExportTraceServiceResponse accepts every span.
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._json(404, {"error": {"code": "NotFound", "message": self.path}})


# ---------------------------------------------------------------- the server, exercised


def scrape(server: RunningServer, token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    req = urllib.request.Request(server.base_url + "/metrics")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _DIRECT.open(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def parse_exposition(text: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """OpenMetrics text -> ({family: type}, {sample name: label names seen on it})."""
    types: dict[str, str] = {}
    samples: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            types[family] = kind
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
            assert m, f"unparsable sample line {line!r}"
            labels = {k for k, _ in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")}
            samples.setdefault(m.group(1), set()).update(labels)
    return types, samples


@pytest.fixture(scope="module")
def exercised(tmp_path_factory) -> RunningServer:
    """A server on the Azure backend (a loopback fake) with a metrics token, after a session on
    each HTTP transport with a tool call each (the first throttled), both sessions closed, and a
    request refused for its Host header; its /metrics text as `metrics_text` (a RunningServer, so
    a failed test's report carries the server's stderr)."""
    azure = FakeAzure()
    threading.Thread(target=azure.serve_forever, daemon=True).start()
    server = None
    try:
        server = start_server(tmp_path_factory.mktemp("observability"), {
            "SENTINEL_MCP_BACKEND": "azure",
            "SENTINEL_WORKSPACE_ID": WORKSPACE,
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "AZURE_CLIENT_SECRET": "observability-kit-client-secret",
            "SENTINEL_MCP_AUTHORITY_HOST": azure.base,
            "SENTINEL_MCP_LOG_ANALYTICS_ENDPOINT": azure.base,
            "SENTINEL_MCP_GRAPH_ENDPOINT": azure.base,
            "SENTINEL_MCP_ARM_ENDPOINT": azure.base,
            "SENTINEL_MCP_IMDS_ENDPOINT": azure.base,
            "SENTINEL_MCP_AZURE_CLI": "false",
            "SENTINEL_MCP_METRICS_TOKEN": METRICS_TOKEN,
            "OTEL_EXPORTER_OTLP_ENDPOINT": azure.base,
        })

        async def sessions():
            with anyio.fail_after(120):
                async with Client(sse_client(server.sse_url), mode="legacy") as client:
                    sse = await client.call_tool("run_kql_query", {"query": QUERY})
                http = create_mcp_http_client()
                async with http, Client(streamable_http_client(server.mcp_url, http_client=http), mode="legacy") as client:
                    streamable = await client.call_tool("run_kql_query", {"query": QUERY})
                return sse, streamable

        for result in anyio.run(sessions):
            assert not result.is_error, result
            assert result.structured_content["rows"] == [[42]]
        assert azure.throttled == 1, "the fake throttled one query, which the server retried"

        refused = urllib.request.Request(server.mcp_url, data=b"{}", method="POST",
                                         headers={"Host": "evil.example", "Content-Type": "application/json"})
        try:
            _DIRECT.open(refused, timeout=10)
            pytest.fail("a foreign Host header was served")
        except urllib.error.HTTPError as e:
            assert e.code == 403

        # The sessions' ends are counted when the server notices them: wait for both.
        deadline = time.monotonic() + 60
        while True:
            status, text = scrape(server)
            assert status == 200, text
            closed = {t for t in ("legacy_sse", "streamable")
                      if re.search(rf'^sentinel_mcp_sessions_closed_total\{{[^}}]*transport="{t}"', text, re.M)}
            if len(closed) == 2:
                break
            assert time.monotonic() < deadline, f"sessions closed on {closed} only:\n{text}"
            time.sleep(0.2)
        server.metrics_text = text  # type: ignore[attr-defined]
        yield server
    finally:
        if server is not None:
            server.stop()
        azure.shutdown()
        azure.server_close()


def test_the_metrics_endpoint_asks_for_the_token_the_collector_sends(exercised):
    server = exercised
    assert scrape(server, token=None)[0] == 401
    assert scrape(server, token="wrong")[0] == 401
    assert scrape(server)[0] == 200


def test_an_open_metrics_endpoint_answers_the_empty_credential_of_a_collector_without_a_token(server):
    # otel-collector.yaml always configures `authorization`; with SENTINEL_MCP_METRICS_TOKEN unset
    # the scrape carries `Authorization: Bearer ` and must still be served.
    status, text = scrape(server, token="")
    assert status == 200 and "sentinel_mcp_sessions_active" in text


# ---------------------------------------------------------------- PromQL, enough of it

AGGREGATORS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
               "count_values", "limitk", "limit_ratio"}
FUNCTIONS = {"rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "clamp_min", "clamp_max",
             "abs", "ceil", "floor", "round", "scalar", "vector", "time", "sum_over_time", "avg_over_time",
             "max_over_time", "min_over_time", "last_over_time", "changes", "resets", "label_values"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      | (?P<range>\[[^\]]*\])
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
      | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}])""",
    re.X,
)


def tokens(expr: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while at < len(expr):
        m = TOKEN.match(expr, at)
        assert m, f"cannot read PromQL {expr!r} at {expr[at:]!r}"
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
        at = m.end()
    return out


def closing(toks: list[tuple[str, str]], i: int) -> int:
    """The index of the `)` (or `}`) that closes the bracket at `i`."""
    pair = {"(": ")", "{": "}"}[toks[i][1]]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][1] == toks[i][1]:
            depth += 1
        elif toks[j][1] == pair:
            depth -= 1
            if depth == 0:
                return j
    raise AssertionError(f"unbalanced {toks[i][1]!r} in {' '.join(t for _, t in toks)}")


def label_list(toks: list[tuple[str, str]], i: int) -> tuple[set[str], int]:
    """The labels of `(a, b)` starting at `i`, and the index after its `)`."""
    assert toks[i][1] == "(", "a label list starts with ("
    end = closing(toks, i)
    return {t for kind, t in toks[i + 1:end] if kind == "ident"}, end + 1


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Every metric selector of `expr` with the labels the query needs on it: those it matches on,
    those any aggregation around it groups by, and those `on`/`ignoring` match."""
    toks = tokens(expr)
    found: list[tuple[int, str, set[str]]] = []  # (token index, metric, matcher labels)
    scopes: list[tuple[int, int, set[str]]] = []  # (start, end, grouping labels)
    everywhere: set[str] = set()
    trailing: dict[int, int] = {}  # a `by (…)` after an aggregation's argument -> the index after it
    i = 0
    while i < len(toks):
        if i in trailing:
            i = trailing[i]
            continue
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind != "ident":
            assert text != "{", f"a selector without a metric name in {expr!r}"
            i += 1
        elif text in AGGREGATORS:
            grouping: set[str] = set()
            j = i + 1
            if toks[j][1] in ("by", "without"):
                grouping, j = label_list(toks, j + 1)
            assert toks[j][1] == "(", f"{text} without its argument in {expr!r}"
            end = closing(toks, j)
            if end + 1 < len(toks) and toks[end + 1][1] in ("by", "without"):
                more, trailing[end + 1] = label_list(toks, end + 2)
                grouping |= more
            scopes.append((j, end, grouping))
            i = j
        elif text in ("by", "without"):
            raise AssertionError(f"{text} outside an aggregation in {expr!r}")
        elif text in ("on", "ignoring", "group_left", "group_right"):
            if nxt == "(":
                labels, i = label_list(toks, i + 1)
                everywhere |= labels
            else:
                i += 1
        elif text in KEYWORDS:
            i += 1
        elif nxt == "(":
            assert text in FUNCTIONS, f"unknown PromQL function {text}() in {expr!r}"
            i += 1
        else:
            matchers: set[str] = set()
            j = i + 1
            if nxt == "{":
                end = closing(toks, i + 1)
                inner = toks[i + 2:end]
                for k in range(0, len(inner), 4):  # label op "value" [,]
                    assert inner[k][0] == "ident" and inner[k + 1][0] == "op" and inner[k + 2][0] == "str", (
                        f"cannot read the matchers of {text} in {expr!r}")
                    matchers.add(inner[k][1])
                j = end + 1
            found.append((i, text, matchers))
            i = j
    return [
        (metric, matchers | everywhere | set().union(*[g for s, e, g in scopes if s < at < e]))
        for at, metric, matchers in found
    ]


def test_the_promql_reader_sees_metrics_and_labels():
    got = selectors('histogram_quantile(0.99, sum by (tool, le) (rate(x_bucket{job=~"$job", method="tools/call"}[$__rate_interval])))'
                    " / clamp_min(sum without (a) (y_total), 1e-9) > 0.5 * max(z) by (instance)")
    assert got == [("x_bucket", {"job", "method", "tool", "le"}), ("y_total", {"a"}), ("z", {"instance"})]
    with pytest.raises(AssertionError, match="unknown PromQL function"):
        selectors("made_up(x)")


# ---------------------------------------------------------------- the dashboard's queries

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "info": ("_info",),
    "gauge": ("",),
    "unknown": ("",),
}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(d: dict) -> list[dict]:
    out = []
    for p in d["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def dashboard_queries(d: dict) -> list[tuple[str, str, str]]:
    """(where, PromQL, legend) of every panel target and query variable."""
    out = []
    for p in panels(d):
        for t in p.get("targets", []):
            out.append((f"panel {p['title']!r} {t['refId']}", t["expr"], t.get("legendFormat", "")))
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)", query.strip())
        assert m, f"variable {v['name']}: only label_values(selector, label) is checked, not {query!r}"
        out.append((f"variable {v['name']}", m.group(1), "{{" + m.group(2) + "}}"))
    return out


def test_every_metric_and_label_the_dashboard_queries_is_exported(exercised):
    text = exercised.metrics_text
    types, samples = parse_exposition(text)
    problems, pending_seen = [], set()
    queries = dashboard_queries(dashboard())
    assert len(queries) >= 30, "the dashboard lost its queries"
    for where, expr, legend in queries:
        sels = selectors(expr)
        assert sels, f"{where}: no metric in {expr!r}"
        legend_labels = set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))
        for metric, labels in sels:
            if metric in PENDING:
                pending_seen.add(metric)
                continue
            family = next((f for f, kind in types.items() for s in SUFFIXES.get(kind, ("",)) if f + s == metric), None)
            if family is None or metric not in samples:
                problems.append(f"{where}: {metric} is not in /metrics")
                continue
            missing = (labels | legend_labels) - samples[metric] - TARGET_LABELS
            if missing:
                problems.append(f"{where}: {metric} has no label {sorted(missing)} (it has {sorted(samples[metric])})")
    assert not problems, "\n".join(problems) + "\n\n/metrics:\n" + text
    landed = {m for m in PENDING if m in samples}
    assert not landed, f"{landed} now exported: remove them from PENDING"
    assert pending_seen == PENDING, f"PENDING names metrics the dashboard no longer uses: {PENDING - pending_seen}"


def test_the_dashboard_covers_what_an_operator_looks_at():
    used = {m for _, expr, _ in dashboard_queries(dashboard()) for m, _ in selectors(expr)}
    assert used >= {
        "sentinel_mcp_sessions_active", "sentinel_mcp_requests_in_flight", "sentinel_mcp_tool_calls_total",
        "mcp_server_operation_duration_seconds_bucket", "sentinel_mcp_rejected_requests_total",
        "sentinel_mcp_refused_calls_total", "sentinel_mcp_backend_call_duration_seconds_bucket",
        "sentinel_mcp_backend_calls_total", "sentinel_mcp_backend_retries_total",
        "sentinel_mcp_token_acquisitions_total", "sentinel_mcp_sessions_opened_total",
        "sentinel_mcp_sessions_closed_total", "process_resident_memory_bytes", "process_cpu_seconds_total",
        "process_open_fds", "sentinel_mcp_telemetry_spans_dropped_total",
    }, used


def test_the_dashboard_takes_its_data_source_from_the_variable():
    d = dashboard()
    assert d["schemaVersion"] >= 39
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "__inputs" not in d, "an export for sharing names its data source: use the variable instead"

    def walk(node, path):
        if isinstance(node, dict):
            if "datasource" in node:
                assert node["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, f"{path}: {node['datasource']}"
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for n, item in enumerate(node):
                walk(item, f"{path}[{n}]")

    walk(d, "")
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for p in panels(d):
        assert {"h", "w", "x", "y"} <= set(p["gridPos"]), p["title"]
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            assert p["targets"] and all(t["datasource"] == p["datasource"] for t in p["targets"]), p["title"]
            assert p.get("description"), f"{p['title']}: say what the panel shows"


# ---------------------------------------------------------------- the collector config


def test_the_collector_config_wires_defined_components_and_reads_secrets_from_the_environment():
    raw = COLLECTOR.read_text()
    config = yaml.safe_load(raw)
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "logs", "metrics"}
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline[kind]:
                assert component in (config.get(kind) or {}), f"pipeline {name}: {kind[:-1]} {component} is not defined"
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter first"
        assert pipeline["processors"][-1] == "batch", f"{name}: batch last"
        assert pipeline["exporters"] == ["azuremonitor"], name
    assert "otlp" in pipelines["traces"]["receivers"]
    assert "prometheus" in pipelines["metrics"]["receivers"]
    for extension in config["service"]["extensions"]:
        assert extension in config["extensions"], extension
    assert "health_check" in config["service"]["extensions"]

    otlp = config["receivers"]["otlp"]["protocols"]
    assert otlp["http"]["endpoint"].endswith(":4318") and otlp["grpc"]["endpoint"].endswith(":4317")
    assert config["exporters"]["azuremonitor"]["connection_string"] == "${env:APPLICATIONINSIGHTS_CONNECTION_STRING}"
    [job] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials": "${env:SENTINEL_MCP_METRICS_TOKEN}"}
    # No secret written in: no instrumentation key, no ingestion endpoint, no literal credential.
    assert not re.search(r"InstrumentationKey=|IngestionEndpoint=|instrumentation_key", raw)
    assert not re.search(r"credentials_file|bearer_token\b|password", raw)
    for line in raw.splitlines():
        code = line.split("#", 1)[0]
        if re.search(r"(credentials|connection_string|token)\s*:", code):
            assert re.search(r'"\$\{env:[A-Z_]+\}"', code), f"not from the environment: {line.strip()}"
