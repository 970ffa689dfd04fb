#!/usr/bin/env bash
# Offline static checks of the infrastructure code, run from their own environment
# (tools/iac: checkov brings an `hcl2` module that clashes with the app's python-hcl2):
#   checkov  terraform/ (--skip-download: no network), every check passes or is skipped
#            inline with its reason;
#   zizmor   .github/workflows/ (--offline), no findings.
# Usage: scripts/iac_check.sh [checkov] [zizmor]   (both by default). `make iac-check`;
# tests/deploy runs each one in `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS=never
# Run from `uv run` (make test), VIRTUAL_ENV names the app's environment, not this one.
unset VIRTUAL_ENV
"$uv" sync --frozen --project tools/iac --quiet
bin=tools/iac/.venv/bin

run_checkov() {
  echo "== checkov: terraform/"
  "$bin/checkov" --directory terraform --framework terraform --skip-download \
    --compact --output cli
}

run_zizmor() {
  echo "== zizmor: .github/workflows/"
  "$bin/zizmor" --offline --no-progress .github/workflows/
}

status=0
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(checkov zizmor)
for check in "${checks[@]}"; do
  case $check in
    checkov) run_checkov || status=1 ;;
    zizmor) run_zizmor || status=1 ;;
    *) echo "iac_check: unknown check '$check' (checkov, zizmor)" >&2; exit 2 ;;
  esac
done
exit $status
