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
import socket
import time

import pytest

from registry.models import ModelVersion
from tests.helpers import database_url, free_port, start_gunicorn, stop_group, wait_for_http

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

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


def test_it_answers_an_unhandled_exception_on_the_api_with_a_500_problem(server):
    port, token, _, _ = server
    # A damaged artifact fails its integrity check (ArtifactError: a server fault).
    ModelVersion.objects.filter(model__name="churn", version=1).update(artifact=b"damaged")
    body = json.dumps({"instances": [ROW]}).encode()
    for headers in both_stacks(token):
        problem = assert_problem(*call(port, "POST", PREDICT, body, headers), 500)
        assert problem["type"] == "/api/v1/problems/server-error"
    # A row that no longer fits the answer's schema fails in ninja's own route.
    ModelVersion.objects.filter(model__name="churn", version=1).update(status="bogus")
    bearer = {"Authorization": f"Bearer {token}"}
    assert_problem(*call(port, "GET", "/api/v1/models/churn/versions/1", None, bearer), 500)


def slow_client(port, token, cookie: str | None) -> tuple[float, int, dict, bytes]:
    """A prediction whose client sends half its body and then waits: the worker reads on."""
    body = json.dumps({"instances": [ROW] * 50}).encode()
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "Connection: close\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=GUNICORN_TIMEOUT + 10) as sock:
        sock.sendall(head.encode() + body[: len(body) // 2])
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = response.read()
    return time.monotonic() - started, response.status, dict(response.headers), answer


def test_a_request_past_the_deadline_gets_a_503_problem_before_gunicorns_timeout(server):
    port, token, proc, log = server
    for cookie in (None, "theme=dark"):  # the token stack, then the full stack
        elapsed, status, headers, answer = slow_client(port, token, cookie)
        problem = assert_problem(status, headers, answer, 503)
        assert "MLSERVE_REQUEST_DEADLINE_S" in problem["detail"]
        assert headers.get("Retry-After")
        # Answered at the deadline, not when gunicorn would kill the worker.
        assert DEADLINE_S <= elapsed < GUNICORN_TIMEOUT, elapsed
        print(f"deadline {DEADLINE_S} s: 503 after {elapsed:.2f} s (cookie={cookie!r})")
        # The interrupted worker is replaced; the server answers the next request.
        wait_for_http(f"http://127.0.0.1:{port}/healthz", 30, proc)
    text = log.read_text()
    assert "WORKER TIMEOUT" not in text
    assert text.count("request deadline") >= 2, text[-3000:]
