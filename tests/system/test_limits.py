"""Limits, against a real gunicorn server on 127.0.0.1, spoken to over raw sockets.

Bodies over the limits are refused before they are read whole; hostile JSON, 10,000
columns, bad Content-Lengths and chunked bodies are refused cleanly (problem+json under
/api/, an HTML page elsewhere); nothing is saved, nothing answers 5xx, and the server
stays up.
"""

import http.client
import itertools
import json
import os
import re
import select
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import install_churn, registry_state
from tests.helpers import (
    database_url,
    free_port,
    http_get,
    start_gunicorn,
    stop_group,
    wait_for_http,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.system]

LIMIT_MB = 1
MAX_PREDICT_ROWS = 50
HANG_S = 5.0  # an answer slower than this is a hang (socket timeout)
NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
ROW = [3, 95.0, "month-to-month", "fiber", 4]
CSV_ROW = "3,95.0,month-to-month,fiber,4"
GB = 1024**3
_TEST_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class Server:
    port: int
    proc: subprocess.Popen
    log: Path


@dataclass(frozen=True)
class Live:
    """The server, and this test's model and token in its database."""

    server: Server
    token: str
    model: str

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def predict(self) -> str:
        return f"/api/v1/models/{self.model}/predict"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """gunicorn (2 workers) on the test database, with low limits; stopped by process id."""
    port = free_port()
    log = tmp_path_factory.mktemp("limits") / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "MLSERVE_MAX_UPLOAD_MB": str(LIMIT_MB),
        "MLSERVE_MAX_PREDICT_ROWS": str(MAX_PREDICT_ROWS),
        "PYTHONUNBUFFERED": "1",
    }
    proc = start_gunicorn(env, log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", deadline_s=60, proc=proc)
        yield Server(port=port, proc=proc, log=log)
    finally:
        stop_group(proc)


@pytest.fixture
def live(server, transactional_db, owner) -> Live:
    # A model name of its own per test: the server caches name -> version for a second,
    # and each test's database is new.
    world = install_churn(owner, model=f"churn-{next(_TEST_NUMBERS)}")
    return Live(server=server, token=world.token, model=world.model)


@pytest.fixture
def state(live):
    return registry_state


# Speaking HTTP over a raw socket ----------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float
    sent: int  # body bytes the server let us send before it answered

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def exchange(
    live: Live,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    *,
    stream: int = 0,
) -> Answer:
    """Send the head and `body`, then up to `stream` filler bytes, stopping as soon as the
    server answers; read the whole answer. Headers are sent exactly as given. An answer
    slower than HANG_S fails the test (socket timeout): waiting for a body is a hang."""
    path = path.replace("{model}", live.model)
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=HANG_S)
    started = time.monotonic()
    try:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines.append(f"Authorization: Bearer {live.token}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sent, filler = 0, b"1,2\n" * 16384
        while sent < stream:
            readable, writable, _ = select.select([sock], [sock], [], HANG_S)
            if readable or not writable:
                break  # the server answered (or stopped reading): stop sending
            try:
                sent += sock.send(filler[: stream - sent])
            except OSError:  # it closed the connection after answering
                break
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        content = response.read()
        return Answer(response.status, response.headers, content, time.monotonic() - started, sent)
    finally:
        sock.close()


def post(live: Live, path: str, body: bytes, content_type: str, **kwargs) -> Answer:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    return exchange(live, "POST", path, headers, body, **kwargs)


def assert_problem(answer: Answer, status: int, detail: str = "") -> dict:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.content_type == "application/problem+json", answer.content_type
    problem = json.loads(answer.body)
    assert problem["status"] == status
    assert detail in problem["detail"], problem
    return problem


def assert_page(answer: Answer, status: int) -> None:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.content_type.startswith("text/html"), answer.content_type
    assert b"<html" in answer.body.lower()


def assert_still_serving(live: Live) -> None:
    assert live.server.proc.poll() is None, "gunicorn exited"
    assert http_get(f"http://127.0.0.1:{live.port}/healthz")[0] == 200
    log = live.server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert not re.search(r'HTTP/1\.1" 5\d\d ', log), log[-3000:]


def csv_bytes(header: list[str], rows: list[str]) -> bytes:
    return ("\n".join([",".join(header), *rows]) + "\n").encode()


# Bodies over the limits -------------------------------------------------------------------
# Each test runs its cases as subtests: one database and model per behaviour, not per case.


def test_it_answers_a_1_gb_content_length_with_a_413_at_once(live, state, subtests):
    before = state()
    for path, content_type in [
        ("/api/v1/datasets", "text/csv"),
        ("/api/v1/models/{model}/predict", "application/json"),
        ("/datasets/upload/", "multipart/form-data; boundary=x"),
    ]:
        with subtests.test(path=path):
            headers = {"Content-Type": content_type, "Content-Length": str(GB)}
            answer = exchange(live, "POST", path, headers, b"a,b\n1,2\n")  # the rest never comes
            print(
                f"\n1 GB Content-Length to {path}: {answer.status} in {answer.seconds * 1e3:.1f} ms"
            )
            if path.startswith("/api/"):
                assert_problem(answer, 413, f"the limit is {LIMIT_MB} MB")
            else:
                assert_page(answer, 413)
            assert answer.headers["Connection"] == "close"  # the unread body is no next request
    assert state() == before
    assert_still_serving(live)


def test_it_refuses_an_upload_over_the_limit_before_reading_it_whole(live, state, subtests):
    before, total = state(), 50 * 1024 * 1024
    for content_type in ["text/csv", "multipart/form-data; boundary=----hostile"]:
        with subtests.test(content_type=content_type):
            headers = {"Content-Type": content_type, "Content-Length": str(total)}
            answer = exchange(live, "POST", "/api/v1/datasets", headers, stream=total)
            print(f"\n50 MB upload: {answer.status} after {answer.sent / 1e6:.1f} MB sent")
            assert_problem(answer, 413, "MLSERVE_MAX_UPLOAD_MB")
            assert answer.sent < total / 2  # answered long before the body was read
    assert state() == before
    assert_still_serving(live)


def test_it_refuses_a_file_just_over_the_limit_with_413_and_saves_nothing(live, state):
    before = state()
    rows = [CSV_ROW] * (LIMIT_MB * 1024 * 1024 // len(CSV_ROW) + 200)
    data = csv_bytes(NAMES, rows)  # over the limit, within the slack for multipart framing
    assert LIMIT_MB * 1024 * 1024 < len(data) < LIMIT_MB * 1024 * 1024 + 64 * 1024
    assert_problem(post(live, "/api/v1/datasets", data, "text/csv"), 413, "the limit is 1 MB")
    boundary = "----hostile"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = post(live, "/api/v1/datasets", multipart, f"multipart/form-data; boundary={boundary}")
    assert_problem(answer, 413, "larger than 1 MB")
    assert state() == before
    assert_still_serving(live)


_TOO_MANY = MAX_PREDICT_ROWS + 1
_ROWS_OVER_THE_LIMIT = {
    "instances": {"instances": [ROW] * _TOO_MANY},
    "records": {"dataframe_records": [dict(zip(NAMES, ROW, strict=True))] * _TOO_MANY},
    "split": {"dataframe_split": {"columns": NAMES, "data": [ROW] * _TOO_MANY}},
    "columnar": {"inputs": {name: [ROW[i]] * _TOO_MANY for i, name in enumerate(NAMES)}},
    "csv": csv_bytes(NAMES, [CSV_ROW] * _TOO_MANY),
}


def test_it_refuses_more_rows_than_max_predict_rows_with_413(live, subtests):
    for shape, body in _ROWS_OVER_THE_LIMIT.items():
        with subtests.test(shape=shape):
            if isinstance(body, bytes):
                answer = post(live, live.predict, body, "text/csv")
            else:
                answer = post(live, live.predict, json.dumps(body).encode(), "application/json")
            assert_problem(answer, 413, "MLSERVE_MAX_PREDICT_ROWS")
    at_the_limit = json.dumps({"instances": [ROW] * MAX_PREDICT_ROWS}).encode()
    answer = post(live, live.predict, at_the_limit, "application/json")
    assert answer.status == 200, answer.body[:300]
    assert len(json.loads(answer.body)["predictions"]) == MAX_PREDICT_ROWS
    assert_still_serving(live)


# Hostile JSON -----------------------------------------------------------------------------

_HOSTILE_VALUES = {
    "nested 10,000 arrays": "[" * 10_000 + "]" * 10_000,
    "nested 10,000 objects": '{"a": ' * 10_000 + "1" + "}" * 10_000,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e999": "1e999",
    "5000-digit integer": "9" * 5000,
}
_JSON_ENDPOINTS = [  # method, path, body around the hostile value
    ("POST", "/api/v1/models/{model}/predict", '{"instances": [[%s, 95.0, "dsl", "fiber", 4]]}'),
    ("POST", "/api/v1/models/{model}/versions/1/predict", '{"inputs": [[4, %s, "a", "b", 4]]}'),
    ("POST", "/api/v1/models", '{"name": "x", "dataset": 1, "algorithm": "lr", "test_size": %s}'),
    ("PUT", "/api/v1/models/{model}/aliases/staging", '{"version": %s}'),
]


def test_it_refuses_hostile_json_with_a_clear_400(live, state, subtests):
    before = state()
    for kind, value in _HOSTILE_VALUES.items():
        for method, path, template in _JSON_ENDPOINTS:
            with subtests.test(kind=kind, path=path):
                text = (template % value).encode()
                headers = {"Content-Type": "application/json", "Content-Length": str(len(text))}
                assert_problem(exchange(live, method, path, headers, text), 400, "not valid JSON")
    assert state() == before
    assert_still_serving(live)


# 10,000 columns ---------------------------------------------------------------------------

WIDE = [f"c{i}" for i in range(10_000)]


def test_it_refuses_10000_columns_in_uploads_and_predictions(live, state):
    before = state()
    row = ",".join(["1"] * len(WIDE))
    upload = post(live, "/api/v1/datasets", csv_bytes(WIDE, [row] * 3), "text/csv")
    assert_problem(upload, 413, "10000 columns; the limit is 1000")
    wide_rows = [CSV_ROW + "," + row] * 3
    answer = post(live, live.predict, csv_bytes(NAMES + WIDE, wide_rows), "text/csv")
    assert_problem(answer, 413, "10005 columns; the limit is 1000")
    header_only = post(live, live.predict, csv_bytes(NAMES + WIDE, []), "text/csv")
    assert_problem(header_only, 413, "the limit is 1000")
    # Keys the model does not take are ignored, but a row is no wider than a CSV header.
    split = {"dataframe_split": {"columns": NAMES + WIDE, "data": [ROW + [1] * len(WIDE)]}}
    answer = post(live, live.predict, json.dumps(split).encode(), "application/json")
    assert_problem(answer, 413, "10005 columns; the limit is 1000")
    record = {**dict(zip(NAMES, ROW, strict=True)), **dict.fromkeys(WIDE, 1)}
    body = json.dumps({"instances": [record]}).encode()
    answer = post(live, live.predict, body, "application/json")
    assert_problem(answer, 413, "10005 columns; the limit is 1000")
    columnar = {"inputs": {name: [value] for name, value in record.items()}}
    answer = post(live, live.predict, json.dumps(columnar).encode(), "application/json")
    assert_problem(answer, 413, "10005 columns; the limit is 1000")
    assert state() == before
    assert_still_serving(live)


# Framing: Content-Length, chunked bodies, the address -------------------------------------


def test_it_refuses_a_malformed_content_length(live, state, subtests):
    """gunicorn refuses these itself, before any application code, with a 400 HTML page;
    a well-formed length too large for any integer type reaches the app: 413."""
    before = state()
    for length in ["abc", "-1", "1, 2", "0x10", ""]:
        with subtests.test(length=length):
            headers = {"Content-Type": "text/csv", "Content-Length": length}
            answer = exchange(live, "POST", "/api/v1/datasets", headers, b"a,b\n1,2\n3,4\n")
            assert answer.status == 400, answer.body[:300]
            assert answer.headers["Connection"] == "close"
    headers = {"Content-Type": "text/csv", "Content-Length": "9" * 40}
    answer = exchange(live, "POST", "/api/v1/datasets", headers, b"a,b\n1,2\n3,4\n")
    assert_problem(answer, 413, "MLSERVE_MAX_UPLOAD_MB")
    assert state() == before
    assert_still_serving(live)


def test_it_refuses_a_chunked_body_without_a_length_with_411(live, state, subtests):
    before = state()
    for path, chunks in [
        ("/api/v1/datasets", b"8\r\na,b\n1,2\n\r\n4\r\n3,4\n\r\n0\r\n\r\n"),
        ("/api/v1/models/{model}/predict", b"5\r\n[1, 2\r\n"),  # never finished
        ("/datasets/upload/", b"8\r\na,b\n1,2\n\r\n"),
    ]:
        with subtests.test(path=path):
            headers = {"Content-Type": "text/csv", "Transfer-Encoding": "chunked"}
            answer = exchange(live, "POST", path, headers, chunks)
            if path.startswith("/api/"):
                assert_problem(answer, 411, "Content-Length")
            else:
                assert_page(answer, 411)
            assert answer.headers["Connection"] == "close"
    assert state() == before
    assert_still_serving(live)


def test_it_refuses_a_nul_in_the_address_with_400(live, state, subtests):
    """PostgreSQL cannot compare text holding a NUL: such a name must not reach a query."""
    before = state()
    body = json.dumps({"instances": [ROW]}).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    for method, path in [
        ("GET", "/api/v1/models/churn%00"),
        ("POST", "/api/v1/models/{model}/predict?alias=prod%00"),
        ("DELETE", "/api/v1/models/{model}/aliases/%00"),
        ("GET", "/models/churn%00/"),
    ]:
        with subtests.test(method=method, path=path):
            answer = exchange(live, method, path, headers, body)
            if path.startswith("/api/"):
                assert_problem(answer, 400, "NUL")
            else:
                assert_page(answer, 400)
    assert state() == before
    assert_still_serving(live)


def test_it_answers_a_wrong_method_or_path_in_the_format_of_its_part(live, subtests):
    """problem+json everywhere under /api/ (not ninja's plain text nor Django's HTML page)."""
    for method, path, status in [
        ("DELETE", "/api/v1/algorithms", 405),
        ("PUT", "/api/v1/models/{model}/predict", 405),
        ("GET", "/api/v1/no-such-operation", 404),
        ("POST", "/api/v1/", 404),
        ("GET", "/no-such-page/", 404),
    ]:
        with subtests.test(method=method, path=path):
            answer = exchange(live, method, path, {"Content-Length": "0"})
            if path.startswith("/api/"):
                assert_problem(answer, status)
                if status == 405:
                    assert answer.headers["Allow"]
            else:
                assert_page(answer, status)
    assert_still_serving(live)
