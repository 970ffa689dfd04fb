#!/usr/bin/env bash
# Deploy a source bundle (scripts/bundle.sh) to an Elastic Beanstalk environment, and
# fail unless it really took. The deploy workflow runs one step at a time:
#   scripts/eb_deploy.sh STEP...   upload | create-version | update | wait | confirm | all
# Environment:
#   BUNDLE, VERSION_LABEL                      the zip and its (unique) version label
#   EB_APPLICATION, EB_ENVIRONMENT, EB_VERSIONS_BUCKET   from terraform output github_variables
#   APP_URL            optional: where to ask /readyz (default http://<environment CNAME>)
#   DEPLOY_TIMEOUT_S   how long to wait for the environment (1800); HEALTH_TIMEOUT_S for
#                      Green and a 200 from /readyz after it is Ready (300); POLL_S (15)
# Needs the aws CLI with credentials (in the workflow: the environment's OIDC deploy role).
set -euo pipefail

: "${VERSION_LABEL:?set VERSION_LABEL}" "${EB_APPLICATION:?set EB_APPLICATION}"
: "${EB_ENVIRONMENT:?set EB_ENVIRONMENT}" "${EB_VERSIONS_BUCKET:?set EB_VERSIONS_BUCKET}"
deploy_timeout=${DEPLOY_TIMEOUT_S:-1800}
health_timeout=${HEALTH_TIMEOUT_S:-300}
poll=${POLL_S:-15}
key="bundles/${VERSION_LABEL}.zip"

fail() {
  echo "::error::$*" >&2
  echo "Recent events of $EB_ENVIRONMENT:" >&2
  aws elasticbeanstalk describe-events --environment-name "$EB_ENVIRONMENT" --max-items 15 \
    --query 'Events[].[EventDate,Severity,Message]' --output text >&2 || true
  exit 1
}

# Status, health, deployed version label and CNAME of the environment, tab-separated.
describe() {
  aws elasticbeanstalk describe-environments --environment-names "$EB_ENVIRONMENT" \
    --query 'Environments[0].[Status,Health,VersionLabel,CNAME]' --output text
}

upload() {
  : "${BUNDLE:?set BUNDLE}"
  [ -s "$BUNDLE" ] || fail "bundle $BUNDLE is missing or empty"
  aws s3 cp --only-show-errors "$BUNDLE" "s3://$EB_VERSIONS_BUCKET/$key"
  echo "uploaded s3://$EB_VERSIONS_BUCKET/$key"
}

create_version() {
  # --process: Elastic Beanstalk unpacks the bundle and validates .ebextensions now,
  # so a broken bundle fails here instead of halfway through a deployment.
  aws elasticbeanstalk create-application-version --application-name "$EB_APPLICATION" \
    --version-label "$VERSION_LABEL" --description "${VERSION_DESCRIPTION:-$VERSION_LABEL}" \
    --source-bundle "S3Bucket=$EB_VERSIONS_BUCKET,S3Key=$key" --process \
    --query 'ApplicationVersion.Status' --output text
  local waited=0 status
  while :; do
    status=$(aws elasticbeanstalk describe-application-versions \
      --application-name "$EB_APPLICATION" --version-labels "$VERSION_LABEL" \
      --query 'ApplicationVersions[0].Status' --output text)
    case $status in
      PROCESSED) echo "version $VERSION_LABEL processed"; return 0 ;;
      FAILED) fail "Elastic Beanstalk could not process version $VERSION_LABEL" ;;
    esac
    [ "$waited" -lt "$deploy_timeout" ] || fail "version $VERSION_LABEL still $status"
    sleep "$poll"; waited=$((waited + poll))
  done
}

update() {
  aws elasticbeanstalk update-environment --environment-name "$EB_ENVIRONMENT" \
    --version-label "$VERSION_LABEL" --query 'Status' --output text
}

wait_ready() {
  local waited=0 state status health label cname
  while :; do
    state=$(describe); read -r status health label cname <<<"$state"
    echo "environment $EB_ENVIRONMENT: $status, $health, version $label"
    [ "$status" = Ready ] && return 0
    [ "$waited" -lt "$deploy_timeout" ] || fail "$EB_ENVIRONMENT not Ready after ${waited}s"
    sleep "$poll"; waited=$((waited + poll))
  done
}

# The deployment counts only if the environment runs this version, is Green, and the app
# says it is ready (database reachable, migrations applied).
confirm() {
  local waited=0 state status health label cname url code
  state=$(describe); read -r status health label cname <<<"$state"
  [ "$label" = "$VERSION_LABEL" ] ||
    fail "$EB_ENVIRONMENT runs version '$label', not '$VERSION_LABEL' (rolled back?)"
  url="${APP_URL:-http://$cname}"
  url="${url%/}/readyz"
  while :; do
    state=$(describe); read -r status health label cname <<<"$state"
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$url" || true)
    echo "environment $EB_ENVIRONMENT: $status, $health; GET $url: $code"
    if [ "$status" = Ready ] && [ "$health" = Green ] && [ "$code" = 200 ]; then
      echo "deployed $VERSION_LABEL to $EB_ENVIRONMENT: Green, /readyz 200"
      return 0
    fi
    [ "$waited" -lt "$health_timeout" ] ||
      fail "$EB_ENVIRONMENT is $status/$health and $url answers $code after ${waited}s"
    sleep "$poll"; waited=$((waited + poll))
  done
}

[ $# -gt 0 ] || { echo "usage: $0 upload|create-version|update|wait|confirm|all..." >&2; exit 2; }
for step in "$@"; do
  case $step in
    upload) upload ;;
    create-version) create_version ;;
    update) update ;;
    wait) wait_ready ;;
    confirm) confirm ;;
    all) upload; create_version; update; wait_ready; confirm ;;
    *) echo "eb_deploy: unknown step '$step'" >&2; exit 2 ;;
  esac
done
