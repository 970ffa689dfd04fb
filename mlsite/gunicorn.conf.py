"""gunicorn settings, all overridable from the environment."""

import os
from typing import Any

_host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104  (inside a container or VM behind a proxy)
bind = os.environ.get("GUNICORN_BIND", f"{_host}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# sync, by measurement (benchmarks/README.md, bench_peers.py): gthread's kept-alive
# connections did not lower the CPU per request, and its threads share one GIL (a worse p99).
# A sync worker serves one request at a time on its main thread, which the per-request
# deadline needs (post_worker_init); the variables are there to measure others.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
wsgi_app = "mlsite.wsgi:application"
# One line per request, the app's (mlsite/middleware.py RequestLogMiddleware: method, path,
# status, duration, client address; it also runs under runserver and in tests). gunicorn's
# access log would write each request a second time; GUNICORN_ACCESSLOG=- turns it back on.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# %(M)s is the request duration in milliseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 25 opens a control socket at one fixed path per user; we do not use it, and
# several servers on one machine (tests, benchmarks) would fight over that path.
control_socket_disable = True


# Prometheus metrics from every worker (registry/monitoring/metrics.py). Each worker writes
# its values to files in PROMETHEUS_MULTIPROC_DIR and /metrics adds them up; the variable
# must be set before a worker imports prometheus_client, so it is set here, in the master,
# before any fork. By
# default each master gets a fresh directory of its own under MLSERVE_VAR_DIR/prometheus
# (two servers sharing a var directory must not mix or wipe each other's files); an explicit
# PROMETHEUS_MULTIPROC_DIR is emptied at start instead.
def on_starting(server: Any) -> None:
    import shutil
    from pathlib import Path

    explicit = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if explicit:
        path = Path(explicit)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        root = Path(__file__).resolve().parent.parent
        parent = Path(os.environ.get("MLSERVE_VAR_DIR") or root / "var")
        if not parent.is_absolute():
            parent = root / parent
        parent = parent / "prometheus"
        parent.mkdir(parents=True, exist_ok=True)
        for old in parent.glob("gunicorn-*"):  # left by masters that are gone
            if not _alive(old.name.removeprefix("gunicorn-")):
                shutil.rmtree(old, ignore_errors=True)
        path = parent / f"gunicorn-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    server.log.info("prometheus metrics in %s", path)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def post_fork(server: Any, worker: Any) -> None:
    """Cap this web worker's address space at MLSERVE_WEB_MAX_MEMORY_MB (RLIMIT_AS): a
    request that would need more gets a MemoryError, answered 503 (mlsite/errors.py), and
    the worker goes on serving; without it one request can take every worker's memory."""
    import resource

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
    from django.conf import settings

    limit_mb = settings.MLSERVE_WEB_MAX_MEMORY_MB
    if limit_mb:
        limit = limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        server.log.info("worker %s: address space capped at %s MB", worker.pid, limit_mb)


def post_worker_init(worker: Any) -> None:
    """Arm the per-request deadline (mlsite/errors.py) in a sync worker: a request still
    running after MLSERVE_REQUEST_DEADLINE_S gets a 503 problem before `timeout` kills the
    worker. The interrupted worker then finishes that answer and is replaced."""
    import gc

    from django.conf import settings
    from gunicorn.workers.sync import SyncWorker

    from mlsite.errors import deadline

    # Everything loaded so far (Django, numpy, the app) lives as long as the worker: out of
    # the collector's reach, a full collection walks only what requests made since, not the
    # whole heap (benchmarks/README.md, the prediction log and the collector).
    gc.freeze()
    if isinstance(worker, SyncWorker):  # one request at a time, on the main thread
        deadline.enable(
            settings.MLSERVE_REQUEST_DEADLINE_S, lambda: setattr(worker, "alive", False)
        )


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: drop its live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """A worker stops (restart, deploy): write its waiting prediction-log rows first."""
    import sys

    predlog = sys.modules.get("registry.monitoring.predlog")
    if predlog is None:
        return
    try:
        predlog.writer().stop()
    except Exception as exc:  # a log row is not worth a failed shutdown
        server.log.warning("prediction log not flushed at exit: %s", exc)
