"""Scoring an evaluation: the dataset read once, each version's rows typed to its input
schema, scored through serving.predict_table (so exactly as serving answers, a version's
decision threshold included), and measured with the holdout metrics' own functions.

Rows are never dropped silently. A row without a value for the target is left out for every
version; a row a version cannot read (its column is missing from the file, or a value is not
of the feature's type, say a word in a number column) is left out for that version only.
Each is counted under its first reason, so n_rows = n_scored + n_unscorable per version.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from numpyml import metrics as M
from registry import csvio, jsonsafe, serving
from registry.algorithms import CLASSIFIER
from registry.errors import RegistryError
from registry.models import Dataset, Evaluation, EvaluationStatus
from registry.serving.bodies import spell_category
from registry.training.data import _present
from registry.training.evaluate import _binary_curves, _per_class
from registry.training.progress import Heartbeat

logger = logging.getLogger(__name__)

# Row indices of a version's wrong answers kept with its results (the download's rows).
MAX_WRONG_ROWS = 100_000
# Rows scored per predict_table call (at most): each call is bounded like a request (its
# cost checked), and the progress moves between calls.
SCORE_ROWS = 20_000
MISSING_TARGET = "no value for the target"
PROGRESS_WRITE_INTERVAL_S = 0.3


class EvaluationError(Exception):
    """A failure explained in words a person can act on."""


def claim(evaluation_id: int) -> bool:
    """queued -> running; False when it is not queued (done, failed or deleted meanwhile)."""
    return bool(
        Evaluation.objects.filter(pk=evaluation_id, status=EvaluationStatus.QUEUED).update(
            status=EvaluationStatus.RUNNING, started_at=timezone.now(), progress=0, error=""
        )
    )


def run(evaluation_id: int) -> str:
    """Claim and score a queued evaluation in this process (tests, and small checks)."""
    if not claim(evaluation_id):
        return "skipped"
    return score(evaluation_id)


def score(evaluation_id: int, heartbeat: Heartbeat | None = None) -> str:
    """Score a running evaluation (the task worker calls this in a child process, like a
    training); its status ends done, with the results, or failed, with the reason."""
    evaluation = (
        Evaluation.objects.select_related("model")
        .filter(pk=evaluation_id, status=EvaluationStatus.RUNNING)
        .first()
    )
    if evaluation is None:
        return "skipped"
    progress = _Progress(evaluation_id, heartbeat or Heartbeat())
    try:
        results = evaluate(evaluation, progress)
    except (EvaluationError, RegistryError) as exc:
        fail(evaluation_id, str(exc))
        return EvaluationStatus.FAILED
    except MemoryError:
        fail(
            evaluation_id,
            "The evaluation ran out of memory (MLSERVE_TRAIN_MAX_MEMORY_MB): evaluate fewer "
            "rows or fewer versions.",
        )
        return EvaluationStatus.FAILED
    except Exception as exc:
        logger.exception("evaluation %s failed", evaluation_id)
        fail(
            evaluation_id, f"The evaluation stopped on an unexpected error ({type(exc).__name__})."
        )
        return EvaluationStatus.FAILED
    Evaluation.objects.filter(pk=evaluation_id, status=EvaluationStatus.RUNNING).update(
        status=EvaluationStatus.DONE,
        progress=100,
        results=jsonsafe.finite(results),
        finished_at=timezone.now(),
    )
    return EvaluationStatus.DONE


def fail(evaluation_id: int, message: str) -> int:
    return Evaluation.objects.filter(
        pk=evaluation_id, status__in=(EvaluationStatus.QUEUED, EvaluationStatus.RUNNING)
    ).update(status=EvaluationStatus.FAILED, error=message[:5000], finished_at=timezone.now())


class _Progress:
    """The share of rows scored, written to the evaluation a few times a second at most."""

    def __init__(self, evaluation_id: int, heartbeat: Heartbeat) -> None:
        self.rows = Evaluation.objects.filter(pk=evaluation_id, status=EvaluationStatus.RUNNING)
        self.heartbeat = heartbeat
        self.total = 1
        self.done = 0
        self.last_write = 0.0

    def add(self, rows: int) -> None:
        self.done += rows
        self.heartbeat.beat()
        now = time.monotonic()
        if now - self.last_write >= PROGRESS_WRITE_INTERVAL_S:
            self.last_write = now
            self.rows.update(progress=min(99, int(100 * self.done / max(self.total, 1))))


def read_rows(evaluation: Evaluation) -> csvio.Table:
    """The dataset's rows, typed as the dataset reads them (its stored read options)."""
    dataset = (
        Dataset.objects.filter(pk=evaluation.dataset_id).only("csv", "sha256", "options").first()
    )
    if dataset is None:
        raise EvaluationError("The dataset was deleted before the evaluation ran.")
    data = bytes(dataset.csv)
    if csvio.sha256_hex(data) != evaluation.dataset_sha256:
        raise EvaluationError("The dataset changed since this evaluation was queued.")
    try:
        return csvio.parse_csv(data, max_rows=10**9, options=dataset.options)
    except csvio.CSVError as exc:
        raise EvaluationError(f"The dataset can no longer be read: {exc}") from None


def evaluate(evaluation: Evaluation, progress: _Progress) -> dict[str, Any]:
    """results[str(version)] for each version of the evaluation (see the module's doc)."""
    progress.heartbeat.quiet()  # reading the file reports nothing: the time limit applies
    table = read_rows(evaluation)
    progress.heartbeat.beat()
    if evaluation.target not in table.data:
        raise EvaluationError(f"The dataset has no column {evaluation.target!r}.")
    # Resolved before any scoring: a version deleted meanwhile fails the whole evaluation.
    served = [serving.resolve(evaluation.model.name, version=n) for n in evaluation.versions]
    y = table.data[evaluation.target]
    has_target = _present(y)
    progress.total = int(has_target.sum()) * len(served)
    return {str(s.version): score_version(s, table, y, has_target, progress) for s in served}


# Typing a version's columns ----------------------------------------------------------------


def version_table(
    served: serving.ServedVersion, table: csvio.Table
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """The version's features as serving types them (float64 numbers and dates, object
    categories), and per row the index in `reasons` of why it cannot be scored (-1: it can)."""
    n = table.n_rows
    reason_of = np.full(n, -1, dtype=np.int64)
    reasons: list[str] = []
    X: dict[str, np.ndarray] = {}
    for feature in served.features:
        column, bad, reason = _feature_column(feature, table, served)
        X[feature["name"]] = column
        if bad is not None and bad.any():
            reason_of[bad & (reason_of < 0)] = len(reasons)
            reasons.append(reason)
    return X, reason_of, reasons


def _feature_column(
    feature: dict[str, Any], table: csvio.Table, served: serving.ServedVersion
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(values typed as the feature, the rows whose value cannot be, why)."""
    name, kind = feature["name"], feature["type"]
    n = table.n_rows
    if name not in table.data:
        blank = np.full(n, np.nan) if kind != "category" else np.full(n, None, dtype=object)
        return blank, np.ones(n, dtype=bool), f"the column {name!r} is missing"
    values = table.data[name]
    read_as = table.column_schema(name)["type"]
    if read_as == kind:
        return values, None, ""
    if kind == "category":  # numbers or dates: as a JSON number or date text would be read
        column = np.empty(n, dtype=object)
        spellings = served.category_spellings.get(name)
        for i, value in enumerate(values.tolist()):
            if value != value:  # NaN: missing
                column[i] = None
            elif read_as == "date":
                column[i] = csvio.format_date(value)
            else:
                column[i] = spell_category(value, spellings)
        return column, None, ""
    if read_as != "category":  # a number where a date is expected, or the other way
        present = ~np.isnan(values)
        said = "dates" if read_as == "date" else "numbers"
        return np.full(n, np.nan), present, f"the column {name!r} holds {said}, not {kind}s"
    texts = values.tolist()
    uniques = {text for text in texts if text is not None}
    if kind == "number":
        read = {text: _number(text) for text in uniques}
        reason = f"a value of {name!r} is not a number"
    else:
        form = feature.get("format") or csvio.ISO_DATE
        read = {text: csvio.date_seconds(text, form) for text in uniques}
        reason = f"a value of {name!r} is not a date ({csvio.date_formats_said(form)})"
    column = np.array([np.nan if t is None else read[t] for t in texts], dtype=object)
    bad = np.array([v is None for v in column.tolist()], dtype=bool)
    column[bad] = np.nan
    return column.astype(np.float64), bad, reason


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


# Scoring and measuring ---------------------------------------------------------------------


def score_version(
    served: serving.ServedVersion,
    table: csvio.Table,
    y: np.ndarray,
    has_target: np.ndarray,
    progress: _Progress,
) -> dict[str, Any]:
    X, reason_of, reasons = version_table(served, table)
    reason_of[~has_target] = len(reasons)  # left out for every version, under this reason
    reasons.append(MISSING_TARGET)
    rows = np.flatnonzero(reason_of < 0)
    unscorable = Counter(reason_of[reason_of >= 0].tolist())
    predicted, proba, threshold = _predict(served, X, rows, progress)
    result: dict[str, Any] = {
        "n_rows": table.n_rows,
        "n_scored": int(rows.size),
        "n_unscorable": int(table.n_rows - rows.size),
        "unscorable": {reasons[i]: count for i, count in sorted(unscorable.items())},
        "threshold": threshold,
        "metrics": {},
        "n_wrong": 0,
        "wrong_rows": [],
        "wrong_predicted": [],
    }
    if rows.size == 0:
        return result
    progress.heartbeat.quiet()  # the metrics report nothing either
    if served.kind == CLASSIFIER:
        result.update(_classifier(served, y[rows], predicted, proba, rows))
    else:
        result.update(_regressor(y[rows].astype(np.float64), predicted, rows))
    return result


def _predict(
    served: serving.ServedVersion, X: dict[str, np.ndarray], rows: np.ndarray, progress: _Progress
) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """Predictions (and probabilities) of `rows`, through serving, a slice at a time."""
    predicted, probabilities, threshold = [], [], None
    step = _slice_rows(served) if rows.size else SCORE_ROWS
    for start in range(0, rows.size, step):
        part = rows[start : start + step]
        answer = serving.predict_table(served, {name: col[part] for name, col in X.items()})
        labels = answer["predictions"]
        predicted.append(
            np.array(labels, dtype=object) if isinstance(labels, list) else np.asarray(labels)
        )
        if answer.get("probabilities") is not None:
            probabilities.append(np.asarray(answer["probabilities"], dtype=np.float64))
        threshold = answer.get("threshold")
        progress.add(part.size)
    if not predicted:
        return np.empty(0), None, threshold
    proba = np.concatenate(probabilities) if probabilities else None
    return np.concatenate(predicted), proba, threshold


def _slice_rows(served: serving.ServedVersion) -> int:
    """Rows per predict_table call: SCORE_ROWS, or fewer for a model whose rows cost so much
    that a slice would be over MLSERVE_MAX_PREDICT_COST (a large k-NN). One row over it is
    refused by predict_table, in words."""
    budget = settings.MLSERVE_MAX_PREDICT_COST
    if not budget:
        return SCORE_ROWS
    per_row = serving.row_cost(served, serving.pipeline_cache().get(served))
    return max(1, min(SCORE_ROWS, budget // per_row))


def _keys(values: np.ndarray) -> np.ndarray:
    """Class labels as comparable text: a label stored as 1 and a cell read as 1.0 agree."""
    uniques, inverse = np.unique(values, return_inverse=True)
    keys = np.array([str(jsonsafe.label(u)) for u in uniques.tolist()], dtype=object)
    return keys[inverse.ravel()]


def _classifier(
    served: serving.ServedVersion,
    y: np.ndarray,
    predicted: np.ndarray,
    proba: np.ndarray | None,
    rows: np.ndarray,
) -> dict[str, Any]:
    classes = [jsonsafe.label(c) for c in served.classes or ()]
    keys = [str(c) for c in classes]
    truth, said = _keys(y), _keys(predicted)
    # Answers in the new rows that no version learned: a class of their own, always wrong.
    unknown = sorted(set(truth.tolist()) - set(keys))
    labels, shown = keys + unknown, classes + unknown
    metrics: dict[str, Any] = {
        "accuracy": M.accuracy_score(truth, said),
        "f1_macro": M.f1_score(truth, said, average="macro", zero_division=0),
        "precision_macro": M.precision_score(truth, said, average="macro", zero_division=0),
        "recall_macro": M.recall_score(truth, said, average="macro", zero_division=0),
        "confusion_matrix": {
            "labels": shown,
            "matrix": M.confusion_matrix(truth, said, labels=labels).tolist(),
        },
    }
    if proba is not None and not unknown:
        index = {key: i for i, key in enumerate(keys)}
        codes = np.array([index[key] for key in truth.tolist()])
        metrics["log_loss"] = M.log_loss(codes, proba, labels=list(range(len(keys))))
    per_class = _per_class(truth, said, labels)
    for entry, label in zip(per_class, shown, strict=True):
        entry["label"] = label
    metrics["per_class"] = per_class
    if proba is not None and len(keys) == 2 and set(truth.tolist()) == set(keys):
        metrics.update(_binary_curves(truth, proba[:, 1], keys[1]))
        metrics["positive_class"] = classes[1]
    wrong = np.flatnonzero(truth != said)
    kept = wrong[:MAX_WRONG_ROWS]
    return {
        "metrics": metrics,
        "n_wrong": int(wrong.size),
        "wrong_rows": rows[kept].tolist(),
        "wrong_predicted": [jsonsafe.label(p) for p in predicted[kept].tolist()],
    }


def _regressor(y: np.ndarray, predicted: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
    predicted = predicted.astype(np.float64)
    metrics: dict[str, Any] = {
        "rmse": M.root_mean_squared_error(y, predicted),
        "mae": M.mean_absolute_error(y, predicted),
    }
    if y.size >= 2:  # r2 and explained variance compare with the rows' spread
        metrics["r2"] = M.r2_score(y, predicted)
        metrics["explained_variance"] = M.explained_variance_score(y, predicted)
    # A regressor is never exactly right: its "wrong rows" are the largest errors first.
    order = np.argsort(-np.abs(predicted - y), kind="stable")[:MAX_WRONG_ROWS]
    return {
        "metrics": metrics,
        "n_wrong": int(np.count_nonzero(predicted != y)),
        "wrong_rows": rows[order].tolist(),
        "wrong_predicted": predicted[order].tolist(),
    }
