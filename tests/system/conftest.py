"""Real processes for the system tests: gunicorn servers and task workers on the test
database, a small JSON client, and a bounded load generator that records every response.

Every process is started in its own session and ended by its process-group id at teardown,
before pytest-django empties the test database (the fixtures depend on transactional_db).
Logs go to files under the test's tmp_path and are printed when a test fails.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import PYTHON, ROOT, database_url, free_port, stop_group, wait_for_http

GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SERVER_START_TIMEOUT_S = 60


# Processes -----------------------------------------------------------------------------


def is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def child_pids(pid: int) -> list[int]:
    """Live (not zombie) children of a process, read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            children.append(int(entry.name))
    return sorted(children)


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie (killed but not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: Callable[[], Any], timeout_s: float, message: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{message} (waited {timeout_s:g} s)")


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    env.update(extra or {})
    return env


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass
class Server:
    """One gunicorn master (its pid is proc.pid) with its sync workers, on a loopback port."""

    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return child_pids(self.proc.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Worker:
    """One `manage.py db_worker` process."""

    name: str
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is None or report.failed


def _end(procs: Sequence[subprocess.Popen]) -> None:
    for proc in procs:
        stop_group(proc, timeout=20)
        try:  # anything left in the group (a training child whose parent was killed -9)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def start_server(transactional_db, tmp_path, request):
    """start(name, workers=2, env={}) runs gunicorn with mlsite/gunicorn.conf.py on a free
    loopback port, pointed at the test database, and waits until /readyz answers 200."""
    servers: list[Server] = []

    def start(name: str = "a", *, workers: int = 2, env: dict[str, str] | None = None) -> Server:
        port = free_port()
        extra = {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            **(env or {}),
        }
        log_path = tmp_path / f"server-{name}.log"
        proc = _spawn([GUNICORN, "-c", "mlsite/gunicorn.conf.py"], _env(extra), log_path)
        server = Server(name, port, proc, log_path)
        servers.append(server)
        wait_for_http(f"{server.url}/readyz", SERVER_START_TIMEOUT_S, proc)
        wait_until(
            lambda: len(server.worker_pids()) == workers,
            SERVER_START_TIMEOUT_S,
            f"server {name} did not start its {workers} workers",
        )
        return server

    yield start
    _end([s.proc for s in servers])
    if _failed(request):
        for server in servers:
            print(f"---- server {server.name} log (tail) ----\n{server.log()[-4000:]}")


@pytest.fixture
def start_worker(transactional_db, tmp_path, request):
    """start(name, env={}) runs `manage.py db_worker` on the test database."""
    workers: list[Worker] = []

    def start(name: str = "w1", *, env: dict[str, str] | None = None) -> Worker:
        log_path = tmp_path / f"worker-{name}.log"
        command = [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"]
        worker = Worker(name, _spawn(command, _env(env), log_path), log_path)
        workers.append(worker)
        return worker

    yield start
    _end([w.proc for w in workers])
    if _failed(request):
        for worker in workers:
            print(f"---- worker {worker.name} log (tail) ----\n{worker.log()[-4000:]}")


# HTTP ----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A JSON client for one server's API v1, with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def call(self, method: str, path: str, data: Any = None, *, timeout: float = 30) -> Reply:
        parts = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}"}
        body = None
        if data is not None:
            body = data if isinstance(data, bytes) else json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, f"/api/v1{path}", body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> Reply:
        return self.call("PUT", path, data, **kwargs)

    def wait_for_version(
        self, model: str, version: int, timeout_s: float, *, until=("ready", "failed")
    ) -> dict[str, Any]:
        """Poll the version until its status is one of `until`; return its JSON."""
        seen: dict[str, Any] = {}

        def done() -> bool:
            reply = self.get(f"/models/{model}/versions/{version}")
            assert reply.status == 200, reply.body[:500]
            seen.update(reply.json())
            return seen["status"] in until

        wait_until(done, timeout_s, f"{model} v{version} did not reach {until}; last seen {seen}")
        return seen


@pytest.fixture
def token(owner) -> str:
    from registry.tokens import token_create

    return token_create(user=owner, name="hardening")[1]


# Load ----------------------------------------------------------------------------------


@dataclass
class Result:
    """One request the load generator made: when, where, and what came back."""

    server: str
    thread: int
    started: float  # time.monotonic()
    latency: float  # seconds
    status: int | None  # None: no HTTP response (connection refused, reset, timeout)
    content_type: str | None = None
    body: bytes = b""
    error: str | None = None

    @property
    def ended(self) -> float:
        return self.started + self.latency

    @property
    def ok(self) -> bool:
        return self.status == 200

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        what = self.error or f"{self.status} {self.body[:200]!r}"
        where = f"{self.server} thread {self.thread} at {self.started:.3f}"
        return f"{where} ({self.latency:.3f} s): {what}"


@dataclass
class Load:
    """A bounded load: `concurrency` threads, spread over `urls` round-robin, each POSTing
    `body` to `path` on its own keep-alive connection, back to back, until `duration_s`
    has passed or stop() is called. Every response (or connection error) is recorded;
    a failed request is never retried, so failures are counted exactly."""

    urls: Sequence[str]
    path: str
    body: bytes
    token: str
    concurrency: int = 8
    duration_s: float = 20.0
    timeout_s: float = 10.0
    results: list[Result] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.began = 0.0

    def start(self) -> Load:
        self.began = time.monotonic()
        for i in range(self.concurrency):
            thread = threading.Thread(
                target=self._run, args=(i, self.urls[i % len(self.urls)]), daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout_s + 5)
        return self.wait()

    def wait(self) -> list[Result]:
        """Wait for the load to end on its own (duration_s); return the results by start."""
        for thread in self._threads:
            thread.join(self.duration_s + self.timeout_s + 5)
        assert not any(t.is_alive() for t in self._threads), "a load thread did not stop"
        return sorted(self.results, key=lambda r: r.started)

    def _run(self, index: int, url: str) -> None:
        parts = urlsplit(url)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        deadline = self.began + self.duration_s
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=self.timeout_s
                )
            started = time.monotonic()
            try:
                conn.request("POST", self.path, body=self.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                result = Result(
                    url,
                    index,
                    started,
                    time.monotonic() - started,
                    response.status,
                    response.getheader("Content-Type"),
                    body,
                )
                if response.will_close:  # gunicorn's sync workers close after each response
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                result = Result(
                    url,
                    index,
                    started,
                    time.monotonic() - started,
                    None,
                    error=f"{type(exc).__name__}: {exc}",
                )
                conn.close()
                conn = None
            with self._lock:
                self.results.append(result)
        if conn is not None:
            conn.close()


def figures(results: Sequence[Result]) -> dict[str, Any]:
    """Counts and latencies of a load, for the printed report."""
    latencies = sorted(r.latency for r in results)
    failed = [r for r in results if not r.ok]

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {
        "requests": len(results),
        "failed": len(failed),
        "p50_ms": round(quantile(0.5) * 1000, 1),
        "p99_ms": round(quantile(0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
    }


def report(title: str, **values: Any) -> None:
    """One line of figures, shown with -s and collected for the README."""
    print(f"\n[figures] {title}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


# Data ----------------------------------------------------------------------------------


def blobs_csv(n_rows: int, n_features: int = 8, *, seed: int = 0) -> bytes:
    """A numeric CSV of two overlapping Gaussian blobs with a 0/1 label `y`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    y = rng.integers(0, 2, size=n_rows)
    X[y == 1] += 1.0
    header = ",".join([f"x{j}" for j in range(n_features)] + ["y"])
    lines = [header]
    lines += [
        ",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, y, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


CHURN_ROWS = [
    [3, 95.0, "month-to-month", "fiber", 4],
    [60, None, "two-year", "never-seen", 0],
    [24, 70.0, "one-year", "dsl", 1],
    [12, 55.5, "month-to-month", "none", 2],
]
PREDICT_BODY = json.dumps({"instances": CHURN_ROWS}).encode()


def train_through_api(
    api: Api, *, model: str, dataset: int, algorithm: str, new_model: bool, timeout_s: float = 90
) -> dict[str, Any]:
    """Queue a churn training through the API and wait (the real worker) until it is ready."""
    payload = {"dataset": dataset, "algorithm": algorithm, "target": "churned"}
    if new_model:
        reply = api.post("/models", {"name": model, **payload})
    else:
        reply = api.post(f"/models/{model}/versions", payload)
    assert reply.status == 202, reply.body[:500]
    number = reply.json()["version"]
    version = api.wait_for_version(model, number, timeout_s)
    assert version["status"] == "ready", version["error"]
    return version
