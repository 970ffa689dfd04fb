"""No silent deployments: calls without a version follow `production` only, and the first
ready version of a model becomes `production` by itself."""

import pytest

from registry import services, training
from registry.models import Alias, ModelVersion, RegisteredModel
from tests.conftest import assert_problem

ROWS = [
    {
        "tenure_months": 3,
        "monthly_charges": 95.0,
        "contract": "month-to-month",
        "internet": "fiber",
        "support_calls": 4,
    }
]
WORKER_DB = pytest.mark.django_db(transaction=True)


def predict(api, path="/models/churn/predict"):
    return api.post(path, {"instances": ROWS})


@WORKER_DB
def test_it_makes_the_first_ready_version_production(churn_trained_by_worker, owner):
    alias = Alias.objects.get(model__name="churn", name="production")
    assert alias.version_id == churn_trained_by_worker.pk
    assert alias.updated_by == owner  # recorded like a move by whoever trained it


@pytest.mark.django_db
def test_it_keeps_unpinned_calls_on_production_when_a_later_version_is_ready(
    owner_api, owner, churn
):
    model = RegisteredModel.objects.get(name="churn")
    v2 = services.version_create(
        model=model, user=owner, dataset=churn.dataset, algorithm="gaussian_nb", target="churned"
    )
    assert training.train(v2.pk) == ModelVersion.Status.READY
    answer = predict(owner_api)
    assert answer.status_code == 200, answer.content
    assert answer.json()["model"]["version"] == 1
    assert Alias.objects.get(model=model, name="production").version_id == churn.pk
    assert predict(owner_api, "/models/churn/predict?version=2").json()["model"]["version"] == 2


@pytest.mark.django_db
def test_it_does_not_give_production_back_after_it_was_deleted(owner_api, owner, churn):
    model = RegisteredModel.objects.get(name="churn")
    services.alias_delete(model=model, name="production", user=owner, via="api")
    v2 = services.version_create(
        model=model, user=owner, dataset=churn.dataset, algorithm="gaussian_nb", target="churned"
    )
    assert training.train(v2.pk) == ModelVersion.Status.READY
    assert not Alias.objects.filter(model=model, name="production").exists()
    assert_problem(predict(owner_api), 409, "churn has no production alias")
    assert predict(owner_api, "/models/churn/predict?version=1").status_code == 200


@pytest.mark.django_db
def test_it_refuses_unpinned_calls_when_production_was_deleted(owner_api, owner, churn):
    services.alias_delete(
        model=RegisteredModel.objects.get(name="churn"), name="production", user=owner, via="api"
    )
    body = assert_problem(predict(owner_api), 409, "promote a version to production")
    assert "?version=" in body["detail"]


@pytest.mark.django_db
def test_it_makes_an_imported_first_version_production_and_not_a_later_one(owner, churn):
    from registry import transfer

    exported = transfer.version_export(churn, user=owner)
    first = services.version_import(user=owner, data=exported, name="copy")
    second = services.version_import(user=owner, data=exported, name="copy")
    assert Alias.objects.get(model__name="copy", name="production").version_id == first.pk
    assert second.version == 2
