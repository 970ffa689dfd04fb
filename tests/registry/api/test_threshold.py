"""PUT /api/v1/models/{name}/versions/{version}/threshold: a binary classifier's decision
threshold, set by its owner, answered with the version record, applied by the predict
routes (whose answer states it), refused in problem+json."""

import numpy as np
import pytest

from registry.models import AuditEntry, ModelVersion
from tests.conftest import assert_problem
from tests.registry.serving.test_threshold import demo_rows

pytestmark = pytest.mark.django_db
URL = "/models/churn/versions/1/threshold"


def test_the_owner_sets_it_and_the_predict_routes_apply_it(owner_api, churn, owner):
    rows = demo_rows(60)
    before = owner_api.post("/models/churn/predict", {"instances": rows}).json()
    assert "threshold" not in before

    response = owner_api.put(URL, {"threshold": 0.37})

    assert response.status_code == 200, response.content
    record = response.json()
    assert (record["model"], record["version"], record["threshold"]) == ("churn", 1, 0.37)
    assert owner_api.get("/models/churn/versions/1").json()["threshold"] == 0.37
    assert ModelVersion.objects.get(pk=churn.pk).threshold == 0.37
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.via, entry.before, entry.after) == (
        owner,
        "api",
        {"threshold": None},
        {"threshold": 0.37},
    )
    p1 = np.array(before["probabilities"])[:, 1]
    for path in ("/models/churn/predict", "/models/churn/versions/1/predict"):
        after = owner_api.post(path, {"instances": rows}).json()
        assert after["threshold"] == 0.37
        assert after["predictions"] == np.where(p1 >= 0.37, "yes", "no").tolist()
        assert after["probabilities"] == before["probabilities"]
        assert after["warnings"] == before["warnings"]


def test_null_clears_it(owner_api, churn):
    owner_api.put(URL, {"threshold": 0.2})
    response = owner_api.put(URL, {"threshold": None})
    assert response.status_code == 200, response.content
    assert response.json()["threshold"] is None
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    assert (
        "threshold"
        not in owner_api.post("/models/churn/predict", {"instances": demo_rows(2)}).json()
    )
    assert AuditEntry.objects.count() == 2


def test_another_user_may_not_set_it(other_api, churn):
    assert_problem(other_api.put(URL, {"threshold": 0.3}), 403, "belongs to another user")
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "body", [{"threshold": 0}, {"threshold": 1}, {"threshold": 1.5}, {}, {"threshold": "high"}]
)
def test_it_refuses_a_value_outside_zero_to_one(owner_api, churn, body):
    assert_problem(owner_api.put(URL, body), 422)
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_version_of_more_than_two_classes(owner_api, churn):
    ModelVersion.objects.filter(pk=churn.pk).update(classes=["a", "b", "c"])
    assert_problem(owner_api.put(URL, {"threshold": 0.3}), 422, "two classes")


def test_an_unknown_version_is_a_404(owner_api, churn):
    assert_problem(owner_api.put("/models/churn/versions/9/threshold", {"threshold": 0.3}), 404)
