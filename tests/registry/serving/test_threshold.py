"""A binary classifier's decision threshold (services.set_threshold): a setting of the
version, not a new artifact, that serving applies. It changes the served labels and nothing
else, is recorded in the audit log, and reaches every server within the resolve TTL."""

import csv
import hashlib
import io
import math
import types

import numpy as np
import pytest

import numpyml
from registry import services, serving, ttl
from registry.models import AuditEntry, ModelVersion
from registry.pipeline import build_pipeline
from registry.training.data import load_training_data
from tests.conftest import DEMO, install_trained

pytestmark = pytest.mark.django_db


def demo_rows(n: int = 120) -> list[dict]:
    """The first n rows of the demo churn data, without their target."""
    with (DEMO / "churn.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    return [{k: v for k, v in row.items() if k != "churned"} for row in rows]


def served_answer(rows: list[dict]) -> dict:
    served = serving.resolve("churn", version=1)
    return serving.predict(served, rows, user=None, source="test")


def test_the_stored_threshold_changes_served_labels_and_nothing_else(churn, owner):
    rows = demo_rows()
    before = served_answer(rows)
    assert "threshold" not in before
    p1 = before["probabilities"][:, 1]
    threshold = 0.3
    assert ((p1 >= threshold) & (p1 < 0.5)).any()  # some rows change label

    services.set_threshold(churn, threshold, actor=owner, via="api")
    after = served_answer(rows)

    assert after["threshold"] == threshold
    assert after["predictions"] == np.where(p1 >= threshold, "yes", "no").tolist()
    assert after["predictions"] != before["predictions"]
    np.testing.assert_array_equal(after["probabilities"], before["probabilities"])
    assert {k: v for k, v in after.items() if k not in ("predictions", "threshold")}.keys() == (
        {k for k in before if k != "predictions"}
    )
    assert after["classes"] == before["classes"]
    assert after["warnings"] == before["warnings"]
    assert after["model"] == before["model"]

    services.set_threshold(churn, None, actor=owner, via="api")
    cleared = served_answer(rows)
    assert "threshold" not in cleared
    assert cleared["predictions"] == before["predictions"]


def test_a_threshold_change_writes_an_audit_entry_not_an_artifact(churn, owner):
    artifact = churn.artifact_sha256
    returned = services.set_threshold(churn, 0.42, actor=owner, via="page")
    services.set_threshold(churn, None, actor=owner, via="api")

    assert returned.threshold == 0.42
    version = ModelVersion.objects.get(pk=churn.pk)
    assert version.threshold is None
    assert version.artifact_sha256 == artifact
    assert version.model.versions.count() == 1
    first, second = AuditEntry.objects.filter(model=churn.model).order_by("created_at", "id")
    assert (first.actor, first.via, first.action, first.version_id) == (
        owner,
        "page",
        "threshold.set",
        churn.pk,
    )
    assert (first.before, first.after) == ({"threshold": None}, {"threshold": 0.42})
    assert (second.via, second.before, second.after) == (
        "api",
        {"threshold": 0.42},
        {"threshold": None},
    )


def test_a_superuser_may_set_it_and_another_user_may_not(churn, other, admin_user):
    with pytest.raises(services.Forbidden):
        services.set_threshold(churn, 0.3, actor=other, via="api")
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    services.set_threshold(churn, 0.3, actor=admin_user, via="admin")
    assert ModelVersion.objects.get(pk=churn.pk).threshold == 0.3
    assert not AuditEntry.objects.filter(actor=other).exists()


@pytest.mark.parametrize("value", [0, 1, -0.1, 1.5, math.nan, math.inf, True, "0.3", [0.3]])
def test_it_refuses_a_threshold_outside_zero_to_one(churn, owner, value):
    with pytest.raises(services.InvalidInput, match="between 0 and 1") as caught:
        services.set_threshold(churn, value, actor=owner, via="api")
    assert "threshold" in caught.value.errors
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_classifier_of_more_than_two_classes(churn, owner):
    ModelVersion.objects.filter(pk=churn.pk).update(classes=["a", "b", "c"])
    churn.refresh_from_db()
    with pytest.raises(services.InvalidInput, match="two classes"):
        services.set_threshold(churn, 0.3, actor=owner, via="api")
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_version_that_is_not_ready(owner, make_model):
    model = make_model("churn", status="running")
    version = model.versions.get()
    with pytest.raises(services.Conflict, match="running"):
        services.set_threshold(version, 0.3, actor=owner, via="api")
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_classifier_without_probabilities(churn, owner, trained_churn):
    """A perceptron fitted as the algorithms table built it before it gave probabilities."""
    X, y, _, _ = load_training_data(churn)
    plain = types.SimpleNamespace(
        build=lambda params: numpyml.Perceptron(random_state=0), scale=True
    )
    pipeline = build_pipeline(plain, {}, churn.features).fit(X, y)
    assert not hasattr(pipeline.steps[-1][1], "predict_proba")
    data = numpyml.save(pipeline)
    metrics = {k: v for k, v in trained_churn["metrics"].items() if k != "threshold_counts"}
    version = install_trained(
        {
            **trained_churn,
            "algorithm": "perceptron",
            "params": {},
            "metrics": metrics,
            "artifact": data,
            "artifact_sha256": hashlib.sha256(data).hexdigest(),
            "artifact_size": len(data),
        },
        owner=owner,
        dataset=churn.dataset,
        name="plain",
    )
    with pytest.raises(services.InvalidInput, match="probabilities"):
        services.set_threshold(version, 0.3, actor=owner, via="api")
    assert not AuditEntry.objects.exists()


def test_another_server_serves_the_new_threshold_within_the_resolve_ttl(churn, monkeypatch):
    assert serving.resolve("churn", version=1).threshold is None
    # Another server's change: this process still has its resolution from before.
    ModelVersion.objects.filter(pk=churn.pk).update(threshold=0.3)
    assert serving.resolve("churn", version=1).threshold is None
    later = ttl.time.monotonic() + serving.RESOLVE_TTL_S + 0.001
    monkeypatch.setattr(ttl.time, "monotonic", lambda: later)
    assert serving.resolve("churn", version=1).threshold == 0.3
    assert serving.resolve("churn").threshold == 0.3  # by its production alias too


def test_a_csv_batch_uses_the_threshold(churn, owner):
    rows = demo_rows(20)
    p1 = served_answer(rows)["probabilities"][:, 1]
    services.set_threshold(churn, 0.25, actor=owner, via="api")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    served = serving.resolve("churn", version=1)
    body = serving.predict_csv(served, text.getvalue().encode(), user=None)
    labels = [row["prediction"] for row in csv.DictReader(io.StringIO(body.decode()))]
    assert labels == np.where(p1 >= 0.25, "yes", "no").tolist()
