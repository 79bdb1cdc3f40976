#!/usr/bin/env bash
# Move all traffic to one revision (after its smoke test passed). The revisions it replaces stay
# active at 0 % for a fast rollback.sh, until the next promotion deactivates them.
#
#   deploy/scripts/promote.sh --resource-group RG --app NAME --revision REVISION
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --app NAME            (APP)
#   --revision REVISION   the revision to serve everything (REVISION)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} app=${APP:-} revision=${REVISION:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --app) app=$(flag_value "$@"); shift 2 ;;
    --revision) revision=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need "$app" --app
need "$revision" --revision
need_az

# The one kept for rollback: whatever serves traffic now.
command -v jq >/dev/null || die "jq is not installed"
previous=$(serving_revisions "$group" "$app" | cut -d= -f1 | grep -vx "$revision" || true)
say "traffic: 100 % to $revision"
az containerapp ingress traffic set -g "$group" -n "$app" --revision-weight "$revision=100" \
    --only-show-errors --output none
# Older revisions than the one kept are retired (idempotent: inactive ones are skipped).
for old in $(az containerapp revision list -g "$group" -n "$app" \
    --query "[?properties.active && name != '$revision'].name" -o tsv); do
    if ! grep -qx "$old" <<<"$previous"; then
        say "deactivating $old"
        az containerapp revision deactivate -g "$group" -n "$app" --revision "$old" --only-show-errors --output none
    fi
done
