#!/usr/bin/env bash
# Lint, then the whole test suite. DATABASE_URL picks the database (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || echo .tools/bin/uv)
"$uv" run --frozen ruff check .
"$uv" run --frozen ruff format --check .
# tests/deploy runs checkov and zizmor (and reads YAML) from their own environment, tools/iac.
env -u VIRTUAL_ENV "$uv" sync --frozen --project tools/iac --quiet
# tests/e2e drives Debian's Chromium (/usr/bin/chromium): installed here when missing and root.
./scripts/ensure_chromium.sh
"$uv" run --frozen pytest "$@"
