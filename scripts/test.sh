#!/usr/bin/env bash
# Lint, then the whole test suite. DATABASE_URL picks the database (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || echo .tools/bin/uv)
"$uv" run --frozen ruff check .
"$uv" run --frozen ruff format --check .
"$uv" run --frozen pytest "$@"
