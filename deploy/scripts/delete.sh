#!/usr/bin/env bash
# Delete an environment: its whole resource group (app, registry, vault, cache, logs). The
# Sentinel workspace's role assignments for the app's identity are removed first, since they live
# in the workspace's resource group. Asks for the group's name unless --yes. A group that is
# already gone is not an error.
#
#   deploy/scripts/delete.sh --resource-group RG [--yes]
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --yes                 do not ask
#
# A prod Key Vault has purge protection: its name stays reserved for 90 days after deletion.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} yes=false
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --yes) yes=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need_az

if [ "$(az group exists --name "$group")" != true ]; then
    say "resource group $group does not exist: nothing to delete"
    exit 0
fi
if ! $yes; then
    read -r -p "Delete resource group $group and everything in it? Type its name: " answer
    [ "$answer" = "$group" ] || die "not confirmed"
fi
for principal in $(az containerapp list -g "$group" --query "[].identity.principalId" -o tsv); do
    for assignment in $(az role assignment list --all --assignee "$principal" --query "[].id" -o tsv); do
        say "removing role assignment $assignment"
        az role assignment delete --ids "$assignment" --only-show-errors
    done
done
say "deleting resource group $group"
az group delete --name "$group" --yes --only-show-errors
