#!/usr/bin/env bash
# The local KQL engine against DuckDB on the same generated SigninLogs Parquet file, in one run;
# writes BENCHMARKS-kql.md. BENCH_ROWS (default 1,000,000) and BENCH_ITERS (default 5) tune it.
# The data lives under target/bench-data/ and DuckDB in target/bench-data/venv, never in git.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/target/bench-data/venv"
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$root/target/bench-data"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
export DUCKDB_PYTHON="$venv/bin/python"
# mimalloc as the server configures it (crates/sentinel-mcp/src/main.rs): arenas committed as they
# are used. Committed eagerly, loading the 10 M-row table took 17-21 s instead of 2.8.
export MIMALLOC_ARENA_EAGER_COMMIT="${MIMALLOC_ARENA_EAGER_COMMIT:-0}"
export BENCH_MD="${BENCH_MD:-$root/BENCHMARKS-kql.md}"
export BENCH_JSON="${BENCH_JSON:-$root/target/bench-data/kql-results.json}"
cargo bench -p kql --bench engine -- "$@"
echo "wrote $BENCH_MD and $BENCH_JSON"
