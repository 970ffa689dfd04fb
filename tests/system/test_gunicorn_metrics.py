"""Under gunicorn (2 workers, mlsite/gunicorn.conf.py as in `make run` and the Procfile):
each worker writes its metrics to its own files, /metrics adds them up, a killed worker's
counters stay counted and its live gauges go, and the workers write the prediction log."""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from registry.models import PredictionLog
from registry.tokens import token_create
from tests.helpers import database_url, free_port, start_gunicorn, stop_group, wait_for_http
from tests.registry.monitoring.conftest import CHURN_ROW, parse, value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

N_REQUESTS = 40


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children)


@pytest.fixture
def server(tmp_path, transactional_db):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MLSERVE_VAR_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "MLSERVE_MANIFEST_STATIC": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = start_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
        yield proc, port, tmp_path
    finally:
        stop_group(proc)
        if os.environ.get("OPS_SHOW_LOGS"):
            print((tmp_path / "gunicorn.log").read_text()[-5000:])


def call(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:  # one connection per request (Connection: close): the workers share them out
        connection.request(
            method, path, body=body, headers={"Connection": "close", **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def scrape(port: int) -> dict:
    status, body = call(port, "GET", "/metrics")
    assert status == 200, body[:300]
    return parse(body.decode())


def requests_per_file(directory: Path) -> dict[str, float]:
    """mlserve_prediction_requests_total of churn v1 in each worker's own counter file."""
    found = {}
    for path in directory.glob("counter_*.db"):
        total = 0.0
        for key, amount, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            _family, sample, labels, *_ = json.loads(key)
            if sample == "mlserve_prediction_requests_total" and labels.get("model") == "churn":
                total += amount
        found[path.name] = total
    return found


def test_workers_metrics_add_up_and_survive_a_killed_worker(server, owner, churn):
    proc, port, var_dir = server
    directory = var_dir / "prometheus" / f"gunicorn-{proc.pid}"
    assert directory.is_dir(), list((var_dir / "prometheus").iterdir())
    token = token_create(user=owner, name="ops")[1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"instances": [CHURN_ROW]}).encode()

    sent = 0
    with ThreadPoolExecutor(8) as pool:  # concurrent: both sync workers take requests
        for _ in range(10):  # which worker accepts is the kernel's choice: until both have
            statuses = list(
                pool.map(
                    lambda _: call(port, "POST", "/api/v1/models/churn/predict", body, headers)[0],
                    range(N_REQUESTS),
                )
            )
            assert statuses == [200] * N_REQUESTS
            sent += N_REQUESTS
            per_file = requests_per_file(directory)
            if sum(1 for n in per_file.values() if n) == 2:
                break
    print(f"\nrequests per worker file: {per_file}")
    assert sum(per_file.values()) == sent
    assert sum(1 for n in per_file.values() if n) == 2  # each worker counted its own

    samples = scrape(port)
    churn_v1 = {"model": "churn", "version": "1"}
    assert value(samples, "mlserve_prediction_requests_total", **churn_v1) == sent
    assert value(samples, "mlserve_predicted_rows_total", **churn_v1) == sent
    assert value(samples, "mlserve_prediction_latency_seconds_count", **churn_v1) == sent
    assert value(samples, "mlserve_model_cache_models") == 2  # loaded once in each worker
    assert value(samples, "mlserve_trainings", status="ready") == 1

    # The workers' writer threads put every request in the log (no flush asked for).
    deadline = time.monotonic() + 5
    while PredictionLog.objects.count() < sent and time.monotonic() < deadline:
        time.sleep(0.1)
    assert PredictionLog.objects.count() == sent
    assert value(scrape(port), "mlserve_prediction_log_written_total") == sent

    # kill -9 one worker: gunicorn replaces it; its counters stay in the totals, its live
    # gauge (a loaded model) goes with it (child_exit -> mark_process_dead).
    victim = workers_of(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = workers_of(proc.pid)
        if victim not in workers and len(workers) == 2:
            break
        time.sleep(0.1)
    assert victim not in workers_of(proc.pid)
    time.sleep(0.5)  # child_exit runs as the master reaps it
    samples = scrape(port)
    assert value(samples, "mlserve_prediction_requests_total", **churn_v1) == sent
    assert value(samples, "mlserve_model_cache_models") <= 1
    assert not list(directory.glob(f"gauge_livesum_{victim}.db"))
