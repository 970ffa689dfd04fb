"""What the pages show, in words: labels, rows and formatted numbers for the templates.

Pure formatting of what the selectors read (no writes); the SVG chart geometry is in
registry/web/charts.py.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from registry import cards, evaluation, selectors
from registry.algorithms import ALGORITHMS, CLASSIFIER
from registry.models import ModelVersion

_DELIMITER_WORDS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ENCODING_WORDS = {"utf-8": "UTF-8"}


def read_as(options: dict[str, Any]) -> str:
    """How a dataset's file was read, in words: "semicolon-separated, decimal comma, cp1252".

    A dataset stored before read options existed was read with commas, points and UTF-8."""
    delimiter = _DELIMITER_WORDS.get(options.get("delimiter") or ",", "comma")
    decimal = "comma" if options.get("decimal") == "," else "point"
    encoding = options.get("encoding") or "utf-8"
    return f"{delimiter}-separated, decimal {decimal}, {_ENCODING_WORDS.get(encoding, encoding)}"


PLOT_TITLES = {
    "confusion_matrix": "Confusion matrix",
    "roc_curve": "ROC curve",
    "pr_curve": "Precision-recall curve",
    "predicted_vs_actual": "Predicted vs actual",
    "residuals": "Residuals",
    "clusters": "Clusters",
    "explained_variance": "Explained variance",
    "projection": "Projection",
    "feature_importances": "Feature importances",
    "permutation_importance": "Permutation importance",
    "loss_curve": "Loss curve",
}
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "f1_macro": "F1 score (macro)",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "log_loss": "Log loss",
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "Mean absolute error",
    "explained_variance": "Explained variance",
    "silhouette": "Silhouette",
    "inertia": "Inertia",
    "bic": "BIC",
    "aic": "AIC",
    "avg_log_likelihood": "Mean log-likelihood",
    "n_components": "Components",
    "reconstruction_mse": "Reconstruction MSE",
    "n_train": "Training rows",
    "n_test": "Test rows",
    "rows_dropped_missing_target": "Rows without a target (dropped)",
    "stratified": "Stratified split",
    "refit_rows": "Rows of the served model (refitted on all)",
}


def metric_label(key: str) -> str:
    """A metric's name in words: the same on every page ("R²", not "r2")."""
    return METRIC_LABELS.get(key, key.replace("_", " "))


def version_label(version: ModelVersion) -> str:
    """'v3 · Accuracy 0.842': formatted here, as template filters cost time in long lists."""
    if version.headline_value is None:
        return f"v{version.version}"
    label = metric_label(version.headline_metric)
    return f"v{version.version} · {label} {version.headline_value:.3f}"


def metric_rows(*metric_dicts: dict[str, Any]) -> list[dict[str, Any]]:
    """Scalar metrics of one or more versions, side by side, in a readable order."""
    keys: list[str] = []
    for metrics in metric_dicts:
        for key, value in metrics.items():
            scalar = value is None or isinstance(value, (int, float, bool))
            if scalar and key not in keys:
                keys.append(key)
    order = list(METRIC_LABELS)
    keys.sort(key=lambda k: order.index(k) if k in order else len(order))
    return [
        {
            "key": key,
            "label": metric_label(key),
            "values": [format_metric(m.get(key)) for m in metric_dicts],
        }
        for key in keys
    ]


# Metrics where a smaller value is the better model (the others in METRIC_LABELS: larger).
LOWER_IS_BETTER = {"log_loss", "rmse", "mae", "inertia", "bic", "aic", "reconstruction_mse"}
NOT_A_SCORE = {
    "n_train",
    "n_test",
    "rows_dropped_missing_target",
    "stratified",
    "n_components",
    "refit_rows",
}


def metric_deltas(current: dict[str, Any], candidate: dict[str, Any]) -> list[dict[str, Any]]:
    """metric_rows of production and a candidate, each with the candidate's change
    ("+0.0500") and whether it is better or worse, where both are numbers."""
    rows = metric_rows(current, candidate)
    for row in rows:
        old, new = current.get(row["key"]), candidate.get(row["key"])
        row["delta"], row["verdict"] = "", ""
        numbers = [v for v in (old, new) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) < 2:
            continue
        change = new - old
        if not change:
            row["delta"] = "same"
            continue
        row["delta"] = ("+" if change > 0 else "-") + format_metric(abs(change))
        if row["key"] in METRIC_LABELS and row["key"] not in NOT_A_SCORE:
            better = (change < 0) == (row["key"] in LOWER_IS_BETTER)
            row["verdict"] = "better" if better else "worse"
    return rows


def input_schema_rows(diff: dict[str, list]) -> list[dict[str, Any]]:
    """selectors.input_schema_diff in words, one row per kind of change that happened."""
    retyped = [f"{name} ({old} \u2192 {new})" for name, old, new in diff["retyped"]]
    rows = [
        {"label": "Added columns", "names": diff["added"]},
        {"label": "Removed columns", "names": diff["removed"]},
        {"label": "Retyped columns", "names": retyped},
    ]
    return [row for row in rows if row["names"]]


def format_metric(value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:,.1f}"
    return str(value)


def plot_links(version: ModelVersion) -> list[dict[str, str]]:
    """The version's plots in a readable order (names only: each is its own request)."""
    order = list(PLOT_TITLES)
    names = sorted(
        selectors.plot_names(version), key=lambda n: order.index(n) if n in order else len(order)
    )
    return [
        {
            "name": n,
            "title": PLOT_TITLES.get(n, n.replace("_", " ").capitalize()) + _area(version, n),
            "url": reverse("version_plot", args=[version.model.name, version.version, n]),
        }
        for n in names
    ]


# The area a curve plot's caption states, by plot.
CURVE_AREAS = {"roc_curve": ("roc_auc", "AUC"), "pr_curve": ("average_precision", "AP")}


def _area(version: ModelVersion, plot: str) -> str:
    key, words = CURVE_AREAS.get(plot, ("", ""))
    value = version.metrics.get(key) if key and isinstance(version.metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f" ({words} {value:.3f})"


def param_rows(*versions: ModelVersion) -> list[dict[str, Any]]:
    names: list[str] = []
    for version in versions:
        names.extend(n for n in version.params if n not in names)
    return [
        {
            "name": n,
            "values": [json.dumps(v.params[n]) if n in v.params else "\u2013" for v in versions],
        }
        for n in names
    ]


def feature_rows(version: ModelVersion) -> list[dict[str, Any]]:
    rows = []
    for feature in version.features:
        if feature["type"] == "number":
            low, high, mean = (feature.get(k) for k in ("min", "max", "mean"))
            summary = (
                f"{low:.4g} to {high:.4g}, mean {mean:.4g}"
                if all(cards.is_number(v) for v in (low, high, mean))
                else ""
            )
        elif feature["type"] == "date":
            low, high = (str(feature.get(k) or "") for k in ("min", "max"))
            summary = f"{low} to {high} ({feature.get('format', '')})" if low and high else ""
        else:
            categories = [str(c) for c in feature.get("categories") or [] if isinstance(c, str)]
            summary = ", ".join(categories[:12]) + (" …" if len(categories) > 12 else "")
        rows.append({"name": feature["name"], "type": feature["type"], "summary": summary})
    return rows


def hyperparameter_rows(version: ModelVersion) -> list[dict[str, Any]]:
    spec = ALGORITHMS.get(version.algorithm)
    rows = []
    for key, value in version.params.items():
        param = spec.param(key) if spec else None
        rows.append(
            {
                "name": key,
                "value": json.dumps(value),
                "default": param is not None and param.default == value,
                "help": param.help if param else "",
            }
        )
    return rows


def api_example(request: HttpRequest, version: ModelVersion) -> str:
    """A curl call with one row shaped like `version`'s inputs, to the model's name: callers
    follow `production` rather than pin a version (selectors.PRODUCTION)."""
    row: dict[str, Any] = {}
    for feature in version.features:
        if feature["type"] == "number":
            mean = feature.get("mean")
            row[feature["name"]] = float(f"{mean:.4g}") if cards.is_number(mean) else 0
        elif feature["type"] == "date":  # ISO text is read whatever the file's format was
            row[feature["name"]] = str(feature.get("max") or "2024-01-31")
        else:
            row[feature["name"]] = (feature.get("categories") or [""])[0]
    url = request.build_absolute_uri(f"/api/v1/models/{version.model.name}/predict")
    body = json.dumps({"instances": [row]})
    return (
        f"curl -X POST {url} \\\n"
        '  -H "Authorization: Bearer $MLSERVE_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'"
    )


def confusion_rows(confusion: dict[str, Any] | None) -> dict[str, Any] | None:
    if not confusion:
        return None
    labels = confusion["labels"]
    rows = [
        {"label": label, "cells": [{"count": c, "diagonal": i == j} for j, c in enumerate(row)]}
        for i, (label, row) in enumerate(zip(labels, confusion["matrix"], strict=True))
    ]
    return {"labels": labels, "rows": rows}


def threshold_counts_at(counts: dict[str, Any], k: int) -> dict[str, Any]:
    """The holdout's confusion counts and positive-class metrics at threshold k / bins, from
    training's threshold_counts (rows in bins >= k are predicted positive); static/js/
    threshold.js computes the same as the slider moves."""
    pos, neg = counts["pos"], counts["neg"]
    tp, fp = sum(pos[k:]), sum(neg[k:])
    fn, tn = sum(pos[:k]), sum(neg[:k])
    n = tp + fp + fn + tn
    return {
        "cells": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "metrics": {
            "accuracy": format_metric((tp + tn) / n if n else 0.0),
            "precision": format_metric(tp / (tp + fp) if tp + fp else 0.0),
            "recall": format_metric(tp / (tp + fn) if tp + fn else 0.0),
            "f1": format_metric(2 * tp / (2 * tp + fp + fn) if tp else 0.0),
        },
    }


def _threshold_text(value: Any) -> str:
    return "the model's own rule" if value is None else f"{value:g}"


def threshold_view(
    version: ModelVersion, counts: dict[str, Any] | None, entries: list[Any]
) -> dict[str, Any] | None:
    """The version page's decision-threshold section of a binary classifier (None for any
    other version): the numbers at the stored threshold (0.5 when none), what the slider
    needs to recompute them, and the changes so far."""
    classes = version.classes
    if version.kind != CLASSIFIER or not isinstance(classes, list) or len(classes) != 2:
        return None
    view: dict[str, Any] = {
        "negative": str(classes[0]),
        "positive": str(classes[1]),
        "current": version.threshold,
        # Training scored its holdout with probabilities (only those give a log loss).
        "has_probabilities": counts is not None or "log_loss" in (version.metrics or {}),
        "entries": [
            {
                "actor": entry.actor.get_username() if entry.actor else "\u2013",
                "at": entry.created_at,
                "via": entry.via,
                "before": _threshold_text((entry.before or {}).get("threshold")),
                "after": _threshold_text((entry.after or {}).get("threshold")),
            }
            for entry in entries
        ],
    }
    if counts:
        bins = counts["bins"]
        at = version.threshold if version.threshold is not None else 0.5
        k = min(max(round(at * bins), 1), bins - 1)  # the slider's steps of 1 / bins
        view.update(
            threshold_counts_at(counts, k),
            value=str(k / bins),
            step=str(1 / bins),
            max=str((bins - 1) / bins),
            counts={
                "bins": bins,
                "pos": counts["pos"],
                "neg": counts["neg"],
            },
        )
    return view


def per_class_rows(per_class: Any) -> list[dict[str, str]]:
    """Precision, recall, F1 and support of each class, formatted like the other metrics."""
    if not isinstance(per_class, list):
        return []
    keys = ("precision", "recall", "f1", "support")
    return [
        {"label": str(row["label"]), **{k: format_metric(row.get(k)) for k in keys}}
        for row in per_class
    ]


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def training_clock(version: ModelVersion) -> dict[str, Any]:
    """A training's place and time while it is not finished: its position in the queue
    (queued), and how long it has waited or run; {} once it is finished."""
    from django.utils import timezone

    if version.is_finished:
        return {}
    now = timezone.now()
    position = selectors.queue_position(version)
    if position is not None:
        waited = (now - version.created_at).total_seconds()
        ahead = "next for a worker" if position == 1 else f"{position - 1} ahead of it"
        return {
            "queue_position": position,
            "elapsed_s": int(waited),
            "text": f"Position {position} in the queue ({ahead}) · waiting {_duration(waited)}",
        }
    ran = (now - (version.started_at or version.created_at)).total_seconds()
    return {"queue_position": None, "elapsed_s": int(ran), "text": f"{_duration(ran)} elapsed"}


# Leaderboards ------------------------------------------------------------------------------


def _params_text(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def _seconds(value: float | None) -> str:
    if value is None:
        return "\u2013"
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.3g} s"


def _mean_sd(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("mean") is None:
        return "\u2013"
    std = stat.get("std")
    return f"{stat['mean']:.4f} ± {std:.4f}" if std is not None else f"{stat['mean']:.4f}"


def _cell(stat: dict[str, Any] | None) -> dict[str, str]:
    """A table cell: the mean, and the sd under it (narrow columns for every metric)."""
    if not stat or stat.get("mean") is None:
        return {"mean": "\u2013", "sd": ""}
    std = stat.get("std")
    return {"mean": f"{stat['mean']:.4f}", "sd": "" if std is None else f"± {std:.4f}"}


def _algorithm_label(algorithm_id: str) -> str:
    spec = ALGORITHMS.get(algorithm_id)
    return spec.label if spec else algorithm_id


def board_rows(board: Any, rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """selectors.leaderboard_rows as the board page shows them, sorted by `sort` (best first,
    in the metric's direction; rows without a score last)."""
    from registry.leaderboard import METRICS

    metrics = METRICS.get(board.task, ())
    shown = []
    for row in rows:
        stats = row.get("metrics") or {}
        chosen = stats.get(sort) or {}
        shown.append(
            {
                "algorithm": row["algorithm"],
                "label": _algorithm_label(row["algorithm"]),
                "rank": row.get("rank"),
                "trial": row.get("trial"),
                "params_text": _params_text(row.get("params")),
                "reason": row.get("reason") or "",
                "running": "" if row.get("rank") is not None else row.get("status") or "",
                "cells": [_cell(stats.get(m)) for m in metrics],
                "mean": chosen.get("mean"),
                "std": chosen.get("std"),
                "mean_text": _mean_sd(chosen),
                "fit_text": _seconds(row.get("fit_seconds")),
                "predict_text": _seconds(row.get("predict_seconds")),
            }
        )
    sign = 1 if sort in LOWER_IS_BETTER else -1
    shown.sort(key=lambda r: (r["mean"] is None, sign * (r["mean"] or 0.0), r["label"]))
    return shown


def board_best(board: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best row so far, for the status JSON the page polls."""
    best = next((r for r in board_rows(board, rows, board.metric) if r["rank"] == 1), None)
    if best is None:
        return None
    return {
        "algorithm": best["algorithm"],
        "label": best["label"],
        "metric": board.metric,
        "mean": best["mean"],
        "std": best["std"],
        "mean_text": f"{metric_label(board.metric)} {best['mean_text']}",
    }


def trial_rows(trials: Any, metric: str) -> list[dict[str, Any]]:
    """Each trial with its configuration and per-fold scores (its mean of `metric` in its
    summary), for the board page."""
    shown = []
    for trial in trials:
        scores = trial.scores or {}
        folds = max((len(v) for v in scores.values()), default=0)
        shown.append(
            {
                "number": trial.number,
                "label": _algorithm_label(trial.algorithm),
                "is_default": trial.is_default,
                "status": trial.status,
                "reason": trial.reason,
                "params_text": _params_text(trial.params) or "(none)",
                "fold_numbers": range(1, folds + 1),
                "scores": [
                    {"label": metric_label(name), "values": [format_metric(v) for v in values]}
                    for name, values in scores.items()
                ],
                "fit": [f"{v:.4f}" for v in trial.fit_seconds or []],
                "predict": [f"{v:.4f}" for v in trial.predict_seconds or []],
                "headline": (
                    f"{metric_label(metric)} {sum(scores[metric]) / len(scores[metric]):.4f}"
                    if scores.get(metric) and None not in scores[metric]
                    else ""
                ),
            }
        )
    return shown


# Explanations (registry/serving/explain.py) ---------------------------------------------

_EXPLAIN_METHODS = {
    "linear": "coefficient times value, exact",
    "tree_path": "changes along the tree's decision path, exact",
    "sampling_shapley": "sampling Shapley estimate against training rows",
}


def _explained_units(output: str, label: Any, *, multiclass: bool) -> str:
    if output == "logit":
        return f"{'softmax score' if multiclass else 'log-odds'} of {label}"
    if output == "probability":
        return f"probability of {label}"
    return "the predicted value"


def _amount(value: float, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign},.1f}" if abs(value) >= 100 else f"{value:{sign}.4f}"


def explanation_view(explanations: dict[str, Any]) -> dict[str, Any]:
    """A one-row explanation in the page's words: the units, the base value, and each
    column's contribution (largest first), with a bar on one scale for all of them."""
    row = explanations["rows"][0]
    label = row.get("class", explanations.get("class"))
    ranked = sorted(row["contributions"].items(), key=lambda item: -abs(item[1]))
    top = max((abs(v) for _, v in ranked), default=0.0) or 1.0
    stderr = (explanations.get("stderr") or [{}])[0]
    total = row["base_value"] + sum(row["contributions"].values())
    return {
        "units": _explained_units(explanations["output"], label, multiclass="class" in row),
        "method": _EXPLAIN_METHODS.get(explanations["method"], explanations["method"]),
        "base": _amount(row["base_value"]),
        "total": _amount(total),
        "contributions": [
            {
                "column": column,
                "value": _amount(value, signed=True),
                "size": abs(value),
                "top": top,
                "down": value < 0,
                "stderr": _amount(stderr[column]) if column in stderr else "",
            }
            for column, value in ranked
        ],
    }


def evaluation_rows(found: Any) -> list[dict[str, Any]]:
    """An evaluation's metrics side by side: per metric each version's value and its change
    from the first version's, with whether that is better or worse."""
    rows = []
    for row in evaluation.comparison(found):
        cells = []
        for cell in row["values"]:
            delta, verdict = "", ""
            if cell["delta"] is not None:
                change = cell["delta"]
                delta = (
                    "same"
                    if not change
                    else ("+" if change > 0 else "-") + format_metric(abs(change))
                )
                if change:
                    verdict = "better" if (change < 0) == row["lower_is_better"] else "worse"
            cells.append(
                {"value": format_metric(cell["value"]), "delta": delta, "verdict": verdict}
            )
        rows.append({"key": row["metric"], "label": metric_label(row["metric"]), "cells": cells})
    return rows


def evaluation_versions(found: Any) -> list[dict[str, Any]]:
    """Per version of an evaluation: its rows scored, the rows it could not score by reason,
    and the rows it got wrong (with the download's address)."""
    results = found.results or {}
    shown = []
    for number in found.versions:
        result = results.get(str(number))
        if result is None:
            continue
        shown.append(
            {
                "version": number,
                "url": reverse("version_detail", args=[found.model.name, number]),
                "n_rows": result["n_rows"],
                "n_scored": result["n_scored"],
                "n_unscorable": result["n_unscorable"],
                "unscorable": sorted(result["unscorable"].items(), key=lambda kv: -kv[1]),
                "n_wrong": result["n_wrong"],
                "kept_wrong": len(result.get("wrong_rows") or []),
                "threshold": result.get("threshold"),
                "download": reverse("evaluation_rows", args=[found.model.name, found.pk, number]),
            }
        )
    return shown
