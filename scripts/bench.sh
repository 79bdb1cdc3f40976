#!/usr/bin/env bash
# Side-by-side benchmarks: sentinel-mcp vs the lab's Python server (the peer) vs stock rmcp
# (`mcp-rmcp`: the Streamable HTTP server a Rust user would write, same tools, canned answers) vs
# a bare hyper server (the machine's limit), all driven by the same load tool (crates/mcp-load) in
# the same run, then open-loop latency at half of the bare server's maximum on each transport.
# BENCHMARKS.md is rewritten from the results. Loopback only; every phase is bounded.
#
#   scripts/bench.sh            # full run (about 6-9 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh    # smaller and shorter, to check the script itself
#
# Knobs (environment): DURATION (s per throughput phase), SESSIONS (throughput sessions),
# IDLE_SESSIONS (ours and bare), PEER_IDLE_SESSIONS, CHURN_SECS, COLD_RUNS, PROFILE=0 to skip perf,
# SERVERS="ours peer rmcp bare" to run a subset. wrk (Debian package, installed here when apt
# can) gives the cross-check with a load tool that is not ours. (the open loop needs ours and bare), SKIP_BUILD=1 with BIN_DIR=… to use binaries built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEER_DIR=${PEER_DIR:-$ROOT/../shared/peers/python-sse-reference}
[ -d "$PEER_DIR" ] || PEER_DIR=/work/shared/peers/python-sse-reference

if [ "${QUICK:-0}" = 1 ]; then
  : "${DURATION:=2}" "${SESSIONS:=64}" "${IDLE_SESSIONS:=2000}" "${PEER_IDLE_SESSIONS:=500}"
  : "${CHURN_SECS:=3}" "${COLD_RUNS:=3}"
fi
DURATION=${DURATION:-10}
SESSIONS=${SESSIONS:-256}
IDLE_SESSIONS=${IDLE_SESSIONS:-15000}
PEER_IDLE_SESSIONS=${PEER_IDLE_SESSIONS:-3000}
CHURN_SECS=${CHURN_SECS:-10}
COLD_RUNS=${COLD_RUNS:-7}
PROFILE=${PROFILE:-1}

OURS_PORT=18180 PEER_PORT=18181 PEER_HTTP_PORT=18182 BARE_PORT=18183 RMCP_PORT=18184
OUT=$ROOT/target/bench
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
LOG=$OUT/servers.log

command -v wrk >/dev/null || { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null 2>&1; } || true

# 15,000 sessions need 15,000 sockets on each side.
ulimit -n "$(ulimit -Hn)"

SERVERS=${SERVERS:-ours peer rmcp bare}
runs() { case " $SERVERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }


# Server on core 0, load tool on core 1 when there are two cores and taskset.
PIN_SERVER="" PIN_LOAD="" PINNING="not pinned (one core or no taskset)"
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER="taskset -c 0" PIN_LOAD="taskset -c 1"
  PINNING="server on CPU 0, load tool on CPU 1 (taskset)"
fi

# --- BENCHMARKS.md ---------------------------------------------------------------------
render() {
  echo "== writing BENCHMARKS.md" >&2
  export PINNING RESULTS OUT
  export MACHINE_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  export MACHINE_CORES="$(nproc)"
  export MACHINE_MEM="$(free -g | awk '/^Mem:/{print $2}') GiB"
  export KERNEL="$(uname -r)"
  export RUSTC="$(rustc --version)"
  export PYVER="$($PY --version 2>&1)"
  export PEER_PKGS="$(.bench-venv/bin/pip freeze 2>/dev/null | grep -iE '^(mcp|starlette|uvicorn|sse-starlette)==' | tr '\n' ' ')"
  export OURS_VERSION="$("$OURS_BIN" --version 2>/dev/null || echo sentinel-mcp)"
  export GIT_REV="$(git rev-parse --short HEAD)$(git diff --quiet -- crates || echo '+dirty')"
  export DURATION SESSIONS IDLE_SESSIONS PEER_IDLE_SESSIONS CHURN_SECS COLD_RUNS PER_PRINCIPAL_OFF
  python3 "$ROOT/crates/mcp-load/render_benchmarks.py" "$ROOT/BENCHMARKS.md"
  echo "done: BENCHMARKS.md (raw results in $RESULTS)" >&2
}

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

if [ "${RENDER_ONLY:-0}" = 1 ]; then
  PY=$ROOT/.bench-venv/bin/python OURS_BIN=$OUT/bin/sentinel-mcp
  render
  exit 0
fi
: >"$RESULTS"
: >"$LOG"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== building release binaries" >&2
  cargo build --release -p sentinel-mcp -p mcp-load >&2
fi
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
# Copies, so another build in the shared target dir cannot swap a binary mid-run.
mkdir -p "$OUT/bin"
cp "${OURS_BIN:-$ROOT/target/release/sentinel-mcp}" "$BIN_DIR/mcp-load" "$BIN_DIR/mcp-bare" "$BIN_DIR/mcp-rmcp" "$OUT/bin/"
OURS_BIN=$OUT/bin/sentinel-mcp
LOAD_BIN=$OUT/bin/mcp-load
BARE_BIN=$OUT/bin/mcp-bare
RMCP_BIN=$OUT/bin/mcp-rmcp

# The stock-rmcp peer lists exactly our tools: ask our server over stdio.
python3 - "$OURS_BIN" "$OUT/tools.json" <<'PY'
import json, subprocess, sys
msgs = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]
p = subprocess.run([sys.argv[1], "--transport", "stdio"], input="".join(json.dumps(m) + "\n" for m in msgs),
                   capture_output=True, text=True, timeout=60, env={"SENTINEL_MCP_DEMO_ROWS": "2000", "PATH": "/usr/bin:/bin"})
reply = next(m for m in map(json.loads, p.stdout.splitlines()) if m.get("id") == 2)
json.dump({"tools": reply["result"]["tools"]}, open(sys.argv[2], "w"))
PY

echo "== peer venv" >&2
if [ ! -x .bench-venv/bin/python ]; then
  python3 -m venv .bench-venv
  echo "*" >.bench-venv/.gitignore
fi
.bench-venv/bin/pip install -q -r "$PEER_DIR/requirements.txt" >&2
PY=$ROOT/.bench-venv/bin/python

# Every load session comes from one loopback address, which is one principal: the per-principal
# limits are off for our server (the process-wide caps keep their defaults).
PER_PRINCIPAL_OFF="SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL=0 SENTINEL_MCP_RATE_LIMIT_PER_MINUTE=0"
echo "== per-principal limits off for sentinel-mcp ($PER_PRINCIPAL_OFF): all load comes from one loopback address, one principal" >&2
ours_cmd() { echo "env SENTINEL_MCP_DEMO_ROWS=20000 MAX_CONNECTIONS=19500 SENTINEL_MCP_STATE_DIR=$OUT/state $PER_PRINCIPAL_OFF $PIN_SERVER $OURS_BIN serve --host 127.0.0.1 --port $1"; }
peer_cmd() { echo "env PORT=$1 MCP_TRANSPORT=${2:-sse} $PIN_SERVER $PY $PEER_DIR/server.py"; }
bare_cmd() { echo "$PIN_SERVER $BARE_BIN $1"; }
rmcp_cmd() { echo "$PIN_SERVER $RMCP_BIN $1 $OUT/tools.json"; }

# start_server <command> <url that answers when ready>
start_server() {
  stop_server
  sh -c "exec $1" >>"$LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null -m 1 "$2"; then
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$2" || true)
      case "$code" in 2*|4*) return 0 ;; esac
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited: $1" >&2; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.1
  done
  echo "server not ready: $1" >&2
  exit 1
}

cpu_ticks() {
  if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi
}

# record <server> <label> <mcp-load args…>: runs the load tool, appends {"server","label",…}.
record() {
  local server=$1 label=$2
  shift 2
  local before after json
  before=$(cpu_ticks "$SERVER_PID")
  local t0 t1
  t0=$(date +%s.%N)
  json=$($PIN_LOAD "$LOAD_BIN" "$@") || { echo "load run failed: $server $label" >&2; json='{"failed":true}'; }
  after=$(cpu_ticks "$SERVER_PID")
  t1=$(date +%s.%N)
  # The JSON goes through the environment: awk -v would rewrite its backslashes.
  J="$json" awk -v s="$server" -v l="$label" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" \
    -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "{\"server\":\"%s\",\"label\":\"%s\",\"server_cpu_secs\":%.3f,\"wall_secs\":%.3f,\"result\":%s}\n", s, l, (a - b) / hz, t1 - t0, ENVIRON["J"] }' >>"$RESULTS"
}

# record_wrk <server> <port>: the cross-check with a load tool that is not ours: wrk posting
# stateless-era tools/call list_sentinel_tables to /mcp over 64 connections.
record_wrk() {
  command -v wrk >/dev/null || { echo "wrk not installed: cross-check skipped" >&2; return 0; }
  local json
  json=$($PIN_LOAD wrk -t1 -c64 -d"${DURATION}s" -s "$ROOT/scripts/wrk-stateless-call.lua" "http://127.0.0.1:$2/mcp" | tail -1)
  J="$json" awk -v s="$1" 'BEGIN { printf "{\"server\":\"%s\",\"label\":\"wrk_stateless_list\",\"result\":%s}\n", s, ENVIRON["J"] }' >>"$RESULTS"
}

# --- idle sessions: a fresh server for each measurement -------------------------------------
idle_runs() {
  local server=$1 cmd_fn=$2 port=$3 n=$4 metrics=${5:-}
  for init in "" "--initialize"; do
    echo "== $server: idle $n ${init:-(no initialize)}" >&2
    start_server "$($cmd_fn "$port")" "http://127.0.0.1:$port/health"
    sleep 1
    record "$server" "idle${init:+_init}" idle --url "http://127.0.0.1:$port/sse" --sessions "$n" \
      --pid "$SERVER_PID" $init --deadline 240 ${metrics:+--metrics-url "$metrics"}
  done
}

# --- throughput, churn --------------------------------------------------------------------
load_runs() {
  local server=$1 sse_url=$2 mcp_url=$3
  local -a common=(--duration "$DURATION" --warmup 1)
  echo "== $server: throughput" >&2
  record "$server" "tp_sse_list" throughput --url "$sse_url" --transport sse --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables "${common[@]}"
  record "$server" "tp_sse_kql" throughput --url "$sse_url" --transport sse --sessions "$SESSIONS" --in-flight 1 --tool run_kql_query "${common[@]}"
  record "$server" "tp_sse_kql_summarize" throughput --url "$sse_url" --transport sse --sessions "$SESSIONS" --in-flight 1 --tool run_kql_summarize "${common[@]}"
  record "$server" "tp_sse_one" throughput --url "$sse_url" --transport sse --sessions 1 --in-flight 1 --tool list_sentinel_tables "${common[@]}"
  if [ -n "$mcp_url" ]; then
    record "$server" "tp_streamable_list" throughput --url "$mcp_url" --transport streamable --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables "${common[@]}"
  fi
  echo "== $server: churn" >&2
  record "$server" "churn_sse" churn --url "$sse_url" --transport sse --rate 20000 --max-in-flight 64 --duration "$CHURN_SECS"
}

# sentinel-mcp
if runs ours; then
idle_runs ours ours_cmd $OURS_PORT "$IDLE_SESSIONS" "http://127.0.0.1:$OURS_PORT/metrics"
start_server "$(ours_cmd $OURS_PORT)" "http://127.0.0.1:$OURS_PORT/ready"
load_runs ours "http://127.0.0.1:$OURS_PORT/sse" "http://127.0.0.1:$OURS_PORT/mcp"
record ours "tp_stateless_list" throughput --url "http://127.0.0.1:$OURS_PORT/mcp" --transport stateless --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables --duration "$DURATION" --warmup 1
record_wrk ours "$OURS_PORT"
record ours "churn_streamable" churn --url "http://127.0.0.1:$OURS_PORT/mcp" --transport streamable --rate 20000 --max-in-flight 64 --duration "$CHURN_SECS"

if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
  echo "== ours: sampling profile (perf, cpu-clock) of tools/call over legacy SSE" >&2
  perf record -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep 5 >/dev/null 2>&1 &
  PERF=$!
  record ours "profile_record" throughput --url "http://127.0.0.1:$OURS_PORT/sse" --transport sse --sessions 64 --in-flight 1 --tool list_sentinel_tables --duration 4 --warmup 0
  wait $PERF || true
  # Rows start with a percentage; call-chain addresses (0x…) and perf's trailing columns are dropped.
  perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.8 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | sed -E 's/ +-? +-? *$//; s/ +$//' | head -30 >"$OUT/perf-top.txt" || true
  perf report -i "$OUT/perf.data" --stdio --sort dso 2>/dev/null | grep -E '^ +[0-9.]+%' | sed -E 's/ +$//' >"$OUT/perf-dso.txt" || true
fi
stop_server

# Instructions per call are repeatable where wall time on a busy machine is not: count them
# with callgrind (hardware counters are often missing in VMs) over fixed phases.
if [ "$PROFILE" = 1 ] && command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  echo "== ours: instructions per call (callgrind)" >&2
  CG=$OUT/callgrind
  stop_server
  scripts/instructions-per-call.sh "$OURS_BIN" "$LOAD_BIN" "$CG" >&2
fi

# Where an idle initialized session's memory is: live heap by allocation site at the peak with
# DHAT_SESSIONS sessions held (valgrind's DHAT; bytes allocated, so an upper bound on RSS).
if [ "$PROFILE" = 1 ] && command -v valgrind >/dev/null; then
  echo "== ours: heap per idle initialized session (dhat)" >&2
  DH=$OUT/dhat
  rm -rf "$DH" && mkdir -p "$DH"
  sh -c "exec env SENTINEL_MCP_DEMO_ROWS=2000 SENTINEL_MCP_STATE_DIR=$OUT/state-cg $PER_PRINCIPAL_OFF valgrind --tool=dhat --dhat-out-file=$DH/dhat.out $OURS_BIN serve --host 127.0.0.1 --port 18188" >"$DH/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do curl -sf -o /dev/null -m 2 http://127.0.0.1:18188/ready && break; sleep 0.2; done
  "$LOAD_BIN" idle --url http://127.0.0.1:18188/sse --sessions "${DHAT_SESSIONS:-1000}" --pid "$SERVER_PID" --initialize \
    --concurrency 32 --hold 2 --deadline 240 >"$DH/idle.json" 2>/dev/null || true
  stop_server
fi
fi

# the Python peer
if runs peer; then
idle_runs peer peer_cmd $PEER_PORT "$PEER_IDLE_SESSIONS"
start_server "$(peer_cmd $PEER_HTTP_PORT streamable)" "http://127.0.0.1:$PEER_HTTP_PORT/mcp"
echo "== peer: streamable throughput" >&2
record peer "tp_streamable_list" throughput --url "http://127.0.0.1:$PEER_HTTP_PORT/mcp" --transport streamable --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables --duration "$DURATION" --warmup 1
record peer "tp_stateless_list" throughput --url "http://127.0.0.1:$PEER_HTTP_PORT/mcp" --transport stateless --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables --duration "$DURATION" --warmup 1
start_server "$(peer_cmd $PEER_PORT)" "http://127.0.0.1:$PEER_PORT/health"
load_runs peer "http://127.0.0.1:$PEER_PORT/sse" ""
stop_server
fi

# the bare hyper server
if runs bare; then
idle_runs bare bare_cmd $BARE_PORT "$IDLE_SESSIONS"
start_server "$(bare_cmd $BARE_PORT)" "http://127.0.0.1:$BARE_PORT/health"
load_runs bare "http://127.0.0.1:$BARE_PORT/sse" "http://127.0.0.1:$BARE_PORT/mcp"
record bare "tp_stateless_list" throughput --url "http://127.0.0.1:$BARE_PORT/mcp" --transport stateless --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables --duration "$DURATION" --warmup 1
record_wrk bare "$BARE_PORT"
stop_server
fi

# stock rmcp: Streamable HTTP only
if runs rmcp; then
echo "== rmcp: streamable throughput" >&2
start_server "$(rmcp_cmd $RMCP_PORT)" "http://127.0.0.1:$RMCP_PORT/mcp"
for era in streamable stateless; do
  record rmcp "tp_${era}_list" throughput --url "http://127.0.0.1:$RMCP_PORT/mcp" --transport "$era" --sessions "$SESSIONS" --in-flight 1 --tool list_sentinel_tables --duration "$DURATION" --warmup 1
done
stop_server
fi

# Open loop: calls offered on a fixed schedule at half of the bare server's maximum on each
# transport, latency from each call's due time (no coordinated omission).
if runs ours && runs bare; then
start_server "$(ours_cmd $OURS_PORT)" "http://127.0.0.1:$OURS_PORT/ready"
for transport in sse streamable stateless; do
  rate=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["server"] == "bare" and r["label"] == sys.argv[2]:
        print(round(r["result"].get("calls_per_sec", 0) / 2))' "$RESULTS" "tp_${transport}_list")
  if [ -z "$rate" ] || [ "$rate" -le 0 ]; then
    echo "no bare maximum for $transport: open loop skipped" >&2
    continue
  fi
  path=/mcp; [ "$transport" = sse ] && path=/sse
  echo "== ours: open loop, $transport at $rate calls/s" >&2
  record ours "ol_${transport}_list" throughput --url "http://127.0.0.1:$OURS_PORT$path" --transport "$transport" --sessions "$SESSIONS" --in-flight 4 --rate "$rate" --tool list_sentinel_tables --duration "$DURATION" --warmup 1
done
stop_server
fi

# cold start: spawn → first /health 200
echo "== cold start" >&2
runs ours && record ours cold_start cold-start --cmd "$(ours_cmd 18190)" --url http://127.0.0.1:18190/health --runs "$COLD_RUNS"
runs peer && record peer cold_start cold-start --cmd "$(peer_cmd 18191)" --url http://127.0.0.1:18191/health --runs "$COLD_RUNS"
runs bare && record bare cold_start cold-start --cmd "$(bare_cmd 18192)" --url http://127.0.0.1:18192/health --runs "$COLD_RUNS"

render
