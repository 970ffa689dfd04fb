"""Faults: processes killed mid-work, the database stopped under load, trainings that run out
of memory or time. Real gunicorn servers and task workers on the test database.

The PostgreSQL outage test stops and restarts this machine's PostgreSQL cluster (it runs
in the PostgreSQL pass only; MLSERVE_FAULT_TESTS_PG_STOP=0 skips it, for a server other
test runs are using at the same time).
"""

import contextlib
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connections

from registry import services
from registry.models import ModelVersion
from registry.training import PROGRESS_FIT_START
from tests.conftest import demo_bytes, without_ids
from tests.helpers import PYTHON, ROOT
from tests.system.conftest import (
    PREDICT_BODY,
    Api,
    Load,
    Result,
    blobs_csv,
    child_pids,
    figures,
    is_postgres,
    is_running,
    report,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PREDICT = "/api/v1/models/churn/predict"
# A Gaussian mixture of 10 components on 40,000 rows, run for all its 100 iterations
# (tol is tiny): ~10 s on one core, reporting progress after every iteration.
SLOW_TRAINING = {
    "algorithm": "gmm",
    "params": {"n_components": 10, "max_iter": 100, "tol": 1e-12},
    "features": [f"x{j}" for j in range(8)],
}
# The reaper's settings, short so that a lost training is noticed within seconds.
QUICK_REAPER = {"MLSERVE_STALE_TRAINING_S": "5", "MLSERVE_REAP_INTERVAL_S": "1"}
RECOVERY_DEADLINE_S = 120  # the issue: failed or ready "within 2 minutes"
MAX_LATENCY_S = 5.0  # the issue: while the database is down, "no hang past 5 s"
RECOVERY_S = 5.0  # "the servers recover by themselves": requests succeed within 5 s
OUTAGE_S = 10.0  # the issue: "PostgreSQL stopped for 10 s"
TIME_LIMIT_S = 3  # MLSERVE_TRAIN_TIMEOUT_S for the time-limit test


def churn_model(owner, worker) -> ModelVersion:
    """A ready logistic regression on the demo churn data (trained by the in-process worker)."""
    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    version = services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=dataset,
        algorithm="logistic_regression",
        target="churned",
    )
    worker()
    version.refresh_from_db()
    assert version.status == "ready", version.error
    return version


def queue_churn(owner, name: str) -> ModelVersion:
    """A quick training queued for the worker under test."""
    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name=name)
    return services.model_create_with_version(
        owner=owner, name=name, dataset=dataset, algorithm="logistic_regression", target="churned"
    )


def queue_slow(owner, name: str = "blobs", *, max_iter: int = 100) -> ModelVersion:
    dataset = services.dataset_create(owner=owner, data=blobs_csv(40_000), name=name)
    training = {**SLOW_TRAINING, "params": {**SLOW_TRAINING["params"], "max_iter": max_iter}}
    return services.model_create_with_version(owner=owner, name=name, dataset=dataset, **training)


def status_of(version: ModelVersion, *statuses: str) -> ModelVersion | None:
    """The version reloaded, if its status is one of `statuses`."""
    fresh = ModelVersion.objects.get(pk=version.pk)
    return fresh if fresh.status in statuses else None


def fitting(version: ModelVersion) -> ModelVersion | None:
    """The version reloaded, once it is running and its fit has reported progress."""
    fresh = status_of(version, "running", "ready", "failed")
    assert fresh is None or fresh.status == "running", (fresh.status, fresh.error)
    return fresh if fresh is not None and fresh.progress > PROGRESS_FIT_START else None


# gunicorn worker killed -----------------------------------------------------------------


def test_it_replaces_a_killed_gunicorn_worker_and_fails_at_most_its_request_in_flight(
    owner, worker, token, start_server
):
    churn_model(owner, worker)
    server = start_server("a")
    victim, survivor = server.worker_pids()
    load = Load([server.url], PREDICT, PREDICT_BODY, token, concurrency=4, duration_s=60)
    load.start()
    try:
        time.sleep(2)
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        replacement = wait_until(
            lambda: [p for p in server.worker_pids() if p not in (victim, survivor)],
            30,
            "gunicorn did not start a worker in place of the killed one",
        )
        replaced = time.monotonic()
        time.sleep(4)
    finally:
        results = load.stop()

    failed = [r for r in results if not r.ok]
    in_flight = [r for r in results if r.started <= killed <= r.ended]
    after = [r for r in results if r.started > killed]
    report(
        "gunicorn worker killed -9 under load (4 connections, 2 sync workers)",
        **figures(results),
        in_flight_at_kill=len(in_flight),
        replaced_after_s=round(replaced - killed, 2),
    )
    assert server.proc.poll() is None, "the gunicorn master died"
    assert sorted(server.worker_pids()) == sorted([survivor, *replacement])
    # A sync worker handles one request at a time: only that request may fail.
    assert len(failed) <= 1, [r.describe() for r in failed]
    assert all(r.started <= killed for r in failed), [r.describe() for r in failed]
    assert all(r.ok for r in after), [r.describe() for r in after if not r.ok][:5]
    assert sum(r.started > replaced for r in after) > 0
    for result in results:
        if result.ok:
            assert result.json()["model"] == {"name": "churn", "version": 1, "role": "champion"}


# task worker killed ---------------------------------------------------------------------


def test_it_retries_a_training_whose_worker_was_killed_and_a_new_worker_finishes_it(
    owner, start_worker
):
    first = start_worker("w1", env=QUICK_REAPER)
    version = queue_slow(owner)
    running = wait_until(lambda: fitting(version), 60, "the training did not start fitting")
    trainers = child_pids(first.pid)
    assert len(trainers) == 1, trainers  # the forked training child

    os.kill(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    first.proc.wait(10)
    # The child has PR_SET_PDEATHSIG: the kernel kills it with its parent.
    wait_until(lambda: not is_running(trainers[0]), 5, "the training child outlived its worker")
    waiting = queue_churn(owner, "churn")  # queued while no worker runs

    second = start_worker("w2", env=QUICK_REAPER)
    done = wait_until(
        lambda: status_of(version, "ready", "failed"),
        RECOVERY_DEADLINE_S,
        "the interrupted training neither failed nor became ready",
    )
    recovered = time.monotonic()
    report(
        "task worker killed -9 mid-training",
        progress_at_kill=running.progress,
        outcome=done.status,
        attempts=done.attempts,
        recovered_after_s=round(recovered - killed, 1),
    )
    # Its first attempt lost its worker, so the reaper retried it once (MAX_ATTEMPTS = 2).
    assert done.status == "ready", done.error
    assert done.attempts == 2
    assert done.metrics["cluster_sizes"]
    queued = wait_until(lambda: status_of(waiting, "ready", "failed"), 60, "the queue stalled")
    assert queued.status == "ready", queued.error
    assert second.proc.poll() is None


# a dataset deleted under a training ------------------------------------------------------


def test_it_finishes_a_training_whose_dataset_is_deleted_while_it_fits(owner, start_worker):
    # The issue: the version failed with "Dataset matching query does not exist.". Training
    # reads what it needs from the dataset (its rows and schema) when it starts.
    start_worker("w1")
    version = queue_slow(owner)
    running = wait_until(lambda: fitting(version), 60, "the training did not start fitting")
    services.dataset_delete(dataset=version.dataset, user=owner)
    done = wait_until(lambda: status_of(version, "ready", "failed"), 120, "the training ran on")
    report(
        "dataset deleted mid-training",
        progress_at_delete=running.progress,
        outcome=done.status,
        error=repr(done.error[:80]),
    )
    assert done.status == "ready", done.error
    assert done.dataset_id is None
    assert done.dataset_name == "blobs"
    assert [f["name"] for f in done.features] == SLOW_TRAINING["features"]
    assert done.profile


# trainings that run out of time or memory ------------------------------------------------


def test_it_stops_a_training_that_runs_out_of_time_and_the_worker_trains_the_next(
    owner, start_worker
):
    worker = start_worker("w1", env={"MLSERVE_TRAIN_TIMEOUT_S": str(TIME_LIMIT_S)})
    # 100 iterations take 3 to 10 s depending on the machine: 2,000 are surely past the limit.
    slow = queue_slow(owner, max_iter=2000)
    quick = queue_churn(owner, "churn")
    wait_until(lambda: status_of(slow, "running"), 60, "the training did not start")
    trainers = wait_until(lambda: child_pids(worker.pid), 10, "no training child")
    failed = wait_until(lambda: status_of(slow, "failed", "ready"), 60, "the training ran on")
    wait_until(lambda: not is_running(trainers[0]), 10, "the training child was not stopped")
    ran_s = (failed.finished_at - failed.started_at).total_seconds()
    report(
        f"training over MLSERVE_TRAIN_TIMEOUT_S={TIME_LIMIT_S}",
        stopped_after_s=round(ran_s, 2),
        error=repr(failed.error[:60]),
    )
    assert failed.status == "failed"
    # Stopped when the limit passed (give or take the kill and one write), not seconds later.
    assert TIME_LIMIT_S - 0.5 <= ran_s <= TIME_LIMIT_S + 1.0
    assert "longer than the 3 s limit (MLSERVE_TRAIN_TIMEOUT_S)" in failed.error
    assert failed.artifact_size == 0
    ready = wait_until(lambda: status_of(quick, "ready", "failed"), 60, "the next one did not run")
    assert ready.status == "ready", ready.error
    assert worker.proc.poll() is None


def training_stack_mb() -> int:
    """Virtual memory (MB) of a fresh process with the training stack loaded and BLAS
    started: what a training child holds before it allocates anything."""
    script = (
        "import django; django.setup()\n"
        "import numpy as np, registry.tasks\n"
        "registry.tasks._preload_training()\n"
        "np.ones((256, 256)) @ np.ones((256, 256))\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmSize')).split()[1])"
    )
    out = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return int(out.stdout.split()[-1]) // 1024


def ids_csv(n_rows: int = 40_000, n_ids: int = 20_000) -> bytes:
    """A numeric target and an id-like category column with n_ids distinct values: its
    one-hot encoding of the training rows is 32,000 x 20,000 doubles, about 5 GB."""
    # Shuffled: numpy 2.4's sort of StringDType arrays segfaults on some periodic inputs
    # (c00000..c19999 twice, in order), which the CSV parser sorts (reported separately).
    ids = np.random.default_rng(0).permutation(np.arange(n_rows) % n_ids)
    lines = ["customer,spend,value"]
    lines += [f"c{c:05d},{i % 97},{(i * 7) % 113}" for i, c in enumerate(ids)]
    return ("\n".join(lines) + "\n").encode()


def test_it_fails_a_training_that_runs_out_of_memory_and_the_worker_trains_the_next(
    owner, start_worker, settings
):
    # The limit caps the child's whole address space, and a forked child starts with its
    # worker's (Django, numpy, BLAS buffers: ~300 MB here, more with many cores). So the
    # limit is that footprint plus 512 MB: room for a small training, none for 5 GB.
    baseline_mb = training_stack_mb()
    limit_mb = baseline_mb + 512
    worker = start_worker("w1", env={"MLSERVE_TRAIN_MAX_MEMORY_MB": str(limit_mb)})
    # Past MLSERVE_MAX_CATEGORIES' default on purpose: this training must reach the child.
    settings.MLSERVE_MAX_CATEGORIES = 50_000
    dataset = services.dataset_create(owner=owner, data=ids_csv(), name="ids")
    big = services.model_create_with_version(
        owner=owner, name="ids", dataset=dataset, algorithm="linear_regression", target="value"
    )
    quick = queue_churn(owner, "churn")
    failed = wait_until(lambda: status_of(big, "failed", "ready"), 60, "the training ran on")
    report(
        f"training over MLSERVE_TRAIN_MAX_MEMORY_MB={limit_mb}",
        worker_footprint_mb=baseline_mb,
        error=repr(failed.error[:80]),
    )
    assert failed.status == "failed"
    assert "memory" in failed.error
    assert "MLSERVE_TRAIN_MAX_MEMORY_MB" in failed.error
    ready = wait_until(lambda: status_of(quick, "ready", "failed"), 60, "the next one did not run")
    assert ready.status == "ready", ready.error
    assert worker.proc.poll() is None


# PostgreSQL stopped ---------------------------------------------------------------------


def _pg_stop_skip_reason() -> str | None:
    if not is_postgres():
        return "stops the PostgreSQL server: PostgreSQL runs only"
    if os.environ.get("MLSERVE_FAULT_TESTS_PG_STOP", "1") == "0":
        return "MLSERVE_FAULT_TESTS_PG_STOP=0: not stopping the shared PostgreSQL server"
    if settings.DATABASES["default"]["HOST"] not in ("", "localhost", "127.0.0.1", "::1"):
        return "PostgreSQL is not on this machine: it cannot be stopped from here"
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return "no pg_ctlcluster or /etc/postgresql: cannot stop and start PostgreSQL"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "stopping PostgreSQL needs root or the postgres user"
    return None


def pg_accepts() -> bool:
    db = settings.DATABASES["default"]
    command = ["pg_isready", "-q", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    return subprocess.run(command, timeout=10).returncode == 0


@dataclass
class Outage:
    stopped: float = 0.0  # time.monotonic() when PostgreSQL had stopped
    restarting: float = 0.0  # when the start command was given
    back: float = 0.0  # when it accepted connections again


@contextlib.contextmanager
def postgresql_stopped():
    """Stop this machine's PostgreSQL cluster; start it again on the way out, whatever
    happens, and wait until it accepts connections."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    outage = Outage()
    try:
        subprocess.run([*command, "stop", "-m", "fast"], check=True, timeout=60)
        outage.stopped = time.monotonic()
        yield outage
    finally:
        outage.restarting = time.monotonic()
        # Not check=True: if the stop itself failed, "already running" must not hide why.
        subprocess.run([*command, "start"], timeout=60)
        wait_until(pg_accepts, 60, "PostgreSQL did not come back")
        outage.back = time.monotonic()
        connections.close_all()  # the test process's own connections died with the server


def probe(url: str) -> Result:
    """GET a probe URL once; like the load generator, record status, body and latency."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/readyz")
        response = conn.getresponse()
        body = response.read()
        status, content_type, error = response.status, response.getheader("Content-Type"), None
    except (OSError, http.client.HTTPException) as exc:
        body, status, content_type, error = b"", None, None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return Result(url, -1, started, time.monotonic() - started, status, content_type, body, error)


def recovered_at(results: list[Result]) -> float:
    """When the first success after the last failure ended (time.monotonic())."""
    last_failure = max((r.started for r in results if not r.ok), default=0.0)
    first_success = min(
        (r for r in results if r.ok and r.started >= last_failure), key=lambda r: r.started
    )
    return first_success.ended


def test_it_answers_503_fast_while_postgresql_is_down_and_recovers_by_itself(
    owner, worker, token, start_server
):
    reason = _pg_stop_skip_reason()
    if reason:
        pytest.skip(reason)
    churn_model(owner, worker)
    a, b = start_server("a"), start_server("b")
    expected = Api(a.url, token).post("/models/churn/predict", PREDICT_BODY).json()
    pids = {s.name: s.worker_pids() for s in (a, b)}

    # 8 connections, 4 on each server, predicting back to back through the outage.
    load = Load([a.url, b.url], PREDICT, PREDICT_BODY, token, concurrency=8, duration_s=120)
    load.start()
    probes: list[Result] = []
    try:
        time.sleep(2)
        with postgresql_stopped() as outage:
            while time.monotonic() < outage.stopped + OUTAGE_S:
                probes += [probe(f"{s.url}/readyz") for s in (a, b)]
                time.sleep(0.5)
        time.sleep(RECOVERY_S + 3)
    finally:
        results = load.stop()

    down = [r for r in results if outage.stopped <= r.started <= outage.restarting]
    recovered = {s.name: recovered_at([r for r in results if r.server == s.url]) for s in (a, b)}
    # From `pg_ctlcluster start` (PostgreSQL itself takes a moment), and from when it
    # accepted connections again (pg_isready; the servers may even be first to notice).
    after_start = {name: t - outage.restarting for name, t in recovered.items()}
    recovery = {name: max(0.0, t - outage.back) for name, t in recovered.items()}
    report(
        "PostgreSQL stopped for 10 s under load (8 connections, 2 servers)",
        **figures(results),
        during_outage=len(down),
        answered_503=sum(r.status == 503 for r in results),
        readyz_probes=len(probes),
        readyz_max_ms=round(max(p.latency for p in probes) * 1000, 1),
        pg_start_s=round(outage.back - outage.restarting, 2),
        a_ok_after_start_s=round(after_start["a"], 2),
        b_ok_after_start_s=round(after_start["b"], 2),
        a_ok_after_ready_s=round(recovery["a"], 2),
        b_ok_after_ready_s=round(recovery["b"], 2),
    )
    # /readyz says the truth while the database is down, quickly.
    assert probes
    for result in probes:
        assert result.status == 503, result.describe()
        assert result.latency < MAX_LATENCY_S, result.describe()
        body = result.json()
        assert body["status"] == "unavailable"
        assert body["reason"].startswith("database unreachable")
    # Every prediction is a whole answer or a quick 503 problem: no hang, no other error.
    for result in results:
        assert result.status in (200, 503), result.describe()
        assert result.latency < MAX_LATENCY_S, result.describe()
        if result.status == 503:
            assert result.content_type == "application/problem+json", result.describe()
            problem = result.json()
            assert problem["status"] == 503
            assert "database is unavailable" in problem["detail"]
        else:
            assert without_ids(result.json()) == without_ids(expected), result.describe()
    for server in (a, b):
        assert any(r.status == 503 and r.server == server.url for r in down), server.name
        # Recovered by itself: the same worker processes answer again, within seconds.
        assert recovery[server.name] <= RECOVERY_S, recovery
        assert server.proc.poll() is None
        assert server.worker_pids() == pids[server.name]
