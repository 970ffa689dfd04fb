"""The version page's "Decision threshold" section: the confusion matrix and metrics at a
threshold, recomputed from the stored holdout counts (the numbers equal numpyml's on the
holdout probabilities), saved or cleared by the model's owner (audited), and used by the
page's own predictions."""

import re

import numpy as np
import pytest
from django.urls import reverse

import numpyml
from numpyml import metrics as M
from registry import services
from registry.models import AuditEntry, ModelVersion
from tests.registry.training.test_curves import holdout

pytestmark = pytest.mark.django_db

ROW = {"f0": "3", "f1": "95", "f2": "month-to-month", "f3": "fiber", "f4": "4"}


def page(client, number=1) -> str:
    response = client.get(reverse("version_detail", args=["churn", number]))
    assert response.status_code == 200
    return response.content.decode()


def save(client, data, number=1):
    return client.post(reverse("version_threshold", args=["churn", number]), data)


def shown(html: str) -> dict[str, str]:
    """What the section shows: its four cells and four metrics, by name."""
    cells = re.findall(r'data-threshold-cell="(\w+)"[^>]*>([^<]*)<', html)
    values = re.findall(r'data-threshold-metric="(\w+)"[^>]*>([^<]*)<', html)
    return dict(cells + values)


def by_hand(version, threshold: float) -> dict[str, str]:
    X_test, y_test = holdout(version)
    p1 = numpyml.load(bytes(version.artifact)).predict_proba(X_test)[:, 1]
    predicted = np.where(p1 >= threshold, "yes", "no")
    (tn, fp), (fn, tp) = M.confusion_matrix(y_test, predicted, labels=["no", "yes"]).tolist()
    kw = {"pos_label": "yes", "zero_division": 0}
    return {
        "tn": str(tn),
        "fp": str(fp),
        "fn": str(fn),
        "tp": str(tp),
        "accuracy": f"{M.accuracy_score(y_test, predicted):.4f}",
        "precision": f"{M.precision_score(y_test, predicted, **kw):.4f}",
        "recall": f"{M.recall_score(y_test, predicted, **kw):.4f}",
        "f1": f"{M.f1_score(y_test, predicted, **kw):.4f}",
    }


@pytest.mark.parametrize("threshold", [None, 0.3, 0.731])
def test_its_numbers_at_the_threshold_are_numpymls_on_the_holdout(
    other_client, churn, owner, threshold
):
    if threshold is not None:
        services.set_threshold(churn, threshold, actor=owner, via="api")
    html = page(other_client)
    assert 'id="threshold-title"' in html
    assert shown(html) == by_hand(churn, threshold or 0.5)
    assert 'id="threshold-counts"' in html  # the counts the slider recomputes from
    assert 'src="/static/js/threshold.js"' in html
    assert f'value="{threshold or 0.5}"' in html
    assert "data-threshold-save" not in html  # not the owner: no Save button
    assert "<script>" not in html  # the CSP forbids inline script


def test_the_owner_saves_it_and_the_pages_prediction_uses_it(owner_client, churn, owner):
    response = save(owner_client, {"threshold": "0.05"})
    assert response.status_code == 302
    assert response["Location"].endswith("#threshold")
    version = ModelVersion.objects.get(pk=churn.pk)
    assert version.threshold == 0.05
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.via, entry.after) == (owner, "page", {"threshold": 0.05})

    html = page(owner_client)
    assert "data-threshold-save" in html
    assert re.search(r"data-threshold-entry>.*olivia.*own rule.*0\.05", html, re.S)
    predicted = owner_client.post(reverse("version_predict", args=["churn", 1]), ROW)
    # Nearly every row is "yes" at 0.05: this one's probability of "yes" is above it.
    assert "data-prediction-value>yes</strong>" in predicted.content.decode()
    assert "data-prediction-threshold>With this version's decision threshold: 0.05" in (
        predicted.content.decode().replace("&#x27;", "'")
    )

    response = save(owner_client, {"action": "clear"})
    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    assert AuditEntry.objects.count() == 2


def test_a_value_out_of_range_is_refused_in_words(owner_client, churn):
    response = save(
        owner_client,
        {"threshold": "1.5"},
    )
    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    html = owner_client.get(response["Location"]).content.decode()
    assert "between 0 and 1" in html
    assert not AuditEntry.objects.exists()


def test_another_user_may_not_save_it(other_client, churn):
    assert save(other_client, {"threshold": "0.3"}).status_code == 403
    assert ModelVersion.objects.get(pk=churn.pk).threshold is None
    assert not AuditEntry.objects.exists()


def test_a_version_trained_before_the_counts_asks_for_a_new_training(owner_client, churn):
    metrics = {k: v for k, v in churn.metrics.items() if k != "threshold_counts"}
    ModelVersion.objects.filter(pk=churn.pk).update(metrics=metrics)
    html = page(owner_client)
    assert 'id="threshold-title"' in html
    assert "train a new version" in html.lower()
    assert 'id="threshold-counts"' not in html


def test_a_version_without_probabilities_says_it_has_no_threshold(owner_client, churn):
    metrics = {k: v for k, v in churn.metrics.items() if k not in ("threshold_counts", "log_loss")}
    ModelVersion.objects.filter(pk=churn.pk).update(metrics=metrics)
    html = page(owner_client)
    assert "gave no class probabilities" in html
    assert "PUT /api/v1" not in html


def test_a_multiclass_version_has_no_threshold_section(owner_client, owner, make_model):
    make_model("churn", classes=["a", "b", "c"])
    assert 'id="threshold-title"' not in page(owner_client)
