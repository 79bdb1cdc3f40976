#!/usr/bin/env bash
# Seeds fuzz/corpus/parse from the shared KQL corpora (one file per query), and
# fuzz/corpus/mcp_message and fuzz/corpus/jwt from the messages and tokens below (never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${KQL_CORPUS_DIR:-$here/../testdata/kql-corpus}"
out="$here/corpus/parse"
mkdir -p "$out"
python3 - "$shared" "$out" <<'PY'
import hashlib, json, pathlib, sys
shared, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for name, field in (("hunting-queries.jsonl", "query"), ("kql-docs-cases.jsonl", "kql")):
    path = shared / name
    if not path.exists():
        continue
    for line in path.read_text(encoding="utf-8").splitlines():
        q = json.loads(line).get(field) or ""
        data = q.encode("utf-8")
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
print(f"seeded {n} inputs into {out}")
PY

python3 - "$here/corpus" <<'PY'
import base64, hashlib, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
def put(target, data):
    d = root / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
init = {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}
calls = [
    ("run_kql_query", {"query": "SigninLogs | take 10", "timespan": "P1D", "max_rows": 5, "workspace": "default"}),
    ("run_hunting_query", {"query": "DeviceProcessEvents | take 1", "timespan": "7d"}),
    ("list_sentinel_tables", {}),
    ("get_table_schema", {"table": "SigninLogs"}),
    ("list_incidents", {"status": "New", "severity": "High", "since": "P7D", "top": 3}),
    ("get_incident", {"id": "1042"}),
    ("update_incident", {"id": "1042", "status": "Closed", "classification": "FalsePositive", "owner": "a@b"}),
    ("add_incident_comment", {"id": "1042", "message": "note"}),
    ("list_alerts", {"incident_id": "1042", "top": 2}),
    ("get_alert", {"id": "da101-1"}),
]
messages = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
    {"jsonrpc": "2.0", "id": "s", "method": "initialize", "params": dict(init, _meta={"k": 1})},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3, "reason": "x"}},
    {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}},
    {"jsonrpc": "2.0", "id": 4, "result": {}},
    [{"jsonrpc": "2.0", "id": 5, "method": "ping"}],
]
for i, (name, args) in enumerate(calls):
    messages.append({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call", "params": {"name": name, "arguments": args}})
    messages.append({"jsonrpc": "2.0", "id": str(i), "method": "tools/call", "params": {"name": name, "arguments": args, "_meta": {"progressToken": i}}})
for m in messages:
    put("mcp_message", json.dumps(m).encode())
def b64(v):
    raw = v if isinstance(v, bytes) else json.dumps(v).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
claims = {"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "o", "aud": "api://x", "iss": "https://sts.windows.net/t/", "exp": 4102444800, "roles": ["SecOps.Read"], "scp": "SecOps.Read"}
for header in [{"alg": "RS256", "kid": "k1", "typ": "JWT"}, {"alg": "none"}, {"alg": "HS256", "kid": "k"}, {"alg": "RS256"}, {"alg": "RS256", "kid": ""}]:
    for body in [claims, {}, {"tid": "../../etc"}, {"tid": 7}]:
        put("jwt", f"{b64(header)}.{b64(body)}.{b64(b'signature')}".encode())
print(f"seeded {len(messages)} messages and 20 tokens into {root}")
PY
