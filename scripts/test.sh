#!/usr/bin/env bash
# The whole test suite: install what it needs, then format, lint, build, Rust tests and the
# interop tests with clients we did not write. `.ci/run` calls exactly this.
#
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh --skip-install  assume scripts/install-test-deps.sh already ran
#   PYTEST_ARGS="-k inspector" ./scripts/test.sh   pass extra arguments to pytest
#
# Every stage runs even if an earlier one failed (so one run shows everything), except that
# tests are skipped when the build failed. Exits non-zero if any stage failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PYTHONDONTWRITEBYTECODE=1
# Local servers only: a proxy in the environment must not see 127.0.0.1.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

skip_install=false
for arg in "$@"; do
    case "$arg" in
    --skip-install) skip_install=true ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/sentinel-test.XXXXXX")
names=() results=() times=()
tests_passed=0 tests_failed=0

# stage NAME COMMAND...: run one stage, show its output, record status and wall time.
stage() {
    local name=$1; shift
    local log="$logs/${name// /_}.log" start=$SECONDS rc
    printf '\n==== %s: %s\n' "$name" "$*"
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    names+=("$name") times+=($((SECONDS - start)))
    if [ "$rc" -eq 0 ]; then results+=(ok); else results+=("FAILED (exit $rc)"); fi
    printf '==== %s: %s in %ss\n' "$name" "${results[-1]}" "$((SECONDS - start))"
    return "$rc"
}

skip() {
    names+=("$1") results+=("skipped: $2") times+=(0)
    printf '\n==== %s: skipped (%s)\n' "$1" "$2"
}

# count_tests LOG: add the passed/failed counts of the runner's closing lines to the totals.
count_tests() {
    local log=$1 p f
    # nextest: "Summary [ 3.2s] 57 tests run: 57 passed, 0 skipped" / "... 55 passed, 2 failed"
    # cargo test: "test result: ok. 3 passed; 0 failed; ..."
    # pytest: "31 passed, 2 skipped in 4.61s" / "1 failed, 1 passed, 29 errors in 1.42s"
    p=$(grep -hE '^ *Summary \[|^test result:|^=*.* (passed|failed).* in [0-9.]+s' "$log" |
        grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
    f=$(grep -hE '^ *Summary \[|^test result:|^=*.* (passed|failed).* in [0-9.]+s' "$log" |
        grep -oE '[0-9]+ (failed|errors?)' | awk '{s+=$1} END {print s+0}')
    tests_passed=$((tests_passed + p)) tests_failed=$((tests_failed + f))
}

total_start=$SECONDS

if $skip_install; then
    skip "install" "--skip-install"
else
    stage "install" ./scripts/install-test-deps.sh || {
        echo "cannot install the test dependencies; stopping" >&2
        exit 1
    }
fi

stage "fmt" cargo fmt --all -- --check
stage "clippy" cargo clippy --workspace --all-targets -- -D warnings
# The Azure-only build (no DataFusion) must stay clean too.
stage "no-datafusion" cargo clippy -p sentinel-mcp -p kql -p sentinel-demo --no-default-features -- -D warnings
# ...and its row-form catalog and loaders (no Arrow, no Parquet) must pass the engine's own tests,
# and the demo workspace its own in the row form it is kept in there.
stage "kql without datafusion" cargo test -p kql -p sentinel-demo --no-default-features --lib
count_tests "$logs/kql_without_datafusion.log"
# --all-targets: tests and the binary are built once, with the features the dev-dependencies
# unify in; a plain `cargo build` would build tokio, hyper, clap... a second time for the tests.
if stage "build" cargo build --workspace --all-targets; then
    if cargo nextest --version >/dev/null 2>&1; then
        stage "rust tests" cargo nextest run --workspace --no-fail-fast --no-tests=warn
        count_tests "$logs/rust_tests.log"
        stage "doc tests" cargo test --workspace --doc
        count_tests "$logs/doc_tests.log"
    else
        stage "rust tests" cargo test --workspace --no-fail-fast
        count_tests "$logs/rust_tests.log"
    fi
    # shellcheck disable=SC2086
    stage "interop" .venv/bin/python -m pytest tests/interop ${PYTEST_ARGS:-}
    count_tests "$logs/interop.log"
else
    skip "rust tests" "build failed"
    skip "interop" "build failed"
fi

stages_failed=0
printf '\n==== summary (%ss in all; logs in %s)\n' "$((SECONDS - total_start))" "$logs"
for i in "${!names[@]}"; do
    printf '  %-12s %5ss  %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
    case "${results[$i]}" in FAILED*) stages_failed=$((stages_failed + 1)) ;; esac
done
# A failed stage without failed tests (fmt, clippy, build, a crashed runner) counts as one failure.
if [ "$stages_failed" -gt 0 ] && [ "$tests_failed" -eq 0 ]; then
    tests_failed=$stages_failed
fi
echo "test.sh: $tests_passed passed, $tests_failed failed"
[ "$stages_failed" -eq 0 ]
