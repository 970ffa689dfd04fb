"""GET /api/v1/models/{name}/aliases/{alias}: the alias record (version, canary, shadow,
updated_at) as PUT answers it, plus since when it points there."""

import pytest

from registry import services
from registry.models import Alias
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
URL = "/models/churn/aliases/production"


def test_it_answers_the_alias_record_as_put_does(owner_api, make_model):
    make_model("churn", versions=3)
    put = owner_api.put(
        URL, {"version": 1, "canary": {"version": 2, "percent": 10}, "shadow": {"version": 3}}
    )
    assert put.status_code == 200, put.content
    response = owner_api.get(URL)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert {key: answer[key] for key in put.json()} == put.json()
    assert answer["canary"] == {"version": 2, "percent": 10.0}
    assert answer["shadow"] == 3
    assert (answer["model"], answer["alias"], answer["version"]) == ("churn", "production", 1)
    alias = Alias.objects.get(model__name="churn", name="production")
    assert answer["updated_at"].startswith(alias.updated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert answer["since"]
    assert answer["at"] is None


def test_an_alias_without_a_rollout_has_none(owner_api, owner, make_model):
    model = make_model("churn", versions=2)
    services.alias_move(model=model, name="staging", version_number=2, user=owner, via="api")
    answer = owner_api.get("/models/churn/aliases/staging").json()
    assert (answer["version"], answer["canary"], answer["shadow"]) == (2, None, None)


def test_a_reader_may_ask_and_unknown_aliases_are_404(other_api, owner, make_model):
    model = make_model("churn", versions=1)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    assert other_api.get(URL).json()["version"] == 1
    assert_problem(other_api.get("/models/churn/aliases/staging"), 404, "no alias 'staging'")
    assert_problem(other_api.get("/models/nope/aliases/production"), 404)
