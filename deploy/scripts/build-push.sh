#!/usr/bin/env bash
# Build the image in Azure Container Registry (ACR Tasks: no local Docker needed) and push it
# tagged with the commit.
#
#   deploy/scripts/build-push.sh --registry NAME [--tag TAG] [--build full|azure]
#
#   --registry NAME   the registry (REGISTRY); main.bicep's registryName output
#   --tag TAG         image tag (TAG); default: the current commit (git rev-parse HEAD)
#   --build KIND      full (default; the local KQL engine included) or azure (no DataFusion,
#                     with the telemetry exporters and the Redis client) (BUILD)
#   --agent-pool POOL an ACR Tasks agent pool (AGENT_POOL; Premium registries): the fat-LTO link
#                     of the full build needs about 5 GB of memory and a long time on 2 cores
#   --timeout SECS    build timeout (ACR_BUILD_TIMEOUT); default 7200
#
# Prints the image reference (registry.azurecr.io/sentinel-mcp:TAG) on stdout. Pushing the same
# tag again replaces it with an identical build.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

registry=${REGISTRY:-} tag=${TAG:-} build=${BUILD:-full} pool=${AGENT_POOL:-} timeout=${ACR_BUILD_TIMEOUT:-7200}
while [ $# -gt 0 ]; do
    case "$1" in
    --registry) registry=$(flag_value "$@"); shift 2 ;;
    --tag) tag=$(flag_value "$@"); shift 2 ;;
    --build) build=$(flag_value "$@"); shift 2 ;;
    --agent-pool) pool=$(flag_value "$@"); shift 2 ;;
    --timeout) timeout=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$registry" --registry
case "$build" in full | azure) ;; *) die "--build must be full or azure (got $build)" ;; esac
root=$(cd "$here/../.." && pwd)
[ -n "$tag" ] || tag=$(git -C "$root" rev-parse HEAD)
need_az

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
source_url=$(git -C "$root" config --get remote.origin.url 2>/dev/null || echo unknown)
pool_args=()
[ -z "$pool" ] || pool_args=(--agent-pool "$pool")
say "az acr build $registry sentinel-mcp:$tag ($build)"
az acr build --registry "$registry" --only-show-errors --timeout "$timeout" "${pool_args[@]}" \
    --file "$root/deploy/Dockerfile" \
    --image "sentinel-mcp:$tag" \
    --build-arg "BUILD=$build" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$(git -C "$root" rev-parse HEAD)" \
    --build-arg "SOURCE=$source_url" \
    "$root" >&2
login_server=$(az acr show --name "$registry" --query loginServer --output tsv)
printf '%s/sentinel-mcp:%s\n' "$login_server" "$tag"
