"""`make run` on its own: migrates, creates a local admin, starts a worker and gunicorn."""

import os
import subprocess
import time

import pytest

from tests.helpers import ROOT, free_port, http_get, stop_group, wait_for_http

pytestmark = pytest.mark.system


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"PORT": str(port), "MLSERVE_VAR_DIR": str(tmp_path / "var"), "MLSERVE_DEMO": "0"})
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    yield proc, port, tmp_path, log, started
    stop_group(proc)
    log.close()


def test_it_serves_healthz_and_readyz_within_90_seconds(make_run):
    proc, port, tmp_path, log, started = make_run
    wait_for_http(
        f"http://127.0.0.1:{port}/healthz", deadline_s=90 - (time.monotonic() - started), proc=proc
    )
    assert http_get(f"http://127.0.0.1:{port}/readyz") == (
        200,
        {"status": "ok", "database": "sqlite"},
    )

    log.flush()
    output = (tmp_path / "run.log").read_text()
    assert f"http://127.0.0.1:{port}/" in output
    assert "Sign in as 'admin' with password" in output
    # One line per request, the app's (with its duration and the client's address), not
    # gunicorn's access log as well.
    assert "mlsite.requests GET /healthz 200 " in output
    assert 'GET /healthz HTTP/1.1"' not in output
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "var" / "mlserving.sqlite3").exists()
    # The task worker runs beside the web server.
    workers = subprocess.run(
        ["pgrep", "-f", "-s", str(proc.pid), "db_worker"], capture_output=True, text=True
    )
    assert workers.stdout.strip(), "no db_worker process in the make run session"
