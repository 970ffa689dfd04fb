"""What a trained pipeline is worth on the holdout rows (metrics by kind), and the input
schema a version records from it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from numpyml import metrics as M
from numpyml.pipeline import Pipeline
from registry import jsonsafe
from registry.algorithms import CLASSIFIER, CLUSTERING, REGRESSOR
from registry.models import ModelVersion
from registry.pipeline import categories_of, estimator_of, preprocessing_of

# The holdout is scored in this many parts when a caller follows the progress: a k-NN does
# nearly all its work here, comparing each held-out row with every training row.
SCORING_PARTS = 20
# ROC and precision-recall curves keep at most this many points: enough to draw them, and
# a version record stays small whatever the number of held-out rows.
MAX_CURVE_POINTS = 200
# A binary classifier's held-out probabilities are kept as counts in this many bins per true
# class: enough for a threshold slider in steps of 1/THRESHOLD_BINS, and a version record
# stays small whatever the number of held-out rows.
THRESHOLD_BINS = 1000


def _score(score: Callable[[dict], Any], X: dict, report: Callable[[float], None] | None) -> Any:
    """score(X), in parts with report(share done) after each when there is a report."""
    n = len(next(iter(X.values())))
    if report is None or n < 2 * SCORING_PARTS:
        return score(X)
    bounds = np.linspace(0, n, SCORING_PARTS + 1).astype(int)
    parts = []
    for index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        parts.append(score({name: column[start:stop] for name, column in X.items()}))
        report((index + 1) / SCORING_PARTS)
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(pieces) for pieces in zip(*parts, strict=True))
    return np.concatenate(parts)


def compute_metrics(
    kind: str,
    pipeline: Pipeline,
    X_test: dict,
    y_test: np.ndarray | None,
    X_train: dict,
    report: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """The holdout metrics; `report(share)` follows the scoring of the holdout rows."""
    model = estimator_of(pipeline)
    if kind == CLASSIFIER:
        proba = None
        if hasattr(model, "predict_proba"):  # scored once, with its probabilities
            predicted, proba = _score(pipeline.predict_with_proba, X_test, report)
        else:
            predicted = _score(pipeline.predict, X_test, report)
        labels = list(pipeline.classes_)
        result: dict[str, Any] = {
            "accuracy": M.accuracy_score(y_test, predicted),
            "f1_macro": M.f1_score(y_test, predicted, average="macro", zero_division=0),
            "precision_macro": M.precision_score(
                y_test, predicted, average="macro", zero_division=0
            ),
            "recall_macro": M.recall_score(y_test, predicted, average="macro", zero_division=0),
            "confusion_matrix": {
                "labels": [jsonsafe.label(v) for v in labels],
                "matrix": M.confusion_matrix(y_test, predicted, labels=labels).tolist(),
            },
        }
        if proba is not None:
            result["log_loss"] = M.log_loss(y_test, proba, labels=labels)
        result["per_class"] = _per_class(y_test, predicted, labels)
        if len(labels) == 2 and np.unique(y_test).size == 2:
            scores = _positive_scores(pipeline, model, proba, X_test)
            if scores is not None:
                result.update(_binary_curves(y_test, scores, labels[1]))
        if len(labels) == 2 and proba is not None:
            result["threshold_counts"] = threshold_counts(y_test, proba[:, 1], labels[1])
        return result
    if kind == REGRESSOR:
        predicted = _score(pipeline.predict, X_test, report)
        return {
            "r2": M.r2_score(y_test, predicted),
            "rmse": M.root_mean_squared_error(y_test, predicted),
            "mae": M.mean_absolute_error(y_test, predicted),
            "explained_variance": M.explained_variance_score(y_test, predicted),
        }
    # A model without a target: its parts report in turn, the silhouette's n² distances
    # block by block.
    report = report or (lambda share: None)
    Z_test = preprocessing_of(pipeline).transform(X_test)
    report(0.25)
    if kind == CLUSTERING:
        labels = model.predict(Z_test)
        report(0.5)
        found = np.unique(labels)
        result = {
            "silhouette": (
                M.silhouette_score(
                    Z_test,
                    labels,
                    random_state=0,
                    callback=lambda info: report(0.5 + 0.25 * info["share"]),
                )
                if 1 < found.size < Z_test.shape[0]
                else None
            ),
            "cluster_sizes": np.bincount(labels, minlength=_n_clusters(model)).tolist(),
        }
        report(0.75)
        if hasattr(model, "inertia_"):
            result["inertia"] = float(model.inertia_)
        if hasattr(model, "bic"):
            result["bic"] = float(model.bic(Z_test))
            result["aic"] = float(model.aic(Z_test))
            result["avg_log_likelihood"] = float(model.score(Z_test))
        report(1.0)
        return result
    # decomposition
    ratios = model.explained_variance_ratio_
    projected = model.transform(Z_test)
    report(0.5)
    reconstructed = model.inverse_transform(projected)
    report(1.0)
    return {
        "explained_variance": float(ratios.sum()),
        "explained_variance_ratio": ratios.tolist(),
        "n_components": int(model.n_components_),
        "reconstruction_mse": float(np.mean((Z_test - reconstructed) ** 2)),
    }


def _per_class(y_test: np.ndarray, predicted: np.ndarray, labels: list) -> list[dict]:
    precision, recall, f1, support = M.precision_recall_fscore_support(
        y_test, predicted, labels=labels, average=None, zero_division=0
    )
    return [
        {
            "label": jsonsafe.label(label),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    ]


def _positive_scores(
    pipeline: Pipeline, model: Any, proba: np.ndarray | None, X_test: dict
) -> np.ndarray | None:
    """The second class's score on each held-out row: its probability, else the decision
    function; None for a classifier that gives neither (it has no curves)."""
    if proba is not None:
        return np.asarray(proba, dtype=float)[:, 1]
    if hasattr(model, "decision_function"):
        return np.asarray(pipeline.decision_function(X_test), dtype=float).ravel()
    return None


def _thin(*curves: np.ndarray) -> list[list[float]]:
    """At most MAX_CURVE_POINTS evenly spaced points, the first and the last kept."""
    n = curves[0].shape[0]
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_CURVE_POINTS)).round().astype(int))
    return [curve[keep].tolist() for curve in curves]


def _binary_curves(y_test: np.ndarray, scores: np.ndarray, positive: Any) -> dict[str, Any]:
    fpr, tpr, _ = M.roc_curve(y_test, scores, pos_label=positive)
    precision, recall, _ = M.precision_recall_curve(y_test, scores, pos_label=positive)
    fpr_kept, tpr_kept = _thin(fpr, tpr)
    precision_kept, recall_kept = _thin(precision, recall)
    return {
        "positive_class": jsonsafe.label(positive),
        "roc_auc": M.auc(fpr, tpr),
        "average_precision": M.average_precision_score(y_test, scores, pos_label=positive),
        "roc_curve": {"fpr": fpr_kept, "tpr": tpr_kept},
        "pr_curve": {"recall": recall_kept, "precision": precision_kept},
    }


def score_bins(p1: np.ndarray) -> np.ndarray:
    """Each probability's bin: floor(p * THRESHOLD_BINS) clipped to the last bin, counted as
    the thresholds k / THRESHOLD_BINS (k = 1 .. THRESHOLD_BINS - 1) it reaches, so that a row
    in bin b is labelled positive at threshold k exactly when serving's `p >= k / bins` is."""
    grid = np.arange(1, THRESHOLD_BINS) / THRESHOLD_BINS
    return np.searchsorted(grid, np.asarray(p1, dtype=float), side="right")


def threshold_counts(y_test: np.ndarray, p1: np.ndarray, positive: Any) -> dict[str, Any]:
    """Held-out rows per probability bin of the positive class, by true class: at threshold
    k / bins, rows in bins >= k are predicted positive (true positives from `pos`, false
    positives from `neg`), the rest negative."""
    bins = score_bins(p1)
    is_positive = np.asarray(y_test) == positive
    return {
        "positive": jsonsafe.label(positive),
        "bins": THRESHOLD_BINS,
        "pos": np.bincount(bins[is_positive], minlength=THRESHOLD_BINS).tolist(),
        "neg": np.bincount(bins[~is_positive], minlength=THRESHOLD_BINS).tolist(),
    }


def _n_clusters(model: Any) -> int:
    return int(getattr(model, "n_clusters", None) or getattr(model, "n_components", 1))


def input_schema(version: ModelVersion, pipeline: Pipeline, dataset_schema: dict) -> list[dict]:
    """Feature names, types, categories seen in training, and numeric summaries for forms."""
    categories = categories_of(pipeline)
    schema = []
    for feature in version.features:
        entry = {"name": feature["name"], "type": feature["type"]}
        info = dataset_schema.get(feature["name"], {})
        if feature["type"] == "number":
            entry.update({k: info[k] for k in ("min", "max", "mean") if k in info})
        elif feature["type"] == "date":  # the format it was read in; bounds as ISO text
            entry.update({k: info[k] for k in ("format", "min", "max") if k in info})
        else:
            entry["categories"] = categories.get(feature["name"], [])
        schema.append(entry)
    return schema
