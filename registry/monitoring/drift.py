"""Data drift: a version's training-data profile, and recent inputs compared with it.

At training time `profile_of` summarises the training rows (registry/training/ stores it
in ModelVersion.profile): per numeric feature, PROFILE_BINS quantile bins (cut points and
the share of rows in each; a feature with few distinct values gets one bin per value) and
the share of missing values; per categorical feature, the share of each of its
PROFILE_MAX_CATEGORIES most frequent categories, the share of all the others ("other") and
of missing values.

`report` compares the inputs logged for the version (registry/monitoring/predlog.py) over a window
(the last `days` days, at most `max_rows` rows and MLSERVE_DRIFT_MAX_CELLS rows x features,
newest first, successful requests only) with that profile, feature by feature (the result
is cached for CACHE_TTL_S, keyed by the version, the window and the newest logged request):

- the population stability index, PSI = sum over bins of (a - e) * ln(a / e), with a and e
  the recent and training shares of each bin (missing values are a bin; an empty bin
  counts as PSI_EPSILON so that the logarithm stays finite);
- for a categorical feature, the share of recent values never seen in training.

A feature is "drifting" when its PSI is above PSI_DRIFTING (0.2) or, for a categorical
one, when more than UNSEEN_DRIFTING (10%) of its recent values are unseen; "moderate" when
its PSI is between PSI_MODERATE (0.1) and 0.2; "stable" below. The version is drifting
when any feature is. With fewer than MIN_ROWS recent rows there is no verdict: on small
samples PSI measures mostly noise (about (bins - 1) / rows on average).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import orjson
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from registry import cards
from registry.models import ModelVersion, PredictionLog

logger = logging.getLogger(__name__)

PROFILE_BINS = 10
PROFILE_MAX_CATEGORIES = 30
PSI_EPSILON = 1e-4
PSI_MODERATE = 0.1
PSI_DRIFTING = 0.2
UNSEEN_DRIFTING = 0.10
MIN_ROWS = 200
DEFAULT_DAYS = 7
DEFAULT_MAX_ROWS = 10_000
# A computed report is kept this long (per process, Django's cache) for the same version,
# window and newest logged request: views of the page do not compute it again.
CACHE_TTL_S = 60
THRESHOLDS = {
    "psi_moderate": PSI_MODERATE,
    "psi_drifting": PSI_DRIFTING,
    "unseen_share_drifting": UNSEEN_DRIFTING,
}


# The profile ---------------------------------------------------------------------------------


def _share(count: int | float, total: int) -> float:
    return round(float(count) / total, 6) if total else 0.0


def _numeric_profile(column: np.ndarray) -> dict[str, Any]:
    values = np.asarray(column, dtype=np.float64)
    present = values[~np.isnan(values)]
    n = values.size
    if present.size == 0:
        return {"type": "number", "edges": [], "proportions": [0.0], "missing": 1.0}
    distinct = np.unique(present)
    if distinct.size <= PROFILE_BINS:
        edges = (distinct[:-1] + distinct[1:]) / 2  # one bin per value
    else:
        quantiles = np.quantile(present, np.linspace(0, 1, PROFILE_BINS + 1))
        edges = np.unique(quantiles[1:-1])
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
    return {
        "type": "number",
        "edges": [float(e) for e in edges],
        "proportions": [_share(c, n) for c in counts],
        "missing": _share(n - present.size, n),
        "min": float(distinct[0]),
        "max": float(distinct[-1]),
    }


def _category_profile(column: np.ndarray) -> dict[str, Any]:
    n = len(column)
    counts = Counter(v for v in column.tolist() if v is not None)
    top = counts.most_common(PROFILE_MAX_CATEGORIES)
    present = sum(counts.values())
    return {
        "type": "category",
        # A list of pairs, not an object: PostgreSQL's jsonb does not keep the key order.
        "categories": [[str(value), _share(count, n)] for value, count in top],
        "other": _share(present - sum(count for _, count in top), n),
        "missing": _share(n - present, n),
        "distinct": len(counts),
    }


def profile_of(table: dict[str, np.ndarray], features: list[dict[str, Any]]) -> dict[str, Any]:
    """The compact training-data profile stored in ModelVersion.profile."""
    n = len(next(iter(table.values()))) if table else 0
    return {
        "format": 1,
        "rows": n,
        "features": {
            f["name"]: (
                _numeric_profile(table[f["name"]])
                if f["type"] == "number"
                else _category_profile(table[f["name"]])
            )
            for f in features
            if f["type"] != "date"  # time moves on: a date's drift says nothing of the model
        },
    }


# Comparison ----------------------------------------------------------------------------------


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PSI_EPSILON), max(a, PSI_EPSILON)
        total += (a - e) * math.log(a / e)
    return round(total, 6)


def _verdict(value: float, unseen: float | None) -> str:
    if value > PSI_DRIFTING or (unseen is not None and unseen > UNSEEN_DRIFTING):
        return "drifting"
    return "moderate" if value > PSI_MODERATE else "stable"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _numeric_bins(spec: dict[str, Any]) -> list[str]:
    edges = spec["edges"]
    if not edges:
        return ["all values"]
    labels = [f"< {_fmt(edges[0])}"]
    labels += [f"{_fmt(lo)} to {_fmt(hi)}" for lo, hi in pairwise(edges)]
    labels.append(f"≥ {_fmt(edges[-1])}")
    return labels


def compare_numeric(spec: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    column = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    present = column[~np.isnan(column)]
    n = column.size
    edges = np.asarray(spec["edges"], dtype=np.float64)
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
    expected = [*spec["proportions"], spec["missing"]]
    actual = [*(_share(c, n) for c in counts), _share(n - present.size, n)]
    labels = [*_numeric_bins(spec), "missing"]
    return {
        "psi": psi(expected, actual) if n else None,
        "unseen_share": None,
        "missing_share": actual[-1] if n else None,
        "bins": _bins(labels, expected, actual if n else None),
    }


def compare_category(
    spec: dict[str, Any], values: list[Any], seen: set[str] | None
) -> dict[str, Any]:
    """`seen`: every category met in training (the input schema's), to tell the merely
    infrequent ("other") from the never seen ("unseen")."""
    known = {value: i for i, (value, _) in enumerate(spec["categories"])}
    other, missing = len(known), len(known) + 1
    counts = [0] * (len(known) + 2)
    unseen = 0
    for value in values:
        if value is None:
            counts[missing] += 1
            continue
        value = str(value)
        index = known.get(value)
        if index is None:
            index = other
            if seen is not None and value not in seen:
                unseen += 1
        counts[index] += 1
    n = len(values)
    expected = [*(share for _, share in spec["categories"]), spec["other"], spec["missing"]]
    actual = [_share(c, n) for c in counts]
    labels = [*known, "(other)", "(missing)"]
    return {
        "psi": psi(expected, actual) if n else None,
        "unseen_share": _share(unseen, n) if n else None,
        "missing_share": actual[missing] if n else None,
        "bins": _bins(labels, expected, actual if n else None),
    }


def _bins(labels: list[str], expected: list[float], actual: list[float] | None) -> list[dict]:
    return [
        {"label": label, "expected": e, "actual": actual[i] if actual is not None else None}
        for i, (label, e) in enumerate(zip(labels, expected, strict=True))
    ]


def compare(
    profile: dict[str, Any],
    features: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    *,
    min_rows: int = MIN_ROWS,
) -> dict[str, Any]:
    """Each feature of `rows` (logged inputs, by feature name) against the profile."""
    verdicts = len(rows) >= min_rows
    out = []
    for feature in features:
        name = feature["name"]
        spec = profile["features"].get(name)
        if spec is None:
            continue
        values = [row.get(name) for row in rows]
        if spec["type"] == "number":
            result = compare_numeric(spec, values)
        else:
            seen = set(feature.get("categories") or []) or None
            result = compare_category(spec, values, seen)
        status = (
            _verdict(result["psi"], result["unseen_share"])
            if verdicts and result["psi"] is not None
            else None
        )
        out.append(
            {
                "name": name,
                "type": spec["type"],
                **result,
                "status": status,
                "drifting": None if status is None else status == "drifting",
            }
        )
    if not verdicts:
        overall = "insufficient_data"
    elif any(f["status"] == "drifting" for f in out):
        overall = "drifting"
    elif any(f["status"] == "moderate" for f in out):
        overall = "moderate"
    else:
        overall = "stable"
    return {
        "status": overall,
        "drifting": None if overall == "insufficient_data" else overall == "drifting",
        "rows": len(rows),
        "min_rows": min_rows,
        "thresholds": THRESHOLDS,
        "features": out,
    }


# The report of a version ---------------------------------------------------------------------


def row_budget(n_features: int, max_rows: int) -> int:
    """Rows a report may read: at most `max_rows`, and rows x features at most
    MLSERVE_DRIFT_MAX_CELLS (a wide model gets fewer rows)."""
    return max(1, min(max_rows, settings.MLSERVE_DRIFT_MAX_CELLS // max(n_features, 1)))


def recent_inputs_query(version_id: int, since: Any) -> Any:
    """The logged inputs of a version's successful requests since `since`, newest first:
    through the (version, created_at) index."""
    return (
        PredictionLog.objects.filter(
            version_id=version_id, created_at__gte=since, status__lt=400, inputs__isnull=False
        )
        .order_by("-created_at")
        .values_list("inputs", flat=True)
    )


def recent_inputs(version_id: int, *, since: Any, max_rows: int) -> list[dict[str, Any]]:
    """The newest `max_rows` logged rows. Every logged request holds at least one row, so
    `max_rows` requests are enough (the query's LIMIT); they are read a few at a time, about
    `max_rows` rows a chunk, and reading stops as soon as there are enough."""
    chunk = max(1, min(500, max_rows // settings.MLSERVE_PREDICTION_LOG_MAX_ROWS))
    rows: list[dict[str, Any]] = []
    for inputs in recent_inputs_query(version_id, since)[:max_rows].iterator(chunk_size=chunk):
        rows.extend(inputs[: max_rows - len(rows)])
        if len(rows) >= max_rows:
            break
    return rows


def _cache_key(version: ModelVersion, days: int, max_rows: int) -> str:
    """Changes with the version, the window and the newest logged request of the version."""
    newest = (
        PredictionLog.objects.filter(version_id=version.pk)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return f"drift:{version.pk}:{version.artifact_sha256}:{days}:{max_rows}:{newest}"


def report(
    version: ModelVersion, *, days: int = DEFAULT_DAYS, max_rows: int = DEFAULT_MAX_ROWS
) -> dict[str, Any]:
    """The drift report of a ready version (the API's and the version page's)."""
    until = timezone.now()
    since = until - timedelta(days=days)
    max_rows = row_budget(len(version.features or ()), max_rows)
    head = {
        "model": version.model.name,
        "version": version.version,
        "window": {"days": days, "max_rows": max_rows, "since": since, "until": until},
        "training_rows": (
            version.profile.get("rows") if isinstance(version.profile, dict) else None
        ),
    }
    profile = version.profile if isinstance(version.profile, dict) else {}
    problem = cards.profile_problem(profile, version.features) if profile else None
    if problem:
        logger.warning("the profile of %s cannot be read: %s", version, problem)
    if problem or not profile.get("features"):
        # Trained before profiles existed (or imported without one, or stored damaged):
        # nothing to compare with.
        return {
            **head,
            "status": "no_profile",
            "drifting": None,
            "rows": 0,
            "min_rows": MIN_ROWS,
            "thresholds": THRESHOLDS,
            "features": [],
        }
    key = _cache_key(version, days, max_rows)
    cached = cache.get(key)
    if cached is None:
        rows = recent_inputs(version.pk, since=since, max_rows=max_rows)
        # Kept as JSON bytes: the cache never holds (nor unpickles) objects built from the log.
        cached = orjson.dumps(compare(version.profile, version.features, rows))
        cache.set(key, cached, CACHE_TTL_S)
    return {**head, **orjson.loads(cached)}
