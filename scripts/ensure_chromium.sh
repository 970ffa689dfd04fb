#!/usr/bin/env bash
# The browser tests (tests/e2e) drive Debian's Chromium at /usr/bin/chromium through
# Playwright; Playwright's own browser download is never used. Install it when missing
# (needs root and apt); otherwise say what to do.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Chromium for the browser tests (apt-get install -y chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests (tests/e2e)." >&2
exit 0  # the browser test itself fails with the same advice; the other tests still run
