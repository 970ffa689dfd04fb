#!/usr/bin/env bash
# A configuration deployment (changed environment properties) may point at other
# secrets: rewrite the DATABASE_URL and Django secret key files before the app restarts.
set -euo pipefail
exec "$(dirname "$0")/../../bin/mlserve-secrets"
