"""Cancelling a training through POST /api/v1/models/{name}/versions/{v}/cancel."""

import pytest

from registry import services
from registry.models import ModelVersion
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db(transaction=True)

CANCEL = "/models/churn/versions/1/cancel"


@pytest.fixture
def queued(owner, make_dataset) -> ModelVersion:
    return services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm="logistic_regression",
        target="churned",
    )


def test_it_cancels_a_queued_version_and_its_task_never_starts(owner_api, queued, worker):
    response = owner_api.post(CANCEL)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["error"]) == (
        "cancelled",
        "Cancelled by olivia.",
    )
    worker()  # the queued task runs: it finds the version cancelled and does nothing
    version = ModelVersion.objects.get(pk=queued.pk)
    assert (version.status, version.attempts, version.started_at) == ("cancelled", 0, None)
    assert version.finished_at is not None


def test_it_answers_409_problem_json_once_the_version_has_finished(owner_api, queued, worker):
    assert owner_api.post(CANCEL).status_code == 200
    assert_problem(owner_api.post(CANCEL), 409, "churn v1 is cancelled")
    services.version_create(
        model=queued.model,
        user=queued.model.owner,
        dataset=queued.dataset,
        algorithm="logistic_regression",
        target="churned",
    )
    worker()
    assert ModelVersion.objects.get(model=queued.model, version=2).status == "ready"
    body = assert_problem(owner_api.post("/models/churn/versions/2/cancel"), 409)
    assert body["detail"] == (
        "churn v2 is ready: only a queued or running training can be cancelled."
    )
    assert ModelVersion.objects.get(model=queued.model, version=2).status == "ready"


def test_only_the_owner_may_cancel(other_api, owner_api, queued):
    assert_problem(other_api.post(CANCEL), 403)
    assert_problem(owner_api.post("/models/churn/versions/9/cancel"), 404)
    assert ModelVersion.objects.get(pk=queued.pk).status == "queued"
