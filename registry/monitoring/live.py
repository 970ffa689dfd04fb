"""Live metrics: a version's task metric on the predictions it served, from the true
answers sent back as feedback (registry/monitoring/feedback.py).

Each Feedback row holds the label and the logged prediction it joined (copied when the
label arrived), so a live metric reads one version's rows through the (version,
predicted_at) index and nothing else: accuracy for a classifier, r2 (with mae and rmse)
for a regressor, over a window of days or the last N labelled rows, and per day (UTC) of
the prediction.

`/metrics` exports the live metric and drift per feature as gauges (`LiveCollector`), for
at most GAUGE_MAX_VERSIONS ready versions with predictions logged or labelled in the last
GAUGE_DAYS days (the newest first): bounded cardinality, whatever the registry holds. They
are computed at most once per GAUGE_TTL_S per server (a scrape between reads the cache),
never per scrape for every version.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

import numpy as np
import orjson
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from numpyml import metrics as M
from registry.algorithms import CLASSIFIER, HEADLINE_METRIC, REGRESSOR
from registry.models import Feedback, ModelVersion, PredictionLog
from registry.monitoring import drift
from registry.monitoring.feedback import key

logger = logging.getLogger(__name__)

MAX_ROWS = 100_000  # labelled rows one live metric reads at most (the newest)
PAGE_DAYS = 30  # the window the version and model pages chart


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
        "training_value": _number((version.metrics or {}).get(metric)) if metric else None,
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


def labelled_version_ids(version_ids: list[int], *, days: int) -> set[int]:
    """Which of these versions have labelled predictions in the last `days` days (one
    query: a page asks before reading any version's live metric)."""
    since = timezone.now() - timedelta(days=days)
    return set(
        Feedback.objects.filter(version_id__in=version_ids, predicted_at__gte=since)
        .order_by()
        .values_list("version_id", flat=True)
        .distinct()
    )


# Gauges for /metrics --------------------------------------------------------------------------

GAUGE_DAYS = 7
GAUGE_MAX_VERSIONS = 50
GAUGE_TTL_S = 60
GAUGE_KEY = "live:gauges"


def active_versions(days: int = GAUGE_DAYS, limit: int = GAUGE_MAX_VERSIONS) -> list[ModelVersion]:
    """Ready versions with predictions logged or labelled in the last `days` days, newest
    first: one index probe per ready version on each table."""
    since = timezone.now() - timedelta(days=days)
    logged = PredictionLog.objects.filter(version_id=OuterRef("pk"), created_at__gte=since)
    labelled = Feedback.objects.filter(version_id=OuterRef("pk"), predicted_at__gte=since)
    return list(
        ModelVersion.objects.filter(status=ModelVersion.Status.READY)
        .filter(Exists(logged) | Exists(labelled))
        .select_related("model")
        .order_by("-pk")[:limit]
    )


def gauge_samples() -> dict[str, list]:
    """{"live": [[model, version, metric], value], "labelled", "psi", "drifting"}, from the
    cache when computed less than GAUGE_TTL_S ago."""
    cached = cache.get(GAUGE_KEY)
    if cached is not None:
        return orjson.loads(cached)
    samples: dict[str, list] = {"live": [], "labelled": [], "psi": [], "drifting": []}
    for version in active_versions():
        labels = [version.model.name, str(version.version)]
        measured = live_metric(version, days=GAUGE_DAYS)
        if measured["n_labelled"]:
            samples["labelled"].append([labels, measured["n_labelled"]])
        if measured["value"] is not None:
            samples["live"].append([[*labels, measured["metric"]], measured["value"]])
        report = drift.report(version, days=GAUGE_DAYS)
        if report["drifting"] is None:  # no profile, or too few rows for a verdict
            continue
        samples["drifting"].append([labels, float(report["drifting"])])
        for feature in report["features"]:
            if feature["psi"] is not None:
                samples["psi"].append([[*labels, feature["name"]], feature["psi"]])
    # Kept as JSON bytes, like the drift reports: the cache holds no pickled objects.
    cache.set(GAUGE_KEY, orjson.dumps(samples), GAUGE_TTL_S)
    return samples


def forget_gauges() -> None:
    cache.delete(GAUGE_KEY)


_GAUGES = (
    (
        "live",
        "mlserve_live_metric",
        "A version's task metric (accuracy, r2) on its predictions of the last 7 days that "
        "were given true answers (POST .../feedback).",
        ["model", "version", "metric"],
    ),
    (
        "labelled",
        "mlserve_live_labelled_rows",
        "Predictions of the last 7 days given true answers, per version.",
        ["model", "version"],
    ),
    (
        "psi",
        "mlserve_drift_psi",
        "Population stability index of a feature's last 7 days of inputs against training "
        "(versions with enough rows for a verdict).",
        ["model", "version", "feature"],
    ),
    (
        "drifting",
        "mlserve_drift_drifting",
        "1 when any feature of the version is drifting, else 0.",
        ["model", "version"],
    ),
)


class LiveCollector:
    """Live metrics and drift of recently active versions, from the database (cached)."""

    def collect(self) -> Any:
        try:
            samples = gauge_samples()
        except DatabaseError:
            logger.warning("live metric and drift gauges skipped: the database is unavailable")
            return
        for part, name, documentation, labels in _GAUGES:
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for values, number in samples[part]:
                family.add_metric(values, number)
            yield family


def _number(value: Any) -> float | None:
    """A stored metric as a finite number, or None: an imported card's metrics are
    untrusted (a string, a list, an overflowing number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value) if abs(value) < 1e308 else math.inf
    return number if math.isfinite(number) else None
