"""Helpers for tests that start real processes: free ports, waiting, and clean shutdown."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def database_url() -> str:
    """DATABASE_URL of the test database, for the processes (servers, workers) a test starts."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def start_gunicorn(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """gunicorn with the project's config in a process group of its own (end it with
    stop_group), its output in log_path."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "mlsite/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_http(url: str, deadline_s: float, proc: subprocess.Popen | None = None) -> float:
    """Poll url until it answers 200; return the seconds it took. Fails if proc dies."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if http_get(url, timeout=2)[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer 200 within {deadline_s} s")


def stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """End a process started with start_new_session=True, and its children, by its id."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def set_production_password(user, raw_password: str) -> None:
    """Store a password that production's hashers verify, for a user who signs in to a
    server a test starts: the tests' own hasher (MD5, tests/conftest.py) is not among them."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(raw_password, hasher.salt())
    user.save(update_fields=["password"])
