"""Live metrics: a version's task metric on the predictions it served, from the true
answers sent back as feedback (registry/monitoring/feedback.py).

Each Feedback row holds the label and the logged prediction it joined (copied when the
label arrived), so a live metric reads one version's rows through the (version,
predicted_at) index and nothing else: accuracy for a classifier, r2 (with mae and rmse)
for a regressor, over a window of days or the last N labelled rows, and per day (UTC) of
the prediction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from numpyml import metrics as M
from registry.algorithms import CLASSIFIER, HEADLINE_METRIC, REGRESSOR
from registry.models import Feedback, ModelVersion
from registry.monitoring.feedback import key

MAX_ROWS = 100_000  # labelled rows one live metric reads at most (the newest)


def _scores(kind: str, labels: list[Any], predicted: list[Any]) -> dict[str, float | None]:
    """The metrics of these rows (None where too few rows make one meaningless)."""
    if not labels:
        return {}
    if kind == CLASSIFIER:
        truth = np.array([key(v) for v in labels], dtype=object)
        said = np.array([key(v) for v in predicted], dtype=object)
        return {"accuracy": float(M.accuracy_score(truth, said))}
    y = np.array(labels, dtype=np.float64)
    p = np.array([np.nan if v is None else v for v in predicted], dtype=np.float64)
    scores: dict[str, float | None] = {
        "mae": float(M.mean_absolute_error(y, p)),
        "rmse": float(M.root_mean_squared_error(y, p)),
        # r2 compares with the rows' spread: none with one row or one value.
        "r2": float(M.r2_score(y, p)) if y.size >= 2 and np.ptp(y) > 0 else None,
    }
    return scores


def live_metric(
    version: ModelVersion, *, days: int | None = None, last_n: int | None = None
) -> dict[str, Any]:
    """{"metric", "value", "n_labelled", "series": [{"day", "value", "n"}], "metrics",
    "training_value", "days", "last_n"}: the version's task metric over its labelled
    predictions of the last `days` days (all when None), of the newest `last_n` of them
    when given, and per day. "value" is None when no labelled rows (or too few) exist;
    "metric" is None for kinds with no true answers (clustering, decomposition)."""
    kind = version.kind
    metric = HEADLINE_METRIC[kind] if kind in (CLASSIFIER, REGRESSOR) else None
    result: dict[str, Any] = {
        "metric": metric,
        "value": None,
        "n_labelled": 0,
        "series": [],
        "metrics": {},
        "training_value": (version.metrics or {}).get(metric) if metric else None,
        "days": days,
        "last_n": last_n,
    }
    if metric is None:
        return result
    rows = Feedback.objects.filter(version=version)
    if days is not None:
        rows = rows.filter(predicted_at__gte=timezone.now() - timedelta(days=days))
    limit = min(last_n or MAX_ROWS, MAX_ROWS)
    found = list(
        rows.order_by("-predicted_at", "-id").values_list("predicted_at", "label", "predicted")[
            :limit
        ]
    )
    if not found:
        return result
    found.reverse()  # oldest first
    scores = _scores(kind, [r[1] for r in found], [r[2] for r in found])
    by_day: dict[str, tuple[list, list]] = {}
    for predicted_at, label, predicted in found:
        labels, said = by_day.setdefault(predicted_at.date().isoformat(), ([], []))
        labels.append(label)
        said.append(predicted)
    result.update(
        value=scores.get(metric),
        n_labelled=len(found),
        metrics=scores,
        series=[
            {"day": day, "value": _scores(kind, labels, said).get(metric), "n": len(labels)}
            for day, (labels, said) in by_day.items()
        ],
    )
    return result
