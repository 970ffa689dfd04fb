"""The token prediction stack (mlsite/wsgi.py): which requests take it, and that they are
answered exactly as the full middleware stack answers them.

Django's test client builds its own handler from settings.MIDDLEWARE, so these tests call
the WSGI application itself, the one gunicorn serves.
"""

import io
import json

import pytest

from mlsite import wsgi
from registry.tokens import token_create
from tests.conftest import without_ids

pytestmark = pytest.mark.django_db(transaction=True)

ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}
# The headers both stacks must agree on (the full stack may add Vary: Cookie).
COMPARED = (
    "Content-Type",
    "Content-Length",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Allow",
    "Connection",
)


def environ(path="/api/v1/models/churn/predict", body=b"", *, method="POST", **headers):
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    env.update({key: value for key, value in headers.items() if value is not None})
    return env


def call(env, application=None):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    chunks = (application or wsgi.application)(env, start_response)
    try:
        answer["body"] = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer


@pytest.fixture
def lanes(monkeypatch):
    """Counts of the requests each stack answered."""
    counts = {"predict": 0, "full": 0}
    application = wsgi.application
    for lane in counts:
        handler = getattr(application, lane)

        def counted(env, start_response, lane=lane, handler=handler):
            counts[lane] += 1
            return handler(env, start_response)

        monkeypatch.setattr(application, lane, counted)
    return counts


@pytest.mark.parametrize(
    ("method", "path", "authorization", "cookie", "expected"),
    [
        ("POST", "/api/v1/models/churn/predict", "Bearer mls_x", None, True),
        ("POST", "/api/v1/models/churn/versions/3/predict", "bearer mls_x", None, True),
        ("POST", "/api/v1/models/churn/invocations", "Bearer mls_x", None, True),
        ("POST", "/api/v1/models/churn@staging/invocations", "Bearer mls_x", None, True),
        ("POST", "/api/v1/models/churn/versions/3/invocations", "Bearer mls_x", None, True),
        ("POST", "/api/v1/models/churn/invocations", "Bearer mls_x", "sessionid=abc", False),
        ("POST", "/api/v1/models/churn/predict", "Bearer mls_x", "sessionid=abc", False),
        ("POST", "/api/v1/models/churn/predict", None, None, False),
        ("POST", "/api/v1/models/churn/predict", "Basic eDp5", None, False),
        ("GET", "/api/v1/models/churn/predict", "Bearer mls_x", None, False),
        ("POST", "/api/v1/models/churn/predict/", "Bearer mls_x", None, False),
        ("POST", "/api/v1/models/churn/versions/x/predict", "Bearer mls_x", None, False),
        ("POST", "/api/v1/models", "Bearer mls_x", None, False),
        ("POST", "/models/churn/versions/1/predict/", "Bearer mls_x", None, False),
    ],
)
def test_only_a_token_prediction_without_cookies_takes_the_lean_stack(
    method, path, authorization, cookie, expected
):
    env = environ(path, method=method, HTTP_AUTHORIZATION=authorization, HTTP_COOKIE=cookie)
    assert wsgi.is_token_prediction(env) is expected


def test_the_lean_stack_predicts_with_the_full_stacks_headers(owner, churn, lanes):
    token = token_create(user=owner, name="lane")[1]
    body = json.dumps({"instances": [ROW]}).encode()
    lean = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {token}"))
    full = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_COOKIE="a=b"))
    assert lanes == {"predict": 1, "full": 1}
    assert lean["status"] == full["status"] == 200
    assert without_ids(lean["body"]) == without_ids(full["body"])
    assert json.loads(lean["body"])["model"] == {"name": "churn", "version": 1, "role": "champion"}
    assert "Content-Security-Policy" in lean["headers"]
    assert int(lean["headers"]["Content-Length"]) == len(lean["body"])
    assert {h: lean["headers"].get(h) for h in COMPARED} == {
        h: full["headers"].get(h) for h in COMPARED
    }


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("bad token", 401),
        ("unknown model", 404),
        ("malformed JSON", 400),
        ("CSV with no rows", 422),
        ("over the body limit", 413),
        ("unknown host", 400),
        ("token without the predict scope", 403),
        ("model outside the token's list", 404),
    ],
)
def test_the_lean_stack_refuses_as_the_full_stack_does(
    owner, churn, lanes, settings, make_model, case, status
):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    token = token_create(user=owner, name="lane")[1]
    path, body, extra = "/api/v1/models/churn/predict", b'{"instances": [[1]]}', {}
    if case == "bad token":
        token = "mls_not-a-token"
    elif case == "unknown model":
        path = "/api/v1/models/nope/predict"
    elif case == "malformed JSON":
        body = b'{"instances": '
    elif case == "CSV with no rows":
        body, extra = b"tenure_months\n", {"CONTENT_TYPE": "text/csv"}
    elif case == "over the body limit":
        extra = {"CONTENT_LENGTH": str(2 * 1024 * 1024)}
    elif case == "unknown host":
        extra = {"HTTP_HOST": "evil.example.com"}
    elif case == "token without the predict scope":
        token = token_create(user=owner, name="reader", scopes=["read"])[1]
    elif case == "model outside the token's list":
        make_model("other")
        token = token_create(user=owner, name="other only", models=["other"])[1]
    answers = []
    for cookie in (None, "a=b"):
        env = environ(path, body, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_COOKIE=cookie)
        answers.append(call({**env, **extra}))
    lean, full = answers
    assert lanes == {"predict": 1, "full": 1}
    assert lean["status"] == full["status"] == status, (lean["body"], full["body"])
    assert without_ids(lean["body"]) == without_ids(full["body"])
    assert {h: lean["headers"].get(h) for h in COMPARED} == {
        h: full["headers"].get(h) for h in COMPARED
    }


def test_an_mlflow_invocation_takes_the_lean_stack_and_answers_alike(owner, churn, lanes):
    token = token_create(user=owner, name="lane")[1]
    body = json.dumps({"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}})
    path = "/api/v1/models/churn@production/invocations"
    lean = call(environ(path, body.encode(), HTTP_AUTHORIZATION=f"Bearer {token}"))
    full = call(
        environ(path, body.encode(), HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_COOKIE="a=b")
    )
    assert lanes == {"predict": 1, "full": 1}
    assert lean["status"] == full["status"] == 200
    assert json.loads(lean["body"]) == json.loads(full["body"])
    assert set(json.loads(lean["body"])) == {"predictions"}
    assert {h: lean["headers"].get(h) for h in COMPARED} == {
        h: full["headers"].get(h) for h in COMPARED
    }


@pytest.fixture
def door_answers(monkeypatch):
    """The requests registry/api/door.py answered itself (the rest went on to the resolver
    and ninja)."""
    from registry.api import door

    answered = []
    answer = door.answer

    def spied(request, found):
        response = answer(request, found)
        answered.append((request.path, response.status_code))
        return response

    monkeypatch.setattr(door, "answer", spied)
    return answered


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/api/v1/models/churn/predict", "application/json", {"instances": [ROW]}),
        ("/api/v1/models/churn/versions/1/predict", "application/json", {"inputs": [ROW]}),
        ("/api/v1/models/churn/predict", "text/csv", None),
        ("/api/v1/models/churn/invocations", "application/json", {"dataframe_records": [ROW]}),
        (
            "/api/v1/models/churn@production/invocations",
            "application/json",
            {"instances": [ROW], "params": {"temperature": 1}},
        ),
        ("/api/v1/models/churn/versions/1/invocations", "text/csv", None),
        # Refused inside the operation: answered by the API's error mapping, as ninja would.
        ("/api/v1/models/churn/versions/2/predict", "application/json", {"instances": [ROW]}),
        ("/api/v1/models/churn@staging/invocations", "application/json", {"instances": [ROW]}),
        ("/api/v1/models/churn/predict", "application/json", {"instances": [[1, 2]]}),
        ("/api/v1/models/churn/predict", "application/xml", None),
    ],
)
def test_the_door_answers_every_prediction_route_as_ninja_does(
    owner, churn, door_answers, path, content_type, body
):
    token = token_create(user=owner, name="door")[1]
    if body is None:
        data = (",".join(ROW) + "\n" + ",".join(str(v) for v in ROW.values()) + "\n").encode()
    else:
        data = json.dumps(body).encode()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "CONTENT_TYPE": content_type}
    lean = call(environ(path, data, **headers))
    full = call(environ(path, data, **headers, HTTP_COOKIE="a=b"))
    assert door_answers == [(path, lean["status"])]  # the door, not the resolver and ninja
    assert lean["status"] == full["status"]
    assert without_ids(lean["body"]) == without_ids(full["body"])
    compared = (*COMPARED, "Warning", "X-Model-Version")
    assert {h: lean["headers"].get(h) for h in compared} == {
        h: full["headers"].get(h) for h in compared
    }


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/api/v1/models/churn/predict", "version=1", 200),
        ("/api/v1/models/churn/predict", "explain=true", 200),
        ("/api/v1/models/churn/predict", "strict=maybe", 422),
        ("/api/v1/models/churn/predict", "version=1&alias=production", 200),
        ("/api/v1/models/churn/versions/0/predict", "", 422),
        ("/api/v1/models/churn/versions/99999999999999/predict", "", 422),
    ],
)
def test_the_door_reads_a_query_string_with_ninjas_own_parameter_models(
    owner, churn, door_answers, path, query, status
):
    token = token_create(user=owner, name="door")[1]
    body = json.dumps({"instances": [ROW]}).encode()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "QUERY_STRING": query}
    lean = call(environ(path, body, **headers))
    full = call(environ(path, body, **headers, HTTP_COOKIE="a=b"))
    assert door_answers == [(path, status)]
    assert lean["status"] == full["status"] == status, lean["body"]
    assert without_ids(lean["body"]) == without_ids(full["body"])


def test_a_refused_prediction_through_the_door_is_counted_once(owner, churn, door_answers):
    """The door's errors go through the API's on_exception, which counts a prediction
    refused before it named a version (monitoring.unresolved), as ninja's path does."""
    from registry.monitoring.metrics import PREDICTION_ERRORS

    def unresolved_4xx():
        return PREDICTION_ERRORS.labels("", "", "4xx")._value.get()

    before = unresolved_4xx()
    env = environ(
        "/api/v1/models/nope/predict", b'{"instances": [[1]]}', HTTP_AUTHORIZATION="Bearer mls_x"
    )
    assert call(env)["status"] == 401
    token = token_create(user=owner, name="door")[1]
    env = environ(
        "/api/v1/models/nope/predict",
        b'{"instances": [[1]]}',
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert call(env)["status"] == 404
    assert [status for _, status in door_answers] == [401, 404]
    assert unresolved_4xx() == before + 2


@pytest.fixture
def request_signals():
    """The request signals sent, as (signal, sender name)."""
    from django.core import signals

    sent = []

    def started(sender, **kwargs):
        sent.append(("started", sender.__name__))

    def finished(sender, **kwargs):
        sent.append(("finished", sender.__name__))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield sent
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_the_door_tidies_the_connection_a_request_used_as_djangos_handler_does(
    owner, churn, door_answers, request_signals
):
    """A request that used the database (here the token's first check) gets Django's
    housekeeping when the server closes its answer (request_finished: a broken connection
    or one past CONN_MAX_AGE is closed, the next use health-checked); one answered from the
    caches sends no request signal: its receivers would have nothing to tidy."""
    from django.db import connection

    token = token_create(user=owner, name="door")[1]
    env = environ(
        body=json.dumps({"instances": [ROW]}).encode(), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    first = call(env)
    assert first["status"] == 200
    assert request_signals == [("finished", "TokenPredictionDoor")]
    # Tidied: the connection, if kept, is health-checked before its next use.
    assert connection.connection is None or not connection.health_check_done

    env["wsgi.input"].seek(0)
    second = call(env)
    assert second["status"] == 200
    assert without_ids(json.loads(second["body"])) == without_ids(json.loads(first["body"]))
    assert request_signals == [("finished", "TokenPredictionDoor")]
    assert [status for _, status in door_answers] == [200, 200]


def test_a_connection_broken_under_a_door_request_is_replaced_for_the_next(owner, churn):
    """The database connection dies between requests (a server restart, a proxy's idle
    timeout): the request that finds it broken fails, and the door's housekeeping closes it,
    so the next request opens a new one instead of failing on the dead one for good."""
    from django.db import connection

    token = token_create(user=owner, name="door")[1]
    body = json.dumps({"instances": [ROW]}).encode()
    assert call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {token}"))["status"] == 200
    new_token = token_create(user=owner, name="door 2")[1]  # not cached: it needs a query
    connection.ensure_connection()
    connection.health_check_done = True  # a check already passed: the death goes unseen
    connection.connection.close()  # behind Django's back, as a dead server would

    failed = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {new_token}"))
    assert failed["status"] in (500, 503)
    assert connection.connection is None  # closed by the housekeeping
    again = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {new_token}"))
    assert again["status"] == 200, again["body"]


@pytest.mark.parametrize(
    ("failure", "status"),
    [("the database is down", 503), ("a bug", 500)],
)
def test_a_failure_in_the_door_is_answered_as_the_full_stack_answers_it(
    owner, churn, door_answers, monkeypatch, failure, status
):
    from django.db import OperationalError

    from registry import serving

    token = token_create(user=owner, name="door")[1]

    def failing(*args, **kwargs):
        if failure == "a bug":
            raise RuntimeError("a bug")
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(serving, "predict", failing)
    body = json.dumps({"instances": [ROW]}).encode()
    lean = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {token}"))
    full = call(environ(body=body, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_COOKIE="a=b"))
    assert lean["status"] == full["status"] == status
    assert lean["headers"]["Content-Type"] == "application/problem+json"
    assert lean["body"] == full["body"]
    compared = (*COMPARED, "Retry-After")
    assert {h: lean["headers"].get(h) for h in compared} == {
        h: full["headers"].get(h) for h in compared
    }
    if status == 503:
        assert lean["headers"]["Retry-After"] == "5"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_door_redirects_and_sets_hsts_as_the_security_middleware_does(
    owner, churn, door_answers, settings, scheme
):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    application = wsgi.Application()  # middleware read these settings when built
    token = token_create(user=owner, name="door")[1]
    body = json.dumps({"instances": [ROW]}).encode()
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.url_scheme": scheme}
    lean = call(environ(body=body, **extra), application)
    full = call(environ(body=body, **extra, HTTP_COOKIE="a=b"), application)
    assert lean["status"] == full["status"] == (301 if scheme == "http" else 200)
    compared = (*COMPARED, "Location", "Strict-Transport-Security")
    assert {h: lean["headers"].get(h) for h in compared} == {
        h: full["headers"].get(h) for h in compared
    }
    assert door_answers == ([] if scheme == "http" else [("/api/v1/models/churn/predict", 200)])
