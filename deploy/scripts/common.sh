# shellcheck shell=bash
# Shared by the deploy scripts (sourced, not run). Every script: `set -euo pipefail`, `--help`,
# settings from flags or the environment variables named in its help, safe to run again.

# usage: prints the calling script's header comment (the comment lines after the shebang).
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# need VALUE NAME: dies when a required setting is empty.
need() { [ -n "$1" ] || die "$2 is required (see --help)"; }

# flag_value FLAG VALUE: the value after a flag, or a clear error when it is missing.
flag_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
    printf '%s' "$2"
}

need_az() {
    command -v az >/dev/null || die "the Azure CLI (az) is not installed: https://learn.microsoft.com/cli/azure/install-azure-cli"
    az account show --only-show-errors >/dev/null 2>&1 || die "not signed in: run az login (or azure/login in a workflow)"
    az extension show --name containerapp >/dev/null 2>&1 ||
        az extension add --name containerapp --upgrade --only-show-errors >/dev/null
}

# serving_revisions GROUP APP: the revisions that get traffic, one NAME=WEIGHT per line, by name
# (the template's "latest revision" entry resolved to the revision it means today).
serving_revisions() {
    local latest
    latest=$(az containerapp show -g "$1" -n "$2" --query properties.latestRevisionName -o tsv)
    az containerapp ingress traffic show -g "$1" -n "$2" -o json |
        jq -r --arg latest "$latest" '.[] | select(.weight > 0) | "\(.revisionName // $latest)=\(.weight)"'
}

# app_name/resource names follow deploy/infra/main.bicep: <name>-<environment>-app.
default_app() { printf '%s-%s-app' "${NAME:-sentinel-mcp}" "$1"; }
