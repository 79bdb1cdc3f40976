#!/usr/bin/env bash
# Create (or bring up to date) everything one environment needs: the resource group, the
# infrastructure in deploy/infra/main.bicep, the image, and the first revision. Safe to run again:
# every step converges on the same state.
#
#   deploy/scripts/create.sh --env dev|prod --resource-group RG [--location REGION] [--build full|azure]
#
#   --env NAME              dev or prod: deploy/infra/NAME.bicepparam (ENVIRONMENT)
#   --resource-group RG     created if missing (RESOURCE_GROUP)
#   --location REGION       default: westeurope (LOCATION)
#   --build KIND            the image's build, full or azure (BUILD); default full
#
# Needs in the environment (the .bicepparam files read them): MCP_SERVER_APP_ID (the Entra app
# registration, docs/security.md), SENTINEL_WORKSPACE_ID and SENTINEL_WORKSPACE_RESOURCE_ID (the
# Sentinel workspace); ALERT_EMAIL for prod alerts. The signed-in identity needs Owner (or
# Contributor + User Access Administrator) on the resource group and on the Sentinel workspace.
#
# On the first run the app starts on a public placeholder image: its identity must exist, and
# hold AcrPull, before it can pull ours. The image is then built in the registry and the
# infrastructure deployed again with it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

env_name=${ENVIRONMENT:-} group=${RESOURCE_GROUP:-} location=${LOCATION:-westeurope} build=${BUILD:-full}
while [ $# -gt 0 ]; do
    case "$1" in
    --env) env_name=$(flag_value "$@"); shift 2 ;;
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --location) location=$(flag_value "$@"); shift 2 ;;
    --build) build=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
case "$env_name" in dev | prod) ;; *) die "--env must be dev or prod" ;; esac
need "$group" --resource-group
need "${MCP_SERVER_APP_ID:-}" MCP_SERVER_APP_ID
need "${SENTINEL_WORKSPACE_ID:-}" SENTINEL_WORKSPACE_ID
need "${SENTINEL_WORKSPACE_RESOURCE_ID:-}" SENTINEL_WORKSPACE_RESOURCE_ID
need_az
infra=$(cd "$here/../infra" && pwd)

say "resource group $group ($location)"
az group create --name "$group" --location "$location" --only-show-errors --output none

# deploy IMAGE: one idempotent deployment of main.bicep; prints its outputs as JSON.
deploy() {
    az deployment group create --only-show-errors \
        --resource-group "$group" --name "sentinel-mcp-$env_name" \
        --template-file "$infra/main.bicep" --parameters "$infra/$env_name.bicepparam" \
        --parameters image="$1" \
        --query properties.outputs --output json
}

app=$(default_app "$env_name")
current=$(az containerapp show -g "$group" -n "$app" --query 'properties.template.containers[0].image' -o tsv 2>/dev/null || true)
case "$current" in
*.azurecr.io/*) say "app $app already runs $current: infrastructure update first" ; outputs=$(deploy "$current") ;;
*) say "infrastructure (first deployment: placeholder image)"; outputs=$(deploy "") ;;
esac

registry=$(jq -r .registryName.value <<<"$outputs")
image=$("$here/build-push.sh" --registry "$registry" --build "$build")
say "infrastructure with $image"
outputs=$(deploy "$image")

url=$(jq -r .appUrl.value <<<"$outputs")
principal=$(jq -r .principalId.value <<<"$outputs")
say "app: $url (/sse, /mcp); identity principal id: $principal"
say "next: grant the identity its Graph application permissions (docs/deploy.md) and run"
say "      deploy/scripts/smoke-test.sh --url $url --token \"\$(az account get-access-token --scope api://$MCP_SERVER_APP_ID/.default --query accessToken -o tsv)\""
printf '%s\n' "$outputs"
