"""MLflow's model URIs wherever the API takes a model as a destination: the model a
leaderboard registers into and a webhook's model (`models:/churn`); a version or alias there,
or a URI that is not one, is a 422 naming the field. (Evaluations take versions by URI:
tests/registry/evaluation/test_model_uris.py.)"""

import pytest

from registry.models import ModelVersion, WebhookEndpoint
from tests.conftest import assert_problem
from tests.registry.boards import finish, make_board

pytestmark = pytest.mark.django_db


def test_a_leaderboard_registers_into_a_model_named_by_uri(owner_api, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    url = f"/leaderboards/{board.pk}/register"
    response = owner_api.post(url, {"model": "models:/churn-best"})
    assert response.status_code == 202, response.content
    assert response.json()["model"] == "churn-best"
    assert ModelVersion.objects.filter(model__name="churn-best").count() == 1
    for bad, detail in (
        ("models:/churn-best/2", "names a version or an alias"),
        ("models:/churn-best@production", "names a version or an alias"),
        ("models:/Churn", "does not name a model"),
    ):
        problem = assert_problem(owner_api.post(url, {"model": bad}), 422, detail)
        assert problem["errors"][0]["field"] == "model"
    assert ModelVersion.objects.filter(model__name="churn-best").count() == 1


def test_a_webhook_names_its_model_by_uri(owner_api, churn, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True  # a loopback URL: no name to resolve
    response = owner_api.post(
        "/webhooks", {"url": "http://127.0.0.1:9/h", "model": "models:/churn"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["model"] == "churn"
    assert WebhookEndpoint.objects.get().model.name == "churn"
    problem = assert_problem(
        owner_api.post("/webhooks", {"url": "http://127.0.0.1:9/h", "model": "models:/churn/1"}),
        422,
        "names a version or an alias",
    )
    assert problem["errors"][0]["field"] == "model"
