"""Per-prediction explanations: for each row, a base value and one contribution per input
column (the user's columns: a category's one-hot parts and a date's calendar parts summed
back to it), in the units of the model's output, such that

    base_value + sum(contributions) == the output explained

- Linear and logistic regression ("linear"): coefficient x (the value the estimator sees -
  its training mean), that is the standardised coefficient x the standardised value for a
  number (a category contributes its coefficient when present); the base is the output at
  the training means. Exact.
- Decision trees ("tree_path"): path contributions (Saabas): the base is the root's value,
  and each split on the way to the leaf adds the change of node value to its feature. Exact.
- Every other classifier and regressor ("sampling_shapley"): a sampling Shapley estimate
  against a background sample of the training data (registry/serving/shapley.py), with a
  fixed seed and a bounded number of model calls, and a standard error per contribution.

The output explained: a regressor's prediction ("value"); for a classifier, the logit
(logistic regression) or the probability (every other) of classes[1] for two classes (the
class a decision threshold is about), else of each row's predicted class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings

from numpyml.linear_model import LinearRegression, LogisticRegression
from numpyml.tree import BaseDecisionTree
from registry.algorithms import CLASSIFIER, REGRESSOR
from registry.errors import InvalidInput, TooLarge
from registry.pipeline import encoded_columns, encoded_means, estimator_of, preprocessing_of
from registry.serving.resolve import ServedVersion
from registry.serving.shapley import MAX_CALLS, background_of, sampling_shapley

# Estimators explained exactly; every other classifier and regressor gets a sampling estimate.
_EXACT = (LinearRegression, LogisticRegression, BaseDecisionTree)
LINEAR, TREE_PATH, SAMPLING_SHAPLEY = "linear", "tree_path", "sampling_shapley"
VALUE, LOGIT, PROBABILITY = "value", "logit", "probability"


def check_explainable(served: ServedVersion, n_rows: int) -> None:
    """Refuse, before any work, to explain a model without an output to split (422) or
    more rows than MLSERVE_MAX_EXPLAIN_ROWS (413)."""
    if served.kind not in (CLASSIFIER, REGRESSOR):
        raise InvalidInput(
            f"{served.model} version {served.version} is a {served.kind} model: "
            "explanations are for classifiers and regressors, whose outputs they split "
            "among the input columns."
        )
    limit = settings.MLSERVE_MAX_EXPLAIN_ROWS
    if n_rows > limit:
        raise TooLarge(
            f"{n_rows:,} rows were sent to be explained; one request explains at most "
            f"{limit:,} rows (MLSERVE_MAX_EXPLAIN_ROWS): send them in smaller requests, or "
            "without explain."
        )


def explain_factor(pipeline: Any) -> int:
    """The work of explaining a row, in plain predictions of it (for the cost budget): an
    exact explanation reads the row's values once more; a sampling estimate scores up to
    MAX_CALLS mixed rows."""
    if isinstance(estimator_of(pipeline), _EXACT):
        return 2
    return 1 + MAX_CALLS


def explain_table(served: ServedVersion, pipeline: Any, table: dict[str, np.ndarray]) -> dict:
    """The explanation of every row of `table` (a typed table, as serving reads bodies):
    {"method", "output" (the units), "class" (the class explained; None for a regressor,
    and for more than two classes, where each row says its own), "rows": [{"base_value",
    "contributions": {column: float}, ("class")}], ("stderr": [{column: float}])}."""
    check_explainable(served, 0)
    model = estimator_of(pipeline)
    if isinstance(model, _EXACT):
        encoded = preprocessing_of(pipeline).transform(table)
        if isinstance(model, BaseDecisionTree):
            base, parts, k, output = _tree_path(model, encoded)
            method = TREE_PATH
        else:
            base, parts, k, output = _linear(model, encoded, encoded_means(pipeline))
            method = LINEAR
        contributions = parts @ _to_columns(pipeline, served.feature_names)
        return _answer(served, model, method, output, base, contributions, k)
    return _sampled(served, pipeline, model, table)


def _linear(
    model: Any, X: np.ndarray, means: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """Coefficient x (value - training mean) per estimator column; the base is the output
    at the means."""
    n, centred = X.shape[0], X - means
    if isinstance(model, LinearRegression):
        base = float(model.intercept_) + float(means @ model.coef_)
        return np.full(n, base), centred * model.coef_, None, VALUE
    if model.coef_.shape[0] == 1:  # two classes: one row of weights, for classes_[1]
        base = model.intercept_[0] + means @ model.coef_[0]
        return np.full(n, base), centred * model.coef_[0], None, LOGIT
    k = (X @ model.coef_.T + model.intercept_).argmax(axis=1)  # as predict chooses
    bases = model.intercept_ + model.coef_ @ means
    return bases[k], centred * model.coef_[k], k, LOGIT


def _tree_path(model: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """Path contributions: value(child) - value(parent) on each split, to its feature."""
    paths = model.node_path(X)
    rows = np.arange(X.shape[0])
    k = None
    if model.tree_value_.ndim == 1:
        values, output = model.tree_value_[paths], VALUE
    else:
        output = PROBABILITY
        if model.tree_value_.shape[1] == 2:
            values = model.tree_value_[paths, 1]
        else:  # the predicted class: the leaf's most frequent
            k = model.tree_value_[paths[:, -1]].argmax(axis=1)
            values = model.tree_value_[paths, k[:, None]]
    parent, child = paths[:, :-1], paths[:, 1:]
    moved = parent != child  # a path that reached its leaf repeats it
    parts = np.zeros(X.shape)
    steps = np.diff(values, axis=1)
    np.add.at(
        parts,
        (np.broadcast_to(rows[:, None], moved.shape)[moved], model.tree_feature_[parent[moved]]),
        steps[moved],
    )
    return values[:, 0], parts, k, output


def _to_columns(pipeline: Any, names: tuple[str, ...]) -> np.ndarray:
    """The 0/1 matrix (estimator columns x the user's columns) that sums each column's
    parts (one-hot, calendar) back to it."""
    position = {name: j for j, name in enumerate(names)}
    owners = [position[column] for column in encoded_columns(pipeline)]
    matrix = np.zeros((len(owners), len(names)))
    matrix[np.arange(len(owners)), owners] = 1.0
    return matrix


def _answer(
    served: ServedVersion,
    model: Any,
    method: str,
    output: str,
    base: np.ndarray,
    contributions: np.ndarray,
    k: np.ndarray | None,
    stderr: np.ndarray | None = None,
) -> dict[str, Any]:
    names = served.feature_names
    rows: list[dict[str, Any]] = [
        {"base_value": b, "contributions": dict(zip(names, c, strict=True))}
        for b, c in zip(base.tolist(), contributions.tolist(), strict=True)
    ]
    explained_class = None
    if served.kind == CLASSIFIER:
        classes = model.classes_.tolist()
        if k is None:
            explained_class = classes[1]
        else:
            for row, index in zip(rows, k.tolist(), strict=True):
                row["class"] = classes[index]
    answer = {"method": method, "output": output, "class": explained_class, "rows": rows}
    if stderr is not None:
        answer["stderr"] = [dict(zip(names, e, strict=True)) for e in stderr.tolist()]
    return answer


def _sampled(
    served: ServedVersion, pipeline: Any, model: Any, table: dict[str, np.ndarray]
) -> dict[str, Any]:
    """A sampling Shapley estimate of the probability (classifiers) or value (regressors)."""
    names = list(served.feature_names)
    background = background_of(served)
    n = len(next(iter(table.values())))
    if served.kind == REGRESSOR:
        base, contributions, stderr = sampling_shapley(pipeline.predict, table, background, names)
        return _answer(served, model, SAMPLING_SHAPLEY, VALUE, base, contributions, None, stderr)
    if not hasattr(model, "predict_proba"):
        raise InvalidInput(
            f"{served.model} version {served.version} gives no class probabilities, so its "
            "predictions cannot be explained in probability units: retrain it."
        )
    proba = pipeline.predict_proba(table)
    two = proba.shape[1] == 2
    k = np.ones(n, dtype=np.intp) if two else proba.argmax(axis=1)
    base, contributions, stderr = np.zeros(n), np.zeros((n, len(names))), np.zeros((n, len(names)))
    # One class at a time: each estimate scores one class's probability for all its rows.
    for index in np.unique(k):
        chosen = np.flatnonzero(k == index)
        rows = {name: column[chosen] for name, column in table.items()}

        def score(t: dict[str, np.ndarray], index: int = int(index)) -> np.ndarray:
            return pipeline.predict_proba(t)[:, index]

        base[chosen], contributions[chosen], stderr[chosen] = sampling_shapley(
            score, rows, background, names
        )
    return _answer(
        served,
        model,
        SAMPLING_SHAPLEY,
        PROBABILITY,
        base,
        contributions,
        None if two else k,
        stderr,
    )


def reasons(explanations: dict[str, Any], k: int = 3) -> list[list[str]]:
    """Per row, its k largest contributions by size, as "column (+0.123)" (fewer columns
    moved the output: "" for the rest), for batch CSV's reason_1..reason_k columns."""
    found = []
    for row in explanations["rows"]:
        ranked = sorted(row["contributions"].items(), key=lambda item: -abs(item[1]))
        words = [f"{column} ({_signed(value)})" for column, value in ranked[:k] if value != 0]
        found.append(words + [""] * (k - len(words)))
    return found


def _signed(value: float) -> str:
    return f"{value:+.3g}" if abs(value) < 1000 else f"{value:+,.0f}"
