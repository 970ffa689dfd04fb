"""At most MLSERVE_USER_MAX_TRAININGS queued or running trainings per user: the next is
refused with 429 problem+json until one finishes or is cancelled (superusers exempt)."""

import pytest

from registry.models import ModelVersion
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def train(api, dataset, name: str = "prices"):
    return api.post(
        f"/models/{name}/versions",
        {"dataset": dataset.pk, "algorithm": "linear_regression", "target": "price"},
    )


def new_model(api, dataset, name: str):
    return api.post(
        "/models",
        {"name": name, "dataset": dataset.pk, "algorithm": "linear_regression", "target": "price"},
    )


def test_it_refuses_a_training_over_the_users_cap_with_429(
    owner_api, other_api, make_dataset, settings, other
):
    settings.MLSERVE_USER_MAX_TRAININGS = 2
    houses = make_dataset("houses.csv")
    assert new_model(owner_api, houses, "prices").status_code == 202
    assert train(owner_api, houses).status_code == 202
    body = assert_problem(train(owner_api, houses), 429)
    assert body["detail"] == (
        "You have 2 trainings queued or running, the most one user may "
        "(MLSERVE_USER_MAX_TRAININGS): wait for one to finish, or cancel one."
    )
    assert_problem(new_model(owner_api, houses, "prices2"), 429, "MLSERVE_USER_MAX_TRAININGS")
    assert ModelVersion.objects.count() == 2
    assert not ModelVersion.objects.filter(model__name="prices2").exists()
    # Another user has a cap of their own; a cancelled training frees its place.
    theirs = make_dataset("houses.csv", user=other)
    assert new_model(other_api, theirs, "their-prices").status_code == 202
    assert owner_api.post("/models/prices/versions/1/cancel").status_code == 200
    assert train(owner_api, houses).status_code == 202
    assert ModelVersion.objects.filter(model__name="prices").count() == 3


def test_a_superuser_is_not_capped(make_dataset, settings, admin_user, client):
    from registry.tokens import token_create
    from tests.conftest import ApiClient

    settings.MLSERVE_USER_MAX_TRAININGS = 1
    api = ApiClient(client, token_create(user=admin_user, name="t")[1])
    houses = make_dataset("houses.csv", user=admin_user)
    assert new_model(api, houses, "prices").status_code == 202
    assert train(api, houses).status_code == 202
    assert ModelVersion.objects.filter(status="queued").count() == 2
