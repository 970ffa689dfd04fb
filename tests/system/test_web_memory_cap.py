"""MLSERVE_WEB_MAX_MEMORY_MB caps each gunicorn worker's address space: a request that needs
more fails alone (503 problem+json), and the same worker goes on serving.

Without the cap, a body within every limit but expensive to parse (here 1.5 million rows,
54 MB, ~0.6 GB of Python objects) takes what it needs from the machine, and several at once
take it from everyone.
"""

import json
import os
from pathlib import Path

import pytest

from benchmarks.body_memory import MB, accepted_bodies, measure, worker_pids
from tests.conftest import install_churn
from tests.helpers import database_url, free_port, start_gunicorn, stop_group, wait_for_http

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.system]

CAP_MB = 400


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("memory-cap") / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "MLSERVE_WEB_MAX_MEMORY_MB": str(CAP_MB),
        "MLSERVE_MAX_UPLOAD_MB": "100",
        "MLSERVE_MAX_PREDICT_ROWS": "2000000",
        "MLSERVE_PREDICTION_LOG_RATE": "0",
        "PYTHONUNBUFFERED": "1",
    }
    proc = start_gunicorn(env, log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", deadline_s=60, proc=proc)
        yield port, proc, log
    finally:
        stop_group(proc)


def _address_space_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return line.split()[3]
    raise AssertionError("no address space line")


def test_a_request_over_the_cap_fails_alone(server, owner):
    port, proc, log = server
    world = install_churn(owner)
    path = f"/api/v1/models/{world.model}/predict"
    small = accepted_bodies(10)["instances (lists)"]
    (worker,) = worker_pids(proc.pid)
    assert measure(port, worker, path, world.token, *small).status == 200
    assert _address_space_limit(worker) == str(CAP_MB * MB)

    big = accepted_bodies(1_500_000)["instances (lists)"]
    answer = measure(port, worker, path, world.token, *big)
    print(
        f"\n{len(big[1]) / MB:.0f} MB body under a {CAP_MB} MB cap: {answer.status} in "
        f"{answer.seconds:.2f} s, worker peak +{answer.extra_bytes / MB:.0f} MB"
    )
    assert answer.status == 503
    assert answer.content_type == "application/problem+json"

    # The same worker answers the next request: only the big one failed.
    assert worker_pids(proc.pid) == [worker]
    assert measure(port, worker, path, world.token, *small).status == 200
    assert proc.poll() is None
    assert "request out of memory" in log.read_text(errors="replace")


def test_the_answer_says_what_happened(server, owner):
    import http.client

    port, _, _ = server
    world = install_churn(owner, model="churn-2")
    content_type, body = accepted_bodies(1_500_000)["instances (lists)"]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(
        "POST",
        f"/api/v1/models/{world.model}/predict",
        body=body,
        headers={"Authorization": f"Bearer {world.token}", "Content-Type": content_type},
    )
    response = connection.getresponse()
    problem = json.loads(response.read())
    connection.close()
    assert response.status == 503
    assert problem["status"] == 503
    assert "MLSERVE_WEB_MAX_MEMORY_MB" in problem["detail"]
    assert "fewer rows" in problem["detail"]
