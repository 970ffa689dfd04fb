"""Token scopes, model lists, expiry and last use: what a token may do, checked in the one
auth place (registry/api/auth.py) before any operation reads its body."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registry import tokens
from registry.errors import InvalidInput
from registry.models import TOKEN_SCOPES, Alias, ApiToken, PredictionLog, WebhookEndpoint
from tests.conftest import ApiClient, assert_problem
from tests.registry.monitoring.conftest import CHURN_ROW

pytestmark = pytest.mark.django_db

PREDICT_OPERATIONS = {"predict", "predict_version"}
ADMIN_OPERATIONS = {
    "list_webhooks",
    "create_webhook",
    "get_webhook",
    "delete_webhook",
    "list_deliveries",
    "test_webhook",
}


def token_api(client, user, **options) -> ApiClient:
    return ApiClient(client, tokens.token_create(user=user, name="scoped", **options)[1])


# One operation of each kind, on the churn fixture: (method, path, body, status when allowed).
KINDS = {
    "predict": ("post", "/models/churn/predict", {"instances": [CHURN_ROW]}, 200),
    "read": ("get", "/models/churn", None, 200),
    "write": ("put", "/models/churn/aliases/staging", {"version": 1}, 200),
    "admin": ("get", "/webhooks", None, 200),
}


def call(api: ApiClient, kind: str):
    method, path, body, _ = KINDS[kind]
    return getattr(api, method)(path, body) if body is not None else getattr(api, method)(path)


@pytest.mark.parametrize("scope", TOKEN_SCOPES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_scope_allows_its_own_kind_of_operation_only(client, owner, churn, scope, kind):
    api = token_api(client, owner, scopes=[scope])
    response = call(api, kind)
    if scope == kind:
        assert response.status_code == KINDS[kind][3], response.content
    else:
        body = assert_problem(response, 403, f"lacks the {kind!r} scope")
        assert body["required_scope"] == kind
        assert f"(it has: {scope})" in body["detail"]
    # A refused write changed nothing.
    assert Alias.objects.filter(name="staging").exists() == (scope == kind == "write")


def test_tokens_made_before_scopes_keep_every_scope():
    migration = import_module("registry.migrations.0011_token_scopes").Migration
    added = {op.name: op.field for op in migration.operations}
    assert added["scopes"].default() == list(TOKEN_SCOPES)
    assert added["model_names"].default() == []
    assert added["expires_at"].null


def test_a_token_with_every_scope_does_every_kind(client, owner, churn):
    api = token_api(client, owner)
    assert ApiToken.objects.get().scopes == list(TOKEN_SCOPES)
    for kind in KINDS:
        assert call(api, kind).status_code == KINDS[kind][3], kind


def test_the_version_predict_route_needs_predict_too(client, owner, churn):
    body = {"instances": [CHURN_ROW]}
    reader = token_api(client, owner, scopes=["read"])
    assert_problem(reader.post("/models/churn/versions/1/predict", body), 403, "'predict'")
    predictor = token_api(client, owner, scopes=["predict"])
    assert predictor.post("/models/churn/versions/1/predict", body).status_code == 200


def test_a_session_has_every_scope(client, owner, churn):
    client.force_login(owner)
    assert client.get("/api/v1/webhooks").status_code == 200
    assert client.get("/api/v1/models/churn").status_code == 200


def test_every_operation_of_the_document_names_the_scope_it_needs(owner_api):
    document = owner_api.get("/openapi.json").json()
    seen = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = operation["operationId"].removeprefix("registry_api_")
            seen[name] = operation["x-required-scope"]
            assert f"Token scope: `{seen[name]}`." in operation["description"]
            assert "application/problem+json" in operation["responses"]["403"]["content"]
            if name in PREDICT_OPERATIONS or path.endswith("/invocations"):
                expected = "predict"
            elif name in ADMIN_OPERATIONS:
                expected = "admin"
            else:
                expected = "read" if method == "get" else "write"
            assert seen[name] == expected, (method, path)
    assert PREDICT_OPERATIONS | ADMIN_OPERATIONS <= set(seen)
    assert {"upload_dataset", "delete_model", "put_alias", "post_feedback"} <= {
        n for n, s in seen.items() if s == "write"
    }


def test_a_refused_scope_is_answered_before_the_body_is_read(client, owner, churn):
    api = token_api(client, owner, scopes=["read"])
    response = api.post("/models/churn/predict", b"{not json", content_type="application/json")
    assert_problem(response, 403, "'predict'")


# Model lists ----------------------------------------------------------------------------


@pytest.fixture
def two_models(churn, owner, trained_churn, make_dataset):
    from tests.conftest import install_trained

    install_trained(
        trained_churn, owner=owner, dataset=make_dataset(dataset_name="other"), name="other"
    )


def test_a_token_limited_to_some_models_reaches_those_only(client, owner, two_models):
    api = token_api(client, owner, models=["churn"])
    assert ApiToken.objects.get().model_names == ["churn"]
    assert [m["name"] for m in api.get("/models").json()["items"]] == ["churn"]
    assert api.get("/models/churn").status_code == 200
    assert api.post("/models/churn/predict", {"instances": [CHURN_ROW]}).status_code == 200
    assert api.get("/algorithms").status_code == 200
    # Another model answers as a model that does not exist: the token learns no names.
    outside = assert_problem(api.get("/models/other"), 404)
    missing = assert_problem(api.get("/models/nothing"), 404)
    assert outside["detail"] == missing["detail"].replace("nothing", "other")
    assert_problem(api.put("/models/other/aliases/staging", {"version": 1}), 404)
    assert not Alias.objects.filter(name="staging").exists()
    # An operation about no model at all is refused.
    assert_problem(api.get("/datasets"), 403, "may only be used on the models churn")
    assert_problem(api.post("/models", {"name": "x"}), 403, "not about one model")


def test_a_limited_token_refuses_a_prediction_before_any_work(client, owner, two_models, settings):
    settings.MLSERVE_PREDICTION_LOG_RATE = 1.0
    api = token_api(client, owner, models=["churn"])
    # An unreadable body is not even read: the answer is the model's 404, not a 400.
    response = api.post("/models/other/predict", b"{not json", content_type="application/json")
    assert_problem(response, 404, "There is no model named 'other'.")
    response = api.post("/models/other/versions/1/predict", {"instances": [CHURN_ROW]})
    assert_problem(response, 404, "'other'")
    assert not PredictionLog.objects.exists()


def test_the_model_list_of_a_token_is_checked(owner, churn):
    with pytest.raises(InvalidInput, match="no model named 'ghost'"):
        tokens.token_create(user=owner, name="x", models=["churn", "ghost"])
    with pytest.raises(InvalidInput, match="is not a model name"):
        tokens.token_create(user=owner, name="x", models=["Not A Name"])
    with pytest.raises(InvalidInput, match="at most 50 models"):
        tokens.token_create(user=owner, name="x", models=[f"m{i}" for i in range(51)])
    with pytest.raises(InvalidInput, match="Unknown scope 'root'"):
        tokens.token_create(user=owner, name="x", scopes=["read", "root"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        tokens.token_create(user=owner, name="x", scopes=[])
    assert not ApiToken.objects.exists()
    record, _ = tokens.token_create(user=owner, name="x", models=[" churn", "churn"])
    assert record.model_names == ["churn"]


# Expiry ---------------------------------------------------------------------------------


def test_an_expired_token_is_refused(client, owner):
    record, text = tokens.token_create(user=owner, name="short")
    api = ApiClient(client, text)
    assert api.get("/algorithms").status_code == 200
    ApiToken.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    tokens.forget_tokens()
    assert_problem(api.get("/algorithms"), 401)


def test_a_cached_token_is_refused_once_its_expiry_passes(client, owner, monkeypatch):
    expires = timezone.now() + timedelta(hours=1)
    _, text = tokens.token_create(user=owner, name="short", expires_at=expires)
    api = ApiClient(client, text)
    assert api.get("/algorithms").status_code == 200  # now cached in this process
    later = expires + timedelta(seconds=1)
    monkeypatch.setattr(tokens.timezone, "now", lambda: later)
    assert_problem(api.get("/algorithms"), 401)


def test_an_expiry_is_bounded_by_the_setting(owner, settings):
    settings.MLSERVE_TOKEN_MAX_DAYS = 30
    now = timezone.now()
    record, _ = tokens.token_create(user=owner, name="default")
    assert now + timedelta(days=30) <= record.expires_at <= timezone.now() + timedelta(days=30)
    with pytest.raises(InvalidInput, match="at most 30 days"):
        tokens.token_create(user=owner, name="long", expires_at=now + timedelta(days=31))
    with pytest.raises(InvalidInput, match="in the future"):
        tokens.token_create(user=owner, name="past", expires_at=now - timedelta(minutes=1))
    settings.MLSERVE_TOKEN_MAX_DAYS = 0
    forever, _ = tokens.token_create(user=owner, name="forever")
    assert forever.expires_at is None
    assert ApiToken.objects.count() == 2


# Last use -------------------------------------------------------------------------------


def test_the_last_use_and_address_are_recorded(client, owner):
    record, text = tokens.token_create(user=owner, name="used")
    assert record.last_used_at is None
    ApiClient(client, text).get("/algorithms", REMOTE_ADDR="203.0.113.7")
    record.refresh_from_db()
    assert record.last_used_at is not None
    assert record.last_used_from == "203.0.113.7"


def token_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "registry_apitoken"')]


def test_the_last_use_is_written_at_most_once_per_interval(client, owner, settings):
    settings.MLSERVE_TOKEN_LAST_USED_INTERVAL_S = 60.0
    record, text = tokens.token_create(user=owner, name="busy")
    api = ApiClient(client, text)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            tokens.forget_tokens()  # each request a lookup, as on five servers
            assert api.get("/algorithms", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert len(token_writes(queries.captured_queries)) == 1
    first = ApiToken.objects.get(pk=record.pk).last_used_at
    # Older than the interval: the next use writes again, with its address.
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=first - timedelta(seconds=61))
    tokens.forget_tokens()
    api.get("/algorithms", REMOTE_ADDR="198.51.100.2")
    record.refresh_from_db()
    assert record.last_used_at > first - timedelta(seconds=61)
    assert record.last_used_from == "198.51.100.2"


def test_a_cached_token_writes_nothing(client, owner):
    _, text = tokens.token_create(user=owner, name="hot")
    api = ApiClient(client, text)
    api.get("/algorithms")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert api.get("/algorithms").status_code == 200
    assert token_writes(queries.captured_queries) == []
    assert not any("registry_apitoken" in q["sql"] for q in queries.captured_queries)


def test_a_write_token_cannot_add_a_webhook(client, owner):
    api = token_api(client, owner, scopes=["read", "write"])
    response = api.post("/webhooks", {"url": "https://example.com/hook"})
    assert_problem(response, 403, "'admin'")
    assert not WebhookEndpoint.objects.exists()
