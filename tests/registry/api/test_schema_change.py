"""POST /api/v1/models/{name}/versions: a version that answers another question than
production's (target, task, input columns) is refused unless allow_schema_change."""

import pytest

from registry.models import ModelVersion
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

FEATURES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]


def train(api, dataset, **body):
    return api.post(
        "/models/churn/versions",
        {"dataset": dataset.pk, "algorithm": "logistic_regression", "target": "churned", **body},
    )


def test_it_queues_a_retraining_with_production_s_schema(owner_api, churn):
    response = train(owner_api, churn.dataset, algorithm="gaussian_nb")
    assert response.status_code == 202, response.content
    assert ModelVersion.objects.filter(model__name="churn").count() == 2


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"algorithm": "linear_regression", "target": "monthly_charges"},
            "target 'monthly_charges' instead of 'churned'; a regressor instead of a classifier",
        ),
        ({"features": FEATURES[:-1]}, "without the input columns 'support_calls'"),
    ],
)
def test_it_refuses_a_version_unlike_production_with_a_new_name_to_use(
    owner_api, churn, changes, says
):
    body = assert_problem(train(owner_api, churn.dataset, **changes), 422, says)
    assert "churn's production (v1)" in body["detail"]
    assert "train it as a new model" in body["detail"]
    if "target" in changes:
        assert "'churn-monthly-charges'" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["allow_schema_change"]
    assert ModelVersion.objects.filter(model__name="churn").count() == 1


def test_it_queues_a_version_unlike_production_once_confirmed(owner_api, churn):
    response = train(
        owner_api,
        churn.dataset,
        algorithm="linear_regression",
        target="monthly_charges",
        allow_schema_change=True,
    )
    assert response.status_code == 202, response.content
    assert ModelVersion.objects.get(model__name="churn", version=2).target == "monthly_charges"
