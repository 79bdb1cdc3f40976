#!/usr/bin/env bash
# Smoke-test a running server: /health and /ready answer 200, /metrics has the server's metrics,
# and an MCP client (Streamable HTTP at /mcp) can initialize and list the tools. deploy.yml runs
# it against a new revision's own URL before any traffic reaches it; it works as well against a
# local server (http://127.0.0.1:8000).
#
#   deploy/scripts/smoke-test.sh --url URL [--token TOKEN] [--attempts N]
#
#   --url URL        the server's base URL, without a path (SMOKE_URL)
#   --token TOKEN    Entra access token for the API, when authentication is on (SMOKE_TOKEN), e.g.
#                    az account get-access-token --scope api://<server app id>/.default --query accessToken -o tsv
#   --attempts N     tries of /health while the revision starts, 5 s apart (default 24)
#
# Needs curl and jq. Exits 0 when every check passed, 1 at the first failure (saying which).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

url=${SMOKE_URL:-} token=${SMOKE_TOKEN:-} attempts=24
while [ $# -gt 0 ]; do
    case "$1" in
    --url) url=$(flag_value "$@"); shift 2 ;;
    --token) token=$(flag_value "$@"); shift 2 ;;
    --attempts) attempts=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$url" --url
url=${url%/}
for tool in curl jq; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
auth=()
[ -z "$token" ] || auth=(-H "Authorization: Bearer $token")

# get PATH: the status code; the body in $work/body.
get() { curl -sS --max-time 20 -o "$work/body" -w '%{http_code}' "$url$1" || echo 000; }

status=000
for attempt in $(seq 1 "$attempts"); do
    status=$(get /health)
    [ "$status" = 200 ] || [ "$attempt" = "$attempts" ] && break
    sleep 5
done
[ "$status" = 200 ] || die "GET /health answered $status"
jq -e '.status == "healthy"' "$work/body" >/dev/null || die "GET /health body: $(head -c 300 "$work/body")"
say "/health ok ($(jq -r '.version' "$work/body"))"

status=$(get /ready)
[ "$status" = 200 ] || die "GET /ready answered $status: $(head -c 500 "$work/body")"
say "/ready ok"

status=$(get /metrics)
[ "$status" = 200 ] || die "GET /metrics answered $status"
grep -q '^sentinel_mcp_' "$work/body" || die "GET /metrics has no sentinel_mcp_ metric"
say "/metrics ok"

# post BODY [SESSION]: one JSON-RPC message to /mcp; the JSON answer (from a JSON or SSE body) in
# $work/answer, the response headers in $work/headers, the status on stdout.
post() {
    local session=()
    [ $# -lt 2 ] || session=(-H "Mcp-Session-Id: $2")
    curl -sS --max-time 30 -o "$work/raw" -D "$work/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2025-06-18' "${auth[@]}" "${session[@]}" \
        --data "$1" "$url/mcp" || echo 000
    # An SSE body carries the answer on a `data:` line.
    if grep -q '^data:' "$work/raw"; then
        sed -n 's/^data: \{0,1\}//p' "$work/raw" | grep '"id"' | tail -n1 >"$work/answer"
    else
        cp "$work/raw" "$work/answer"
    fi
}

status=$(post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sentinel-mcp-smoke-test","version":"1"}}}')
case "$status" in
200) ;;
401 | 403) die "POST /mcp initialize answered $status: $(grep -i '^www-authenticate' "$work/headers" || true) (a token with SecOps.Read is needed: --token)" ;;
*) die "POST /mcp initialize answered $status: $(head -c 500 "$work/raw")" ;;
esac
jq -e '.result.serverInfo.name' "$work/answer" >/dev/null || die "initialize answer: $(head -c 500 "$work/answer")"
session_id=$(sed -n 's/^[Mm][Cc][Pp]-[Ss]ession-[Ii][Dd]: *\([^[:space:]]*\).*/\1/p' "$work/headers" | head -n1)
[ -n "$session_id" ] || die "initialize answered no Mcp-Session-Id"

status=$(post '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$session_id")
[ "$status" = 202 ] || [ "$status" = 200 ] || die "notifications/initialized answered $status"

status=$(post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "$session_id")
[ "$status" = 200 ] || die "POST /mcp tools/list answered $status: $(head -c 500 "$work/raw")"
jq -e '[.result.tools[].name] | index("run_kql_query")' "$work/answer" >/dev/null ||
    die "tools/list has no run_kql_query: $(head -c 500 "$work/answer")"
say "tools/list ok ($(jq -r '[.result.tools[].name] | join(", ")' "$work/answer"))"

# Close the session (best effort: a server may not allow DELETE).
curl -sS --max-time 10 -o /dev/null -X DELETE -H "Mcp-Session-Id: $session_id" "${auth[@]}" "$url/mcp" || true
say "smoke test passed: $url"
