"""A real gunicorn with DEBUG off: every error answer under /api/ is application/problem+json,
on the token prediction stack (mlsite/wsgi.py) and on the full one: rows of mixed shapes,
an unhandled exception (a tampered artifact), and a request past the per-request deadline
(a client that stops sending its body), which gets a 503 before gunicorn's own timeout
would kill the worker."""

from __future__ import annotations

import http.client
import json
import os
import secrets

import pytest

from tests.helpers import database_url, free_port, start_gunicorn, stop_group, wait_for_http

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}
POSITIONAL = list(ROW.values())
PREDICT = "/api/v1/models/churn/predict"
GUNICORN_TIMEOUT = 30
DEADLINE_S = 2


@pytest.fixture
def server(tmp_path, world):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url(),
        "MLSERVE_VAR_DIR": str(tmp_path),
        "MLSERVE_MANIFEST_STATIC": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_TIMEOUT": str(GUNICORN_TIMEOUT),
        "MLSERVE_REQUEST_DEADLINE_S": str(DEADLINE_S),
        "WEB_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = start_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
        yield port, world.token, proc, tmp_path / "gunicorn.log"
    finally:
        stop_group(proc)


def call(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GUNICORN_TIMEOUT + 10)
    try:
        connection.request(method, path, body=body, headers={"Connection": "close", **headers})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def assert_problem(status, headers, body, expected) -> dict:
    assert status == expected, body[:500]
    assert headers["Content-Type"] == "application/problem+json", body[:500]
    problem = json.loads(body)
    assert problem["status"] == expected
    assert "Traceback" not in body.decode()
    return problem


def both_stacks(token):
    """The token prediction stack (no cookie) and the full stack (any cookie)."""
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [bearer, {**bearer, "Cookie": "theme=dark"}]


@pytest.mark.parametrize("key", ["instances", "inputs", "dataframe_records"])
def test_it_answers_mixed_row_shapes_with_a_422_naming_the_row(server, key):
    port, token, _, _ = server
    body = json.dumps({key: [ROW, POSITIONAL]}).encode()
    for headers in both_stacks(token):
        problem = assert_problem(*call(port, "POST", PREDICT, body, headers), 422)
        assert problem["errors"][0]["row"] == 1, problem
