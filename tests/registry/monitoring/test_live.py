"""registry.monitoring.live.live_metric on labelled predictions: a regressor's r2, mae and
rmse against numpyml and scikit-learn, the daily series, the window of days and last N,
and kinds with no true answers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from numpyml import metrics as M
from registry.models import Feedback
from registry.monitoring import live
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def label(version, rows: list[tuple[float, float]], *, days_ago: int) -> None:
    """Feedback rows (label, predicted) for predictions made `days_ago` days ago."""
    when = timezone.now() - timedelta(days=days_ago)
    request_id = uuid.uuid4()
    Feedback.objects.bulk_create(
        Feedback(
            request_id=request_id,
            row=i,
            version=version,
            label=y,
            predicted=p,
            predicted_at=when - timedelta(microseconds=len(rows) - i),
        )
        for i, (y, p) in enumerate(rows)
    )


def test_a_regressors_live_metric_is_r2_with_mae_and_rmse_per_day(make_model):
    from sklearn.metrics import mean_absolute_error, r2_score

    model = make_model("houses", versions=0)
    version = make_version(
        model, 1, algorithm="linear_regression", classes=None, metrics={"r2": 0.7, "mae": 3.0}
    )
    rng = np.random.default_rng(0)
    old = [(float(y), float(y + rng.normal(0, 2))) for y in rng.normal(50, 10, 30)]
    new = [(float(y), float(y + rng.normal(0, 5))) for y in rng.normal(50, 10, 20)]
    label(version, old, days_ago=3)
    label(version, new, days_ago=0)

    result = live.live_metric(version)
    y, p = np.array([r[0] for r in old + new]), np.array([r[1] for r in old + new])
    assert result["metric"] == "r2"
    assert result["n_labelled"] == 50
    assert result["value"] == pytest.approx(M.r2_score(y, p))
    assert result["value"] == pytest.approx(r2_score(y, p))
    assert result["metrics"]["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert result["training_value"] == 0.7
    assert [d["n"] for d in result["series"]] == [30, 20]
    assert result["series"][0]["value"] == pytest.approx(r2_score(y[:30], p[:30]))
    assert result["series"][1]["value"] == pytest.approx(r2_score(y[30:], p[30:]))

    recent = live.live_metric(version, days=1)
    assert recent["n_labelled"] == 20
    assert recent["value"] == pytest.approx(r2_score(y[30:], p[30:]))
    last = live.live_metric(version, last_n=25)
    assert last["n_labelled"] == 25
    assert last["value"] == pytest.approx(r2_score(y[25:], p[25:]))


def test_class_labels_match_whatever_their_spelling(make_model):
    version = make_model("flags", classes=[0, 1]).versions.get()
    label(version, [(1, 1.0), ("1", 1), (0, 1), (0.0, 0)], days_ago=0)
    assert live.live_metric(version)["value"] == pytest.approx(0.75)


def test_no_labels_and_kinds_without_true_answers_have_no_value(make_model):
    version = make_model("quiet").versions.get()
    empty = live.live_metric(version)
    assert (empty["metric"], empty["value"], empty["n_labelled"], empty["series"]) == (
        "accuracy",
        None,
        0,
        [],
    )
    clusters = make_version(version.model, 2, algorithm="kmeans", classes=None)
    assert live.live_metric(clusters)["metric"] is None
