#!/usr/bin/env bash
# Rotate the app's one secret, the Application Insights connection string: regenerate nothing
# in Azure (the string holds no key), store it again as a new Key Vault secret version, and restart
# the serving revisions so they read it now rather than within the platform's 30-minute refresh.
# Everything else the server uses is reached with its managed identity: there is no other secret.
#
#   deploy/scripts/rotate-secret.sh --resource-group RG --app NAME --vault NAME [--appinsights NAME]
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --app NAME            (APP)
#   --vault NAME          the Key Vault (VAULT); main.bicep's keyVaultName output
#   --appinsights NAME    the Application Insights component (APPINSIGHTS); default: the app's
#                         name with -app replaced by -appi
#
# Run again, it stores an identical version and restarts again; nothing else changes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} app=${APP:-} vault=${VAULT:-} appinsights=${APPINSIGHTS:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --app) app=$(flag_value "$@"); shift 2 ;;
    --vault) vault=$(flag_value "$@"); shift 2 ;;
    --appinsights) appinsights=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need "$app" --app
need "$vault" --vault
[ -n "$appinsights" ] || appinsights="${app%-app}-appi"
need_az

value=$(az monitor app-insights component show -g "$group" --app "$appinsights" --query connectionString -o tsv)
need "$value" "the connection string of $appinsights"
expires=$(date -u -d '+1 year' '+%Y-%m-%dT%H:%M:%SZ')
say "new version of appinsights-connection-string in $vault (expires $expires)"
# From a file, so the value never appears in a process list.
secret_file=$(mktemp)
trap 'rm -f "$secret_file"' EXIT
printf '%s' "$value" >"$secret_file"
az keyvault secret set --vault-name "$vault" --name appinsights-connection-string \
    --file "$secret_file" --encoding utf-8 --content-type text/plain --expires "$expires" \
    --only-show-errors --output none

for revision in $(az containerapp revision list -g "$group" -n "$app" --query "[?properties.active].name" -o tsv); do
    say "restarting $revision"
    az containerapp revision restart -g "$group" -n "$app" --revision "$revision" --only-show-errors --output none
done
