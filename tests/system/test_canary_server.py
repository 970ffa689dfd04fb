"""A canary through a real gunicorn (two workers, each with its own resolution cache and
split): 10% of 2,000 requests answered by the canary, a caller's key always answered by the
same version whichever worker takes it, and an ended canary served nowhere within 2 s."""

import time

import pytest

from registry.models import ModelVersion
from tests.system.conftest import Api

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}


def test_a_real_server_splits_by_share_and_by_key(churn, token, start_server):
    fields = {
        f.attname: getattr(churn, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in {"id", "version", "created_at"}
    }
    ModelVersion.objects.create(**{**fields, "version": 2, "artifact": bytes(churn.artifact)})
    api = Api(start_server("a").url, token)
    reply = api.put(
        "/models/churn/aliases/production",
        {"version": 1, "canary": {"version": 2, "percent": 10}},
    )
    assert reply.status == 200, reply.body

    served = []
    for _ in range(2000):
        reply = api.post("/models/churn/predict", {"instances": [ROW]})
        assert reply.status == 200, reply.body
        served.append(reply.json()["model"])
    share = sum(m["role"] == "canary" for m in served) / len(served)
    print(f"\ncanary share through gunicorn: {share:.3f}")
    assert 0.08 <= share <= 0.12
    assert {(m["version"], m["role"]) for m in served} == {(1, "champion"), (2, "canary")}

    for key in (f"user-{i}" for i in range(40)):
        versions = {
            api.post("/models/churn/predict", {"key": key, "instances": [ROW]}).json()["model"][
                "version"
            ]
            for _ in range(5)
        }
        assert len(versions) == 1, (key, versions)

    assert api.call("DELETE", "/models/churn/aliases/production/canary").status == 200
    time.sleep(2.0)
    after = [
        api.post("/models/churn/predict", {"instances": [ROW]}).json()["model"]["version"]
        for _ in range(100)
    ]
    assert set(after) == {1}
