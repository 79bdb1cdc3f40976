#!/usr/bin/env bash
# Instructions per tools/call, counted by callgrind in the server over fixed phases: legacy SSE
# `list_sentinel_tables`, legacy SSE `run_kql_query` (`print x = 1`), Streamable HTTP stateless
# and session-era `list_sentinel_tables`, legacy SSE `run_kql_query` on a 1,000-row `summarize`. Repeatable where wall time on a shared machine is not, so a change's
# cost per call can be compared build against build (scripts/bench.sh runs it for BENCHMARKS.md).
#
#   scripts/instructions-per-call.sh SERVER_BIN LOAD_BIN OUT_DIR [VAR=value ...]
#
# Writes OUT_DIR/summary.jsonl ({"phase","instructions","calls"} per phase), OUT_DIR/<phase>.top.txt
# (inclusive instructions of the functions that matter) and prints one line per phase. The
# VAR=value arguments are extra server settings (e.g. an exporter, to cost it).
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
SERVER_BIN=$1 LOAD_BIN=$2 CG=$3
shift 3
PORT=${PORT:-18189}
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
  echo "valgrind (callgrind) is required" >&2
  exit 2
fi
rm -rf "$CG" && mkdir -p "$CG"
# One principal drives every call: its session quota and rate limit are off.
env SENTINEL_MCP_DEMO_ROWS=2000 SENTINEL_MCP_STATE_DIR="$CG/state" \
  SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL=0 SENTINEL_MCP_RATE_LIMIT_PER_MINUTE=0 "$@" \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$CG/cg.out" \
  "$SERVER_BIN" serve --host 127.0.0.1 --port "$PORT" >"$CG/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf -o /dev/null -m 2 "http://127.0.0.1:$PORT/ready" && break; sleep 0.2; done
callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
# Warm up every path first so one-time work is not charged to the calls.
"$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT/sse" --sessions 1 --duration 2 --warmup 0 >/dev/null 2>&1
"$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT/sse" --sessions 1 --duration 1 --warmup 0 --tool run_kql_query >/dev/null 2>&1
"$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT/sse" --sessions 1 --duration 1 --warmup 0 --tool run_kql_summarize >/dev/null 2>&1
"$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT/mcp" --transport stateless --sessions 1 --duration 1 --warmup 0 >/dev/null 2>&1
"$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT/mcp" --transport streamable --sessions 1 --duration 1 --warmup 0 >/dev/null 2>&1
callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
while read -r phase transport tool path; do
  "$LOAD_BIN" throughput --url "http://127.0.0.1:$PORT$path" --transport "$transport" --sessions 1 --duration 5 --warmup 0 --tool "$tool" <"/dev/null" >"$CG/$phase.json" 2>/dev/null
  callgrind_control -d "$phase" "$SERVER_PID" >/dev/null 2>&1
done <<'PHASES'
sse_list sse list_sentinel_tables /sse
sse_kql sse run_kql_query /sse
stateless_list stateless list_sentinel_tables /mcp
session_list streamable list_sentinel_tables /mcp
sse_summarize sse run_kql_summarize /sse
PHASES
n=1
for phase in sse_list sse_kql stateless_list session_list sse_summarize; do
  f=$CG/cg.out.$n
  n=$((n + 1))
  [ -f "$f" ] || continue
  total=$(awk '/^totals:/{print $2}' "$f")
  calls=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['calls_ok'])" "$CG/$phase.json")
  echo "{\"phase\":\"$phase\",\"instructions\":$total,\"calls\":$calls}" >>"$CG/summary.jsonl"
  echo "$phase: $((total / (calls > 0 ? calls : 1))) instructions per call ($calls calls)"
  callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -E '^ *[0-9,]+ \(' \
    | grep -E 'sentinel_mcp|rmcp::|tracing_core::event::Event::dispatch|serde_json::de::from|Dispatcher<D,Bs,I,T>::poll_(read|write)|malloc.c:(malloc|free) |__rust_alloc |__rust_dealloc |kql::exec::execute |kql::bind::guard::QueryGuard::check |kql::syntax::lexer::tokenize ' \
    | grep -vE 'drop_in_place|serve::\{\{closure\}\}' | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://' \
    | awk '{ share = $2; gsub(/[(%)]/, "", share); if (share + 0 <= 100) print }' | head -16 >"$CG/$phase.top.txt" || true
done
