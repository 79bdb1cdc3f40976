#!/usr/bin/env bash
# Deploy an image as a new revision. With --no-traffic the revision starts at 0 % traffic, for a
# smoke test through its own URL before promote.sh moves traffic to it.
#
#   deploy/scripts/update-image.sh --resource-group RG --app NAME --image REF [--suffix S] [--no-traffic]
#
#   --resource-group RG   (RESOURCE_GROUP)
#   --app NAME            the container app (APP); main.bicep's appName output
#   --image REF           e.g. myreg.azurecr.io/sentinel-mcp:<commit> (IMAGE)
#   --suffix S            revision suffix (REVISION_SUFFIX); default: the image tag's first 12
#                         characters. A suffix that exists already is reused, not duplicated.
#   --no-traffic          keep traffic where it is (the app must be in multiple-revision mode)
#
# Prints, on stdout, the revision's name and its own URL, tab-separated.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

group=${RESOURCE_GROUP:-} app=${APP:-} image=${IMAGE:-} suffix=${REVISION_SUFFIX:-} no_traffic=false
while [ $# -gt 0 ]; do
    case "$1" in
    --resource-group) group=$(flag_value "$@"); shift 2 ;;
    --app) app=$(flag_value "$@"); shift 2 ;;
    --image) image=$(flag_value "$@"); shift 2 ;;
    --suffix) suffix=$(flag_value "$@"); shift 2 ;;
    --no-traffic) no_traffic=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done
need "$group" --resource-group
need "$app" --app
need "$image" --image
command -v jq >/dev/null || die "jq is not installed"
[ -n "$suffix" ] || suffix=$(printf '%s' "${image##*:}" | tr -c 'a-z0-9-' '-' | cut -c1-12)
need_az

revision="$app--$suffix"
domain=$(az containerapp show -g "$group" -n "$app" --query properties.configuration.ingress.fqdn -o tsv | cut -d. -f2-)
app_fqdn="$app.$domain"
revision_fqdn="$revision.$domain"

if az containerapp revision show -g "$group" -n "$app" --revision "$revision" --only-show-errors >/dev/null 2>&1; then
    say "revision $revision exists: reusing it"
else
    if $no_traffic; then
        # Pin today's traffic to today's revisions by name (a "latest revision" entry would
        # follow the new one), so the new revision gets none.
        weights=$(serving_revisions "$group" "$app" | tr '\n' ' ')
        if [ -n "${weights// /}" ]; then
            # shellcheck disable=SC2086 # one NAME=WEIGHT word per revision
            az containerapp ingress traffic set -g "$group" -n "$app" --revision-weight $weights \
                --only-show-errors --output none
        fi
    fi
    say "revision $revision with $image"
    # The Host guard must accept the revision's own name (the smoke test calls it) besides the app's.
    az containerapp update -g "$group" -n "$app" --only-show-errors --output none \
        --image "$image" --revision-suffix "$suffix" \
        --set-env-vars "SENTINEL_MCP_ALLOWED_HOSTS=$app_fqdn,$revision_fqdn"
fi

say "waiting for $revision to be running"
for _ in $(seq 1 60); do
    state=$(az containerapp revision show -g "$group" -n "$app" --revision "$revision" \
        --query properties.runningState -o tsv 2>/dev/null || true)
    case "$state" in
    Running | RunningAtMaxScale) break ;;
    Failed | Degraded) die "revision $revision is $state: az containerapp logs show -g $group -n $app --revision $revision --type system" ;;
    esac
    sleep 10
done
case "$state" in Running | RunningAtMaxScale) ;; *) die "revision $revision is still '$state' after 10 minutes" ;; esac
printf '%s\thttps://%s\n' "$revision" "$revision_fqdn"
