#!/usr/bin/env bash
# Every deployment and every new instance, before container_commands (migrate,
# collectstatic) and before the app starts: write DATABASE_URL and the Django secret key
# from Secrets Manager and SSM to files only the app's user can read.
set -euo pipefail
exec "$(dirname "$0")/../../bin/mlserve-secrets"
