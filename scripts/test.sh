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
if [ "$#" -gt 0 ]; then  # a chosen selection runs as given
    exec "$uv" run --frozen pytest "$@"
fi
# Everything, in three parts (the markers are in pyproject.toml): the in-process tests spread
# over the cores, as `make test-fast` runs them; the tests that start processes but measure
# nothing of them (system_parallel), two at a time; then, one at a time, the tests that start
# servers, workers and browsers and measure time and memory of the processes they start,
# which would disturb each other.
status=0
"$uv" run --frozen pytest -n auto -m "not browser and not system and not deploy" || status=$?
"$uv" run --frozen pytest -n 2 -m "system_parallel" || status=$?
"$uv" run --frozen pytest -m "(browser or system or deploy) and not system_parallel" || status=$?
exit "$status"
