"""One rule for the dataset a training reads, on the pages and the API alike: only the
dataset's owner may train on it (datasets are private; a superuser included, who may read
it but not build models from someone else's data)."""

import pytest
from django.test import Client

from registry.models import ModelVersion
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

TRAIN = {
    "algorithm": "logistic_regression",
    "target": "churned",
    "features": ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"],
    "test_size": "0.2",
    "logistic_regression-C": "1.0",
    "logistic_regression-max_iter": "100",
    "logistic_regression-tol": "0.0001",
}


def api_for(user) -> ApiClient:
    from registry.tokens import token_create

    return ApiClient(Client(), token_create(user=user, name="tests")[1])


def page_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def private(make_dataset):
    return make_dataset("churn.csv", dataset_name="olivias-churn")


@pytest.fixture(params=["superuser", "other user"])
def stranger(request, admin_user, other):
    return admin_user if request.param == "superuser" else other


def test_it_refuses_another_users_dataset_through_the_api(private, stranger):
    api = api_for(stranger)
    body = {"dataset": private.pk, "algorithm": "logistic_regression", "target": "churned"}
    response = api.post("/models", {**body, "name": "taken"})
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert f"You have no dataset {private.pk}" in response.json()["detail"]
    api.post("/models", {**body, "dataset": mine(stranger).pk, "name": "mine"})
    response = api.post("/models/mine/versions", {**body})
    assert response.status_code == 404, response.content
    assert list(ModelVersion.objects.values_list("model__name", flat=True)) == ["mine"]


def test_it_refuses_another_users_dataset_on_the_pages(private, stranger):
    page = page_for(stranger)
    assert page.get(f"/train/?dataset={private.pk}").status_code == 404
    response = page.post("/train/", {**TRAIN, "dataset": private.pk, "name": "taken"})
    assert response.status_code == 404
    assert not ModelVersion.objects.exists()


def test_the_owner_trains_on_it_on_both_paths(private, owner):
    body = {"dataset": private.pk, "algorithm": "logistic_regression", "target": "churned"}
    assert api_for(owner).post("/models", {**body, "name": "by-api"}).status_code == 202
    response = page_for(owner).post("/train/", {**TRAIN, "dataset": private.pk, "name": "by-page"})
    assert response.status_code == 302, response.content[:300]
    assert set(ModelVersion.objects.values_list("model__name", flat=True)) == {"by-api", "by-page"}


def mine(user):
    from registry import services
    from tests.conftest import demo_bytes

    return services.dataset_create(owner=user, data=demo_bytes("churn.csv"), name="own")
