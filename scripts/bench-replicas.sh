#!/usr/bin/env bash
# Replicas through nginx round-robin (issue 12), measured with mcp-load: calls/s and latency of
# `list_sentinel_tables` over legacy SSE and Streamable HTTP (session era) for
#   direct       one replica, no nginx, no Redis (the baseline)
#   nginx-1      one replica behind nginx, no Redis (what nginx alone costs)
#   nginx-3      three replicas behind nginx round-robin sharing Redis (two requests in three
#                are relayed to their session's replica)
#   redis-1      one of those replicas on its own (its sessions, no relay)
#   limits-1     one replica with Redis and the per-principal rate limit on (set far above the
#                load), against redis-1: what one Redis round trip per tools/call costs
# A bounded scenario, run on demand (not in CI): needs release builds and about five minutes.
#
#   cargo build --release -p sentinel-mcp -p mcp-load && scripts/bench-replicas.sh [DURATION]
#
# Environment: BIN_DIR (default target/release), SESSIONS (64), IN_FLIGHT (1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin_dir=${BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}
duration=${1:-10}
sessions=${SESSIONS:-64}
in_flight=${IN_FLIGHT:-1}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() {
    for _ in $(seq 1 200); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "no answer from $1" >&2
    return 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)

# start_replica NAME [ENV=VALUE...]: sets port. (Not run in $(...): the pid must reach pids,
# and a background child would hold the substitution's pipe open.)
start_replica() {
    local name=$1
    shift
    port=$(free_port)
    env -i PATH="$PATH" HOME="$HOME" SENTINEL_MCP_REPLICA_ID="$name" \
        SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL=0 SENTINEL_MCP_MAX_CONCURRENT_CALLS=0 \
        SENTINEL_MCP_RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn "$@" \
        "$bin_dir/sentinel-mcp" serve --host 127.0.0.1 --port "$port" >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_ok "http://127.0.0.1:$port/ready"
}

# start_nginx PORT...: sets port to nginx's.
start_nginx() {
    local servers="" dir=$work/nginx-$RANDOM
    port=$(free_port)
    mkdir -p "$dir"
    for p in "$@"; do servers="$servers server 127.0.0.1:$p;"; done
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/f;
    uwsgi_temp_path $dir/u; scgi_temp_path $dir/s;
    upstream replicas { $servers keepalive 256; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://replicas; proxy_http_version 1.1;
            proxy_set_header Connection ""; proxy_set_header Host \$http_host;
            proxy_buffering off; proxy_read_timeout 300s;
        }
    }
}
EOF
    "$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; user root;' \
        >"$dir/stdout.log" 2>&1 &
    pids+=($!)
    wait_ok "http://127.0.0.1:$port/health"
}

# load SETUP TRANSPORT BASE_URL: one mcp-load run, one line of the table.
load() {
    local setup=$1 transport=$2 base=$3 url
    url=$base/mcp
    [ "$transport" = sse ] && url=$base/sse
    "$bin_dir/mcp-load" throughput --url "$url" --transport "$transport" --sessions "$sessions" \
        --in-flight "$in_flight" --duration "$duration" --warmup 2 2>/dev/null |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
l = r["latency"]
print("| {} | {} | {:.0f} | {:.2f} | {:.2f} | {} |".format(
    sys.argv[1], sys.argv[2], r["calls_per_sec"], l["p50_ms"], l["p99_ms"], r["errors"]))' "$setup" "$transport"
}

redis_url=redis://127.0.0.1:$redis_port
echo "| Setup | Transport | calls/s | p50 ms | p99 ms | errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
start_replica d0
direct=$port
start_nginx "$direct"
nginx_one=$port
start_replica r0 SENTINEL_MCP_REDIS_URL="$redis_url"
r0=$port
start_replica r1 SENTINEL_MCP_REDIS_URL="$redis_url"
r1=$port
start_replica r2 SENTINEL_MCP_REDIS_URL="$redis_url"
r2=$port
start_nginx "$r0" "$r1" "$r2"
nginx_three=$port
start_replica l0 SENTINEL_MCP_REDIS_URL="$redis_url" \
    SENTINEL_MCP_RATE_LIMIT_PER_MINUTE=100000000 SENTINEL_MCP_RATE_LIMIT_BURST=100000000
limited=$port
for transport in sse streamable; do
    load direct "$transport" "http://127.0.0.1:$direct"
    load nginx-1 "$transport" "http://127.0.0.1:$nginx_one"
    load nginx-3 "$transport" "http://127.0.0.1:$nginx_three"
    load redis-1 "$transport" "http://127.0.0.1:$r0"
    load limits-1 "$transport" "http://127.0.0.1:$limited"
done
