"""The promote confirmation page shows the candidate beside the current production version:
algorithm, target, metrics with deltas, the input-schema diff and recent traffic."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import PredictionLog
from tests.registry.conftest import CHURN_FEATURES, classifier_metrics, make_version

pytestmark = pytest.mark.django_db

URL = reverse("alias_move", args=["churn"])


def log_requests(version, count, *, hours_ago):
    at = timezone.now() - timedelta(hours=hours_ago)
    PredictionLog.objects.bulk_create(
        PredictionLog(
            version=version, created_at=at, source="api", status=200, latency_ms=1.0, n_rows=1
        )
        for _ in range(count)
    )


@pytest.fixture
def candidate_beside_production(make_model, settings):
    settings.MLSERVE_PREDICTION_LOG_RATE = 1.0
    model = make_model("churn", versions=0)
    v1 = make_version(model, 1, metrics=classifier_metrics(0.80))
    features = [f for f in CHURN_FEATURES if f["name"] != "internet"]
    features[0] = {"name": "tenure_months", "type": "category", "categories": ["short", "long"]}
    features.append({"name": "region", "type": "category", "categories": ["north", "south"]})
    make_version(
        model,
        2,
        algorithm="gaussian_nb",
        params={},
        metrics={**classifier_metrics(0.85), "n_test": 150},
        features=features,
        dataset_sha256="2" * 64,
    )
    model.aliases.create(name="production", version=v1)
    log_requests(v1, 7, hours_ago=1)
    log_requests(v1, 5, hours_ago=30)  # older than a day: not counted
    return model


def test_it_shows_the_candidate_beside_production(owner_client, candidate_beside_production):
    response = owner_client.get(URL, {"alias": "production", "version": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-promotion-comparison" in html
    assert "<td>Logistic regression</td><td>Gaussian naive Bayes</td>" in html
    # Metrics with deltas, better or worse.
    assert (
        '<th scope="row">Accuracy</th><td class="num">0.8000</td><td class="num">0.8500</td>'
        '<td class="num">+0.0500 <span class="muted">(better)</span></td>'
    ) in html
    # Different holdout rows: the deltas compare different tests.
    assert "measured on different holdout rows" in html
    # The input-schema diff.
    assert "<strong>Added columns:</strong> region</p>" in html
    assert "<strong>Removed columns:</strong> internet</p>" in html
    assert "<strong>Retyped columns:</strong> tenure_months (number → category)</p>" in html
    # What production served in the last 24 h.
    assert "<strong data-recent-requests>7</strong>" in html


def test_it_says_nothing_about_holdout_rows_that_are_the_same(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    html = owner_client.get(URL, {"alias": "production", "version": 2}).content.decode()
    assert "data-promotion-comparison" in html
    assert "measured on different holdout rows" not in html
    assert "The input columns are the same." in html


def test_it_compares_nothing_without_a_production_version(owner_client, make_model):
    make_model("churn", versions=1)
    html = owner_client.get(URL, {"alias": "production", "version": 1}).content.decode()
    assert "Move production to v1?" in html
    assert "data-promotion-comparison" not in html


def test_it_says_same_for_an_unchanged_metric(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    html = owner_client.get(URL, {"alias": "production", "version": 2}).content.decode()
    assert (
        '<th scope="row">Accuracy</th><td class="num">0.8500</td><td class="num">0.8500</td>'
        '<td class="num">same</td>'
    ) in html
