#!/usr/bin/env bash
# Roll back: all traffic to the previous revision (or the one named), and the revision that was
# serving deactivated. Run again, it changes nothing.
#
#   deploy/scripts/rollback.sh --resource-group RG --app NAME [--to REVISION] [--from REVISION]
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --app NAME            (APP)
#   --to REVISION         the revision to return to (TO_REVISION); default: the newest active
#                         revision other than the failed one
#   --from REVISION       the failed revision (FROM_REVISION); default: the newest revision
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} app=${APP:-} to=${TO_REVISION:-} from=${FROM_REVISION:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --app) app=$(flag_value "$@"); shift 2 ;;
    --to) to=$(flag_value "$@"); shift 2 ;;
    --from) from=$(flag_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need "$app" --app
need_az

# Revisions newest first: name, active.
revisions=$(az containerapp revision list -g "$group" -n "$app" --all \
    --query "sort_by([], &properties.createdTime)[].[name, to_string(properties.active)]" -o tsv | tac)
[ -n "$from" ] || from=$(head -n1 <<<"$revisions" | cut -f1)
if [ -z "$to" ]; then
    to=$(awk -F'\t' -v bad="$from" '$1 != bad && $2 == "true" { print $1; exit }' <<<"$revisions")
    [ -n "$to" ] || to=$(awk -F'\t' -v bad="$from" '$1 != bad { print $1; exit }' <<<"$revisions")
fi
need "$to" "a previous revision (there is none)"
[ "$to" != "$from" ] || die "--to and --from are the same revision ($to)"

say "rolling back $app: $from -> $to"
az containerapp revision activate -g "$group" -n "$app" --revision "$to" --only-show-errors --output none
az containerapp ingress traffic set -g "$group" -n "$app" --revision-weight "$to=100" \
    --only-show-errors --output none
if az containerapp revision show -g "$group" -n "$app" --revision "$from" --query properties.active -o tsv 2>/dev/null | grep -qi true; then
    az containerapp revision deactivate -g "$group" -n "$app" --revision "$from" --only-show-errors --output none
fi
say "serving from $to; $from is inactive (its logs stay in Log Analytics)"
