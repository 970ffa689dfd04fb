"""Metrics with scikit-learn's names, signatures and defaults.

Classification: accuracy_score, precision_score, recall_score, f1_score,
precision_recall_fscore_support, confusion_matrix, log_loss; binary ranking: roc_curve,
precision_recall_curve, auc, roc_auc_score, average_precision_score. Regression: r2_score,
mean_squared_error, root_mean_squared_error, mean_absolute_error,
explained_variance_score. Clustering: silhouette_score, silhouette_samples,
adjusted_rand_score. Labels may be strings or numbers.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import check_array, check_random_state, column_or_1d

__all__ = [
    "UndefinedMetricWarning",
    "accuracy_score",
    "adjusted_rand_score",
    "auc",
    "average_precision_score",
    "confusion_matrix",
    "explained_variance_score",
    "f1_score",
    "log_loss",
    "mean_absolute_error",
    "mean_squared_error",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "r2_score",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
    "root_mean_squared_error",
    "silhouette_samples",
    "silhouette_score",
]

# silhouette_score samples this many rows when sample_size is None and n is larger.
SILHOUETTE_DEFAULT_MAX_SAMPLES = 10_000
# Distance blocks hold at most this many float64 values (32 MB).
_CHUNK_VALUES = 2**22


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (e.g. precision with no predicted positives)."""


# --------------------------------------------------------------------------- input checks


def _labels_1d(y: Any, what: str) -> np.ndarray:
    if y is None:
        raise ValueError(f"{what} is None: expected an array of labels.")
    array = column_or_1d(y, what=what)
    if array.dtype.kind in "US":
        return array
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError(f"{what} contains NaN: drop or fill missing labels first.")
    if array.dtype.kind == "O" and any(
        v is None or (isinstance(v, float) and v != v) for v in array.tolist()
    ):
        raise ValueError(f"{what} contains missing values (None or NaN).")
    return array


def _label_kind(array: np.ndarray, what: str) -> str:
    """ "str" or "num"; refuses a mix, which cannot be ordered."""
    if array.dtype.kind in "US":
        return "str"
    if array.dtype.kind != "O":
        return "num"
    kinds = {"str" if isinstance(v, str) else "num" for v in array.tolist()}
    if len(kinds) > 1:
        raise ValueError(f"{what} mixes string and number labels.")
    return kinds.pop() if kinds else "num"


def _check_length(n_true: int, n_pred: int, what: str = "y_pred") -> None:
    if n_true != n_pred:
        raise ValueError(
            f"y_true has {n_true} samples but {what} has {n_pred}: they must have the same length."
        )
    if n_true == 0:
        raise ValueError("y_true is empty: a metric needs at least one sample.")


def _check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with {n_samples} values, got shape {weights.shape}."
        )
    if weights.dtype.kind not in "fiub" or not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight must hold finite numbers.")
    return weights


def _check_classification(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D label arrays of equal length and their sorted union of labels."""
    y_true = _labels_1d(y_true, "y_true")
    y_pred = _labels_1d(y_pred, "y_pred")
    _check_length(y_true.shape[0], y_pred.shape[0])
    for array, what in ((y_true, "y_true"), (y_pred, "y_pred")):
        if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
            raise ValueError(
                f"Classification metrics can't handle continuous values: {what} holds "
                "non-integer numbers. Use a regression metric, or pass class labels."
            )
    if _label_kind(y_true, "y_true") != _label_kind(y_pred, "y_pred"):
        raise ValueError("Mix of label input types: y_true and y_pred hold strings and numbers.")
    try:
        present = np.unique(np.concatenate([y_true, y_pred]))
    except TypeError:
        raise ValueError("Labels mix types that cannot be ordered.") from None
    return y_true, y_pred, present


def _encode(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (any order); len(labels) when absent."""
    n_labels = labels.shape[0]
    try:
        order = np.argsort(labels, kind="stable")
        ordered = labels[order]
        found = np.searchsorted(ordered, values)
        np.minimum(found, n_labels - 1, out=found)
        hit = ordered[found] == values
        return np.where(hit, order[found], n_labels)
    except (TypeError, ValueError, np.exceptions.DTypePromotionError):
        lookup = {v: i for i, v in enumerate(labels.tolist())}
        return np.fromiter(
            (lookup.get(v, n_labels) for v in values.tolist()), np.intp, values.shape[0]
        )


# --------------------------------------------------------------------------- classification


def accuracy_score(
    y_true: Any, y_pred: Any, *, normalize: bool = True, sample_weight: Any = None
) -> float:
    """Fraction (or, with normalize=False, count) of correctly predicted labels.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    normalize : bool, default=True
        Return the fraction correct; False returns the (weighted) count.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.

    Returns
    -------
    float
    """
    y_true, y_pred, _ = _check_classification(y_true, y_pred)
    weights = _check_sample_weight(sample_weight, y_true.shape[0])
    correct = (y_true == y_pred).astype(np.float64)
    if normalize:
        return float(np.average(correct, weights=weights))
    return float(correct.sum() if weights is None else correct @ weights)


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    sample_weight: Any = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Confusion matrix C where C[i, j] counts samples of class i predicted as j.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like of shape (n_classes,), default=None
        Row/column order; samples whose label is not listed are ignored. Default:
        the sorted union of the labels in y_true and y_pred.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.
    normalize : {"true", "pred", "all"}, default=None
        Normalise over rows, columns or the whole matrix.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        int64 counts, or float64 with weights or normalisation.
    """
    if normalize not in ("true", "pred", "all", None):
        raise ValueError(
            f"normalize must be one of 'true', 'pred', 'all' or None, got {normalize!r}."
        )
    y_true, y_pred, present = _check_classification(y_true, y_pred)
    if labels is None:
        labels = present
    else:
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if not np.any(_encode(y_true, labels) < labels.shape[0]):
            raise ValueError("At least one label specified must be in y_true.")
    weights = _check_sample_weight(sample_weight, y_true.shape[0])
    n_labels = labels.shape[0]
    true_index = _encode(y_true, labels)
    pred_index = _encode(y_pred, labels)
    keep = (true_index < n_labels) & (pred_index < n_labels)
    cells = true_index[keep] * n_labels + pred_index[keep]
    if weights is None or weights.dtype.kind in "iub":
        w = None if weights is None else weights[keep].astype(np.int64)
        counts = np.bincount(cells, weights=w, minlength=n_labels * n_labels)
        cm = counts.astype(np.int64).reshape(n_labels, n_labels)
    else:
        counts = np.bincount(cells, weights=weights[keep], minlength=n_labels * n_labels)
        cm = counts.reshape(n_labels, n_labels)
    if normalize is None:
        return cm
    with np.errstate(all="ignore"):  # an empty row or column normalises to 0, not NaN
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        else:
            cm = cm / cm.sum()
    return np.nan_to_num(cm)


def _zero_division_value(zero_division: Any) -> float:
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, numbers.Real) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return np.nan
    raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}.")


def _prf_divide(
    numerator: np.ndarray,
    denominator: np.ndarray,
    metric: str,
    modifier: str,
    warn_for: Iterable[str],
    zero_division: Any,
) -> np.ndarray:
    """numerator / denominator, with `zero_division` where the denominator is 0."""
    mask = denominator == 0
    result = np.asarray(numerator, dtype=np.float64) / np.where(mask, 1.0, denominator)
    if not mask.any():
        return result
    result[mask] = _zero_division_value(zero_division)
    if isinstance(zero_division, str) and metric in warn_for:
        where = "due to" if result.shape[0] == 1 else "in labels with"
        warnings.warn(
            f"{metric.capitalize()} is ill-defined and being set to 0.0 {where} no "
            f"{modifier} samples. Use `zero_division` parameter to control this behavior.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    return result


def _nanaverage(values: np.ndarray, weights: np.ndarray | None) -> float:
    mask = np.isnan(values)
    if values.shape[0] == 0 or mask.all():
        return np.nan
    if weights is None:
        return float(values[~mask].mean())
    kept = weights[~mask]
    if kept.sum() == 0:
        return float(values[~mask].mean())
    return float(np.average(values[~mask], weights=kept))


def _set_wise_labels(present: np.ndarray, average: Any, labels: Any, pos_label: Any) -> Any:
    """The labels to score: [pos_label] for average="binary", else `labels`."""
    choices = (None, "micro", "macro", "weighted", "binary")
    if average not in choices:
        raise ValueError(f"average has to be one of {list(choices)}, got {average!r}.")
    if average == "binary":
        if present.shape[0] > 2:
            raise ValueError(
                "Target is multiclass but average='binary'. Please choose another average "
                "setting, one of [None, 'micro', 'macro', 'weighted']."
            )
        if pos_label not in present.tolist() and present.shape[0] >= 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not a valid label. It should be one of "
                f"{present.tolist()}."
            )
        return [pos_label]
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != "
            f"'binary' (got {average!r}). You may use labels=[pos_label] to specify a "
            "single positive class.",
            UserWarning,
            stacklevel=3,
        )
    return labels


def precision_recall_fscore_support(
    y_true: Any,
    y_pred: Any,
    *,
    beta: float = 1.0,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = None,
    warn_for: Iterable[str] = ("precision", "recall", "f-score"),
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> tuple[Any, Any, Any, Any]:
    """Precision, recall, F-beta and support per label, or averaged.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    beta : float, default=1.0
        Weight of recall relative to precision in the F score.
    labels : array-like, default=None
        Labels to report (and average over); default: all present labels, sorted.
    pos_label : str or int, default=1
        The positive class when average="binary".
    average : {"binary", "micro", "macro", "weighted"} or None, default=None
        None returns per-label arrays; "micro" pools the counts; "macro" averages
        labels equally; "weighted" by support; "binary" reports pos_label only.
    warn_for : tuple of str, default=("precision", "recall", "f-score")
        Which ill-defined metrics warn (UndefinedMetricWarning) when zero_division="warn".
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value for a ratio whose denominator is 0 ("warn" uses 0.0 and warns).

    Returns
    -------
    precision, recall, fbeta : float or ndarray of shape (n_labels,)
    support : ndarray of shape (n_labels,) or None (when averaged)
    """
    _zero_division_value(zero_division)
    if not isinstance(beta, numbers.Real) or beta < 0:
        raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
    y_true, y_pred, present = _check_classification(y_true, y_pred)
    labels = _set_wise_labels(present, average, labels, pos_label)
    weights = _check_sample_weight(sample_weight, y_true.shape[0])

    if labels is None:
        all_labels, n_labels = present, present.shape[0]
    else:
        given = np.asarray(labels)
        n_labels = given.shape[0]
        listed = set(given.tolist())
        extra = [v for v in present.tolist() if v not in listed]
        all_labels = np.asarray(given.tolist() + extra, dtype=given.dtype if not extra else None)
    size = all_labels.shape[0]
    true_index = _encode(y_true, all_labels)
    pred_index = _encode(y_pred, all_labels)
    hit = true_index == pred_index
    tp_sum = np.bincount(
        true_index[hit], weights=None if weights is None else weights[hit], minlength=size
    )[:n_labels]
    pred_sum = np.bincount(pred_index, weights=weights, minlength=size)[:n_labels]
    true_sum = np.bincount(true_index, weights=weights, minlength=size)[:n_labels]
    if average == "micro":
        tp_sum, pred_sum, true_sum = (np.array([s.sum()]) for s in (tp_sum, pred_sum, true_sum))

    precision = _prf_divide(tp_sum, pred_sum, "precision", "predicted", warn_for, zero_division)
    recall = _prf_divide(tp_sum, true_sum, "recall", "true", warn_for, zero_division)
    if np.isposinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta**2
        denominator = beta2 * true_sum.astype(np.float64) + pred_sum
        f_score = _prf_divide(
            (1 + beta2) * tp_sum.astype(np.float64),
            denominator,
            "f-score",
            "true nor predicted",
            warn_for,
            zero_division,
        )
    if average is None:
        return precision, recall, f_score, true_sum
    weights_avg = true_sum.astype(np.float64) if average == "weighted" else None
    return (
        _nanaverage(precision, weights_avg),
        _nanaverage(recall, weights_avg),
        _nanaverage(f_score, weights_avg),
        None,
    )


def precision_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """Precision tp / (tp + fp); see precision_recall_fscore_support for the parameters."""
    precision, _, _, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("precision",),
        sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return precision


def recall_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """Recall tp / (tp + fn); see precision_recall_fscore_support for the parameters."""
    _, recall, _, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("recall",),
        sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return recall


def f1_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """F1 = 2 tp / (2 tp + fp + fn); see precision_recall_fscore_support for the parameters."""
    _, _, f1, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        beta=1.0,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("f-score",),
        sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return f1


def log_loss(
    y_true: Any,
    y_proba: Any,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    labels: Any = None,
) -> float:
    """Cross-entropy: -mean(log p(true class)), probabilities clipped to [eps, 1 - eps].

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, columns in sorted label order (as a classifier's
        classes_); 1-D means the probability of the larger of two labels.
    normalize : bool, default=True
        Mean over samples; False returns the sum.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.
    labels : array-like, default=None
        All the class labels, when y_true does not contain every class.

    Returns
    -------
    float
    """
    y_true = _labels_1d(y_true, "y_true")
    proba = check_array(y_proba, ensure_2d=False, what="y_proba")
    if proba.ndim not in (1, 2):
        raise ValueError(f"y_proba must be 1-D or 2-D, got shape {proba.shape}.")
    _check_length(y_true.shape[0], proba.shape[0], "y_proba")
    if proba.max() > 1:
        raise ValueError(f"y_proba contains values greater than 1: {proba.max()}")
    if proba.min() < 0:
        raise ValueError(f"y_proba contains values lower than 0: {proba.min()}")
    weights = _check_sample_weight(sample_weight, y_true.shape[0])
    classes = _log_loss_classes(y_true, labels)
    if proba.ndim == 1:
        proba = proba[:, np.newaxis]
    if proba.shape[1] == 1:
        proba = np.concatenate([1 - proba, proba], axis=1)
    eps = np.finfo(proba.dtype).eps
    if not np.all(np.isclose(proba.sum(axis=1), 1.0, rtol=np.sqrt(eps))):
        warnings.warn(
            "The y_proba values do not sum to one. Make sure to pass probabilities.",
            UserWarning,
            stacklevel=2,
        )
    if classes.shape[0] != proba.shape[1]:
        if labels is None:
            raise ValueError(
                f"y_true and y_proba contain different number of classes: "
                f"{classes.shape[0]} vs {proba.shape[1]}. Please provide the true labels "
                f"explicitly through the labels argument. Classes found in y_true: "
                f"{classes.tolist()}"
            )
        raise ValueError(
            "The number of classes in labels is different from that in y_proba. Classes "
            f"found in labels: {classes.tolist()}"
        )
    proba = np.clip(proba, eps, 1 - eps)
    index = _encode(y_true, classes)
    loss = -np.log(proba[np.arange(proba.shape[0]), index])
    if normalize:
        return float(np.average(loss, weights=weights))
    return float(loss.sum() if weights is None else loss @ weights)


def _log_loss_classes(y_true: np.ndarray, labels: Any) -> np.ndarray:
    if labels is not None:
        classes = np.unique(np.asarray(labels))
        missing = np.flatnonzero(_encode(y_true, classes) >= classes.shape[0])
        if missing.size:
            raise ValueError(
                f"y_true contains values {sorted(set(y_true[missing].tolist()))} not "
                f"belonging to the passed labels {classes.tolist()}."
            )
    else:
        _label_kind(y_true, "y_true")
        classes = np.unique(y_true)
    if classes.shape[0] == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]!r}). Please provide the list "
                "of all expected class labels explicitly through the labels argument."
            )
        raise ValueError(
            f"The labels array needs to contain at least two labels for log_loss, got "
            f"{classes.tolist()}."
        )
    return classes


# --------------------------------------------------------------------------- ranking (binary)


def _binary_clf_curve(
    y_true: Any, y_score: Any, pos_label: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive counts (weighted) at each distinct score, highest first."""
    y_true = _labels_1d(y_true, "y_true")
    score = check_array(y_score, ensure_2d=False, what="y_score")
    if score.ndim != 1:
        raise ValueError(f"y_score must be 1-D (the positive class's score), got {score.shape}.")
    _check_length(y_true.shape[0], score.shape[0], "y_score")
    weights = _check_sample_weight(sample_weight, y_true.shape[0])
    classes = np.unique(y_true)
    if classes.shape[0] > 2:
        raise ValueError(f"y_true has {classes.shape[0]} classes: this metric is binary only.")
    if pos_label is None:
        numeric = _label_kind(y_true, "y_true") == "num"
        if not (numeric and set(classes.tolist()) <= {0, 1, -1}):
            raise ValueError(
                f"y_true takes value in {classes.tolist()} and pos_label is not specified: "
                "either make y_true take value in {0, 1} or {-1, 1} or pass pos_label "
                "explicitly."
            )
        pos_label = 1
    positive = (y_true == pos_label).astype(float)
    # Stable order from the highest score down, as scikit-learn's mergesort gives.
    order = np.argsort(score, kind="mergesort")[::-1]
    score, positive = score[order], positive[order]
    weight = 1.0 if weights is None else weights[order].astype(float)
    distinct = np.flatnonzero(np.diff(score))
    ends = np.r_[distinct, positive.size - 1]
    tps = np.cumsum(positive * weight)[ends]
    if weights is None:
        fps = 1 + ends - tps
    else:
        fps = np.cumsum((1 - positive) * weight)[ends]
    return fps, tps, score[ends]


def roc_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
    drop_intermediate: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic of a binary score: (fpr, tpr, thresholds), the
    first threshold +inf (nothing predicted positive)."""
    fps, tps, thresholds = _binary_clf_curve(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        # Points on a straight line between their neighbours change nothing in the curve.
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    thresholds = np.r_[np.inf, thresholds]
    if fps[-1] <= 0:
        warnings.warn(
            "No negative samples in y_true, false positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        fpr = np.repeat(np.nan, fps.shape)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warnings.warn(
            "No positive samples in y_true, true positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        tpr = np.repeat(np.nan, tps.shape)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds


def precision_recall_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
    drop_intermediate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) by increasing threshold; the last point is
    precision 1, recall 0, with no threshold."""
    fps, tps, thresholds = _binary_clf_curve(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.flatnonzero(
            np.concatenate([[True], np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), [True]])
        )
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    predicted = tps + fps
    precision = np.zeros_like(tps)
    np.divide(tps, predicted, out=precision, where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning,
            stacklevel=2,
        )
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.hstack((precision[::-1], 1)), np.hstack((recall[::-1], 0)), thresholds[::-1]


def auc(x: Any, y: Any) -> float:
    """Area under a curve by the trapezoidal rule; x must be monotonic."""
    x = column_or_1d(check_array(x, ensure_2d=False, what="x"), what="x")
    y = column_or_1d(check_array(y, ensure_2d=False, what="y"), what="y")
    if x.shape[0] < 2:
        raise ValueError(
            f"At least 2 points are needed to compute area under curve, but x.shape = {x.shape[0]}"
        )
    _check_length(x.shape[0], y.shape[0], "y")
    direction = 1
    dx = np.diff(x)
    if np.any(dx < 0):
        if not np.all(dx <= 0):
            raise ValueError(f"x is neither increasing nor decreasing : {x}.")
        direction = -1
    return float(direction * np.trapezoid(y, x))


def _binary_positive(y_true: Any, pos_label: Any) -> Any:
    """The positive label: the given one, else the larger of the two present."""
    labels = _labels_1d(y_true, "y_true")
    _label_kind(labels, "y_true")
    classes = np.unique(labels)
    if classes.shape[0] != 2:
        raise ValueError(
            "Only one class is present in y_true. ROC AUC score is not defined in that case."
            if classes.shape[0] < 2
            else f"y_true has {classes.shape[0]} classes: numpyml's score is binary only."
        )
    return classes[1] if pos_label is None else pos_label


def roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> float:
    """Area under the ROC curve of a binary score (the larger label is positive)."""
    positive = _binary_positive(y_true, None)
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=positive, sample_weight=sample_weight)
    return auc(fpr, tpr)


def average_precision_score(
    y_true: Any, y_score: Any, *, pos_label: Any = 1, sample_weight: Any = None
) -> float:
    """Sum over thresholds of precision x the increase in recall (no interpolation)."""
    labels = _labels_1d(y_true, "y_true")
    present = np.unique(labels)
    if present.shape[0] == 2 and pos_label not in present.tolist():
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label. It should be one of {present.tolist()}"
        )
    precision, recall, _ = precision_recall_curve(
        labels, y_score, pos_label=pos_label, sample_weight=sample_weight
    )
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


# --------------------------------------------------------------------------- regression


def _check_regression(
    y_true: Any, y_pred: Any, sample_weight: Any, multioutput: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]:
    arrays = []
    for y, what in ((y_true, "y_true"), (y_pred, "y_pred")):
        if y is None:
            raise ValueError(f"{what} is None: expected an array of numbers.")
        array = check_array(y, ensure_2d=False, ensure_min_samples=0, what=what)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        elif array.ndim != 2:
            raise ValueError(f"{what} must be 1-D or 2-D, got shape {array.shape}.")
        arrays.append(array)
    y_true, y_pred = arrays
    _check_length(y_true.shape[0], y_pred.shape[0])
    if y_true.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"y_true and y_pred have different number of output ({y_true.shape[1]}!="
            f"{y_pred.shape[1]})."
        )
    weights = _check_sample_weight(sample_weight, y_true.shape[0])
    choices = ("raw_values", "uniform_average", "variance_weighted")
    if isinstance(multioutput, str):
        if multioutput not in choices:
            raise ValueError(
                f"multioutput must be one of {list(choices)} or an array, got {multioutput!r}."
            )
    elif multioutput is not None:
        multioutput = np.asarray(multioutput, dtype=np.float64)
        if multioutput.shape != (y_true.shape[1],):
            raise ValueError(
                f"multioutput weights should have {y_true.shape[1]} entries (one per output), "
                f"got shape {multioutput.shape}."
            )
    return y_true, y_pred, weights, multioutput


def _average_outputs(errors: np.ndarray, multioutput: Any) -> Any:
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return errors
        if multioutput == "variance_weighted":
            raise ValueError(
                "multioutput='variance_weighted' applies only to r2_score and "
                "explained_variance_score."
            )
        return float(np.mean(errors))
    return float(np.average(errors, weights=multioutput))


def mean_squared_error(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, multioutput: Any = "uniform_average"
) -> Any:
    """Mean of the squared errors (per output with multioutput="raw_values")."""
    y_true, y_pred, weights, multioutput = _check_regression(
        y_true, y_pred, sample_weight, multioutput
    )
    errors = np.average((y_true - y_pred) ** 2, axis=0, weights=weights)
    return _average_outputs(errors, multioutput)


def root_mean_squared_error(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, multioutput: Any = "uniform_average"
) -> Any:
    """Square root of the mean squared error of each output, then averaged."""
    y_true, y_pred, weights, multioutput = _check_regression(
        y_true, y_pred, sample_weight, multioutput
    )
    errors = np.sqrt(np.average((y_true - y_pred) ** 2, axis=0, weights=weights))
    return _average_outputs(errors, multioutput)


def mean_absolute_error(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, multioutput: Any = "uniform_average"
) -> Any:
    """Mean of the absolute errors (per output with multioutput="raw_values")."""
    y_true, y_pred, weights, multioutput = _check_regression(
        y_true, y_pred, sample_weight, multioutput
    )
    errors = np.average(np.abs(y_true - y_pred), axis=0, weights=weights)
    return _average_outputs(errors, multioutput)


def _explained_fraction(
    numerator: np.ndarray, denominator: np.ndarray, multioutput: Any, force_finite: bool
) -> Any:
    """1 - numerator / denominator per output, then averaged like scikit-learn."""
    nonzero_denominator = denominator != 0
    if not force_finite:
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN / -inf are asked for
            scores = 1 - numerator / denominator
    else:
        nonzero_numerator = numerator != 0
        scores = np.ones(numerator.shape[0])
        valid = nonzero_denominator & nonzero_numerator
        scores[valid] = 1 - numerator[valid] / denominator[valid]
        scores[nonzero_numerator & ~nonzero_denominator] = 0.0
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return scores
        weights = None
        if multioutput == "variance_weighted" and np.any(nonzero_denominator):
            weights = denominator
    else:
        weights = multioutput
    return float(np.average(scores, weights=weights))


def r2_score(
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    multioutput: Any = "uniform_average",
    force_finite: bool = True,
) -> Any:
    """Coefficient of determination R² = 1 - SS_res / SS_tot.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True and predicted values.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights.
    multioutput : {"raw_values", "uniform_average", "variance_weighted"} or array-like
        How to combine outputs, default="uniform_average".
    force_finite : bool, default=True
        With a constant y_true, return 1.0 (perfect) or 0.0 instead of NaN / -inf.

    Returns
    -------
    float or ndarray of shape (n_outputs,)
        NaN (with an UndefinedMetricWarning) for fewer than two samples.
    """
    y_true, y_pred, weights, multioutput = _check_regression(
        y_true, y_pred, sample_weight, multioutput
    )
    if y_true.shape[0] < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    w = 1.0 if weights is None else weights[:, None]
    numerator = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = np.average(y_true, axis=0, weights=weights)
    denominator = (w * (y_true - mean) ** 2).sum(axis=0)
    return _explained_fraction(numerator, denominator, multioutput, force_finite)


def explained_variance_score(
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    multioutput: Any = "uniform_average",
    force_finite: bool = True,
) -> Any:
    """Explained variance 1 - Var(y_true - y_pred) / Var(y_true); parameters as r2_score."""
    y_true, y_pred, weights, multioutput = _check_regression(
        y_true, y_pred, sample_weight, multioutput
    )
    diff_mean = np.average(y_true - y_pred, axis=0, weights=weights)
    numerator = np.average((y_true - y_pred - diff_mean) ** 2, axis=0, weights=weights)
    true_mean = np.average(y_true, axis=0, weights=weights)
    denominator = np.average((y_true - true_mean) ** 2, axis=0, weights=weights)
    return _explained_fraction(numerator, denominator, multioutput, force_finite)


# --------------------------------------------------------------------------- clustering


def _cluster_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per sample (0..k-1) and the size of each cluster."""
    _label_kind(labels, "labels")
    try:
        _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError:
        raise ValueError("labels mix types that cannot be ordered.") from None
    return codes.reshape(-1), counts


def _check_silhouette_input(
    X: Any, labels: Any, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    metrics = (
        "euclidean",
        "sqeuclidean",
        "manhattan",
        "cityblock",
        "l1",
        "l2",
        "cosine",
        "precomputed",
    )
    if not isinstance(metric, str) or metric not in metrics:
        raise ValueError(f"metric must be one of {list(metrics)}, got {metric!r}.")
    X = check_array(X, what="X")
    labels = _labels_1d(labels, "labels")
    if labels.shape[0] != X.shape[0]:
        raise ValueError(
            f"labels has {labels.shape[0]} values but X has {X.shape[0]} samples: they must match."
        )
    if metric == "precomputed":
        if X.shape[0] != X.shape[1]:
            raise ValueError(f"A precomputed distance matrix must be square, got {X.shape}.")
        if np.any(np.abs(np.diagonal(X)) > 0):
            raise ValueError(
                "The precomputed distance matrix contains non-zero elements on the "
                "diagonal. Use np.fill_diagonal(X, 0)."
            )
        if np.any(X < 0):
            raise ValueError("A precomputed distance matrix must not hold negative distances.")
    codes, counts = _cluster_codes(labels)
    n_labels = counts.shape[0]
    if not 2 <= n_labels <= X.shape[0] - 1:
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 "
            f"(inclusive): silhouette needs at least two clusters and one cluster with "
            "two or more samples."
        )
    return X, codes, counts


def _distance_block(
    rows: np.ndarray, columns: np.ndarray, metric: str, row_sq: Any, col_sq: Any
) -> np.ndarray:
    """Distances between each of `rows` and each of `columns` (a (c, n) block)."""
    if metric in ("euclidean", "l2", "sqeuclidean"):
        # scikit-learn's expansion ||a||² - 2 a·b + ||b||², clipped at 0.
        block = -2.0 * (rows @ columns.T)
        block += row_sq[:, None]
        block += col_sq[None, :]
        np.maximum(block, 0.0, out=block)
        return block if metric == "sqeuclidean" else np.sqrt(block, out=block)
    if metric in ("manhattan", "cityblock", "l1"):
        return np.abs(rows[:, None, :] - columns[None, :, :]).sum(axis=2)
    block = 1.0 - rows @ columns.T  # cosine: rows and columns are unit-normalised
    return np.clip(block, 0.0, 2.0, out=block)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1.0
    return X / norms[:, None]


def _silhouette(
    X: np.ndarray,
    codes: np.ndarray,
    counts: np.ndarray,
    metric: str,
    callback: ProgressCallback | None = None,
) -> np.ndarray:
    n_samples = codes.shape[0]
    order = np.argsort(codes, kind="stable")
    position = np.empty(n_samples, dtype=np.intp)
    position[order] = np.arange(n_samples)  # column of each sample in the sorted order
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if metric == "cosine":
        X = _unit_rows(X)
    columns = X[order] if metric != "precomputed" else None
    squares = np.einsum("ij,ij->i", X, X) if metric in ("euclidean", "l2", "sqeuclidean") else None
    per_value = n_samples * (X.shape[1] if metric in ("manhattan", "cityblock", "l1") else 1)
    chunk = max(1, min(n_samples, _CHUNK_VALUES // max(per_value, 1)))
    intra = np.empty(n_samples)
    inter = np.empty(n_samples)
    progress = Progress(callback, -(-n_samples // chunk))
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        if metric == "precomputed":
            block = X[start:stop][:, order]
        else:
            block = _distance_block(
                X[start:stop],
                columns,
                metric,
                None if squares is None else squares[start:stop],
                None if squares is None else squares[order],
            )
            block[np.arange(stop - start), position[start:stop]] = 0.0  # exact self-distance
        sums = np.add.reduceat(block, starts, axis=1)  # (rows, clusters) distance sums
        rows = np.arange(stop - start)
        own = codes[start:stop]
        intra[start:stop] = sums[rows, own]
        sums[rows, own] = np.inf
        inter[start:stop] = (sums / counts).min(axis=1)
        progress.part(start // chunk + 1)
    others = counts[codes] - 1
    intra = np.where(others > 0, intra / np.maximum(others, 1), 0.0)
    largest = np.maximum(intra, inter)
    valid = (others > 0) & (largest > 0)
    # Singletons score 0, as in scikit-learn (and Rousseeuw's definition).
    return np.where(valid, (inter - intra) / np.where(valid, largest, 1.0), 0.0)


def silhouette_samples(
    X: Any, labels: Any, *, metric: str = "euclidean", callback: ProgressCallback | None = None
) -> np.ndarray:
    """Silhouette coefficient of each sample: (b - a) / max(a, b).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) distances
        The data, or a distance matrix when metric="precomputed".
    labels : array-like of shape (n_samples,)
        Cluster label of each sample.
    metric : {"euclidean", "sqeuclidean", "manhattan", "cosine", "precomputed"}
        Distance used, default="euclidean" ("l2", "cityblock" and "l1" are aliases).
    callback : callable, default=None
        Called as each block of rows is scored (numpyml.progress.ProgressCallback, with no
        loss): the n² distances come in blocks of at most 32 MB.

    Returns
    -------
    ndarray of shape (n_samples,)

    Notes
    -----
    a is the mean distance to the other members of the sample's cluster, b the
    smallest mean distance to the members of another cluster; a sample alone in its
    cluster scores 0. Distances are computed in blocks of at most 4M values, so
    memory stays bounded (the n x n matrix is never built).
    """
    X, codes, counts = _check_silhouette_input(X, labels, metric)
    return _silhouette(X, codes, counts, metric, callback)


def silhouette_score(
    X: Any,
    labels: Any,
    *,
    metric: str = "euclidean",
    sample_size: int | None = None,
    random_state: Any = None,
    callback: ProgressCallback | None = None,
) -> float:
    """Mean silhouette coefficient over all samples (or a random sample of them).

    Parameters
    ----------
    X, labels, metric
        As in silhouette_samples.
    sample_size : int, default=None
        Score a random subset of this many samples. None scores every sample up to
        10,000 samples and a random 10,000 beyond (unlike scikit-learn, which would
        compute all n² distances: the cost grows quadratically).
    random_state : None, int or numpy Generator, default=None
        Seed of the subset.
    callback : callable, default=None
        As in silhouette_samples.

    Returns
    -------
    float
    """
    X = check_array(X, what="X")
    labels = _labels_1d(labels, "labels")
    n_samples = X.shape[0]
    if sample_size is None and n_samples > SILHOUETTE_DEFAULT_MAX_SAMPLES:
        sample_size = SILHOUETTE_DEFAULT_MAX_SAMPLES
    if sample_size is not None:
        if isinstance(sample_size, bool) or not isinstance(sample_size, numbers.Integral):
            raise TypeError(f"sample_size must be an int or None, got {sample_size!r}.")
        if sample_size < 2:
            raise ValueError(f"sample_size must be at least 2, got {sample_size}.")
        if labels.shape[0] != n_samples:
            raise ValueError(
                f"labels has {labels.shape[0]} values but X has {n_samples} samples: "
                "they must match."
            )
        keep = check_random_state(random_state).permutation(n_samples)[:sample_size]
        X = X[keep][:, keep] if metric == "precomputed" else X[keep]
        labels = labels[keep]
    return float(np.mean(silhouette_samples(X, labels, metric=metric, callback=callback)))


def adjusted_rand_score(labels_true: Any, labels_pred: Any) -> float:
    """Rand index adjusted for chance: 1 for identical partitions, ~0 for random ones.

    Parameters
    ----------
    labels_true, labels_pred : array-like of shape (n_samples,)
        Two clusterings of the same samples (label values need not match).

    Returns
    -------
    float

    Notes
    -----
    From the pair confusion matrix [[tn, fp], [fn, tp]] over all sample pairs:
    ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)).
    """
    true = _labels_1d(labels_true, "labels_true")
    pred = _labels_1d(labels_pred, "labels_pred")
    _check_length(true.shape[0], pred.shape[0], "labels_pred")
    true_codes, true_counts = _cluster_codes(true)
    pred_codes, pred_counts = _cluster_codes(pred)
    n_samples = true.shape[0]
    cells, cell_counts = np.unique(
        true_codes.astype(np.int64) * pred_counts.shape[0] + pred_codes, return_counts=True
    )
    # Python ints: the pair counts reach n² and must not overflow.
    sum_squares = int(np.sum(cell_counts.astype(np.int64) ** 2))
    pred_of_cell = cells % pred_counts.shape[0]
    true_of_cell = cells // pred_counts.shape[0]
    fp = int(np.sum(cell_counts * pred_counts[pred_of_cell].astype(np.int64))) - sum_squares
    fn = int(np.sum(cell_counts * true_counts[true_of_cell].astype(np.int64))) - sum_squares
    tp = sum_squares - n_samples
    tn = n_samples * n_samples - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
