#!/usr/bin/env bash
# `make run`: migrate the database, make sure someone can sign in, start a task worker,
# and serve the app on http://127.0.0.1:$PORT (gunicorn; runserver when DJANGO_DEBUG=1).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
port=${PORT:-8000}
var=${MLSERVE_VAR_DIR:-var}
mkdir -p "$var"
export MLSERVE_VAR_DIR=$var

if [ -z "${DJANGO_SECRET_KEY:-}" ] && [ -z "${DJANGO_SECRET_KEY_FILE:-}" ]; then
  # A key of this machine's own, made once and kept (git-ignored) so sessions survive restarts.
  if [ ! -s "$var/secret_key" ]; then
    (umask 077 && "$py" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$var/secret_key")
  fi
  export DJANGO_SECRET_KEY_FILE=$var/secret_key
fi

"$py" manage.py migrate --noinput -v 0
"$py" manage.py collectstatic --noinput -v 0
"$py" manage.py ensure_local_admin
if "$py" manage.py help load_demo >/dev/null 2>&1 && [ "${MLSERVE_DEMO:-1}" != "0" ]; then
  "$py" manage.py load_demo
fi

"$py" manage.py db_worker --interval 0.5 --no-reload &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM

echo
echo "  ML Serving is running at http://127.0.0.1:${port}/   (Ctrl-C stops it)"
echo
if [ "${DJANGO_DEBUG:-0}" = "1" ]; then
  "$py" manage.py runserver "127.0.0.1:${port}"
else
  GUNICORN_BIND="127.0.0.1:${port}" .venv/bin/gunicorn -c mlsite/gunicorn.conf.py
fi
