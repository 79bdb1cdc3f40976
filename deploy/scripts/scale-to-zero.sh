#!/usr/bin/env bash
# Scale to zero when idle (dev environments at night), or back. At zero the first request waits
# for a replica to start (a few seconds); open SSE streams end when the last replica stops.
#
#   deploy/scripts/scale-to-zero.sh --resource-group RG --app NAME [--restore [MIN]]
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --app NAME            (APP)
#   --restore [MIN]       set the minimum back to MIN replicas (default 1) instead
#
# Setting the minimum to what it already is changes nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} app=${APP:-} min=0
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --app) app=$(flag_value "$@"); shift 2 ;;
    --restore)
        min=1
        if [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]]; then min=$2; shift; fi
        shift
        ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need "$app" --app
need_az

current=$(az containerapp show -g "$group" -n "$app" --query properties.template.scale.minReplicas -o tsv)
if [ "$current" = "$min" ]; then
    say "$app already has min replicas $min"
    exit 0
fi
say "$app: min replicas $current -> $min"
az containerapp update -g "$group" -n "$app" --min-replicas "$min" --only-show-errors --output none
