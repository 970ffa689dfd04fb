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


def call(env):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    chunks = wsgi.application(env, start_response)
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
