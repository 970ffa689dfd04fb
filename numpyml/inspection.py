"""Model inspection: permutation feature importance, as scikit-learn's
`sklearn.inspection.permutation_importance` computes it.

A feature's importance is how much the estimator's score drops when that feature's values
are shuffled among the rows, breaking its link with the target. The estimator is not
refitted, so any fitted estimator (a whole Pipeline too) can be inspected, on any rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numpyml import metrics as M
from numpyml.pipeline import _Bunch
from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import check_random_state

Scorer = Callable[[Any, Any, Any], float]


def _error_scorer(metric: Callable[..., float]) -> Scorer:
    # Scorers are "greater is better", as scikit-learn's neg_* scorers are.
    return lambda estimator, X, y: -metric(y, estimator.predict(X))


def _predict_scorer(metric: Callable[..., float]) -> Scorer:
    return lambda estimator, X, y: metric(y, estimator.predict(X))


_SCORERS: dict[str, Scorer] = {
    "accuracy": _predict_scorer(M.accuracy_score),
    "f1_macro": _predict_scorer(lambda t, p: M.f1_score(t, p, average="macro", zero_division=0)),
    "r2": _predict_scorer(M.r2_score),
    "neg_mean_squared_error": _error_scorer(M.mean_squared_error),
    "neg_root_mean_squared_error": _error_scorer(M.root_mean_squared_error),
    "neg_mean_absolute_error": _error_scorer(M.mean_absolute_error),
}


def _scorer(estimator: Any, scoring: str | Scorer | None) -> Scorer:
    if scoring is None:
        if not hasattr(estimator, "score"):
            raise TypeError(f"{type(estimator).__name__} has no score method: pass scoring.")
        return lambda est, X, y: est.score(X, y)
    if callable(scoring):
        return scoring
    if scoring not in _SCORERS:
        raise ValueError(f"scoring={scoring!r} is not known; use one of {sorted(_SCORERS)}.")
    return _SCORERS[scoring]


def _columns(X: Any) -> tuple[list[Any], int]:
    """The feature keys of X (dict keys, or column positions of a 2-D array) and its rows."""
    if isinstance(X, dict):
        keys = list(X)
        lengths = {len(X[k]) for k in keys}
        if len(lengths) != 1:
            raise ValueError("every column of X must have the same number of rows.")
        return keys, lengths.pop()
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D or a dict of columns, got {X.ndim} dimension(s).")
    return list(range(X.shape[1])), X.shape[0]


def _copy(X: Any) -> Any:
    # A dict's shuffled column is a new array put in its place: the caller's stay untouched.
    return dict(X) if isinstance(X, dict) else np.array(X, copy=True)


def _set_column(X: Any, key: Any, values: np.ndarray) -> None:
    if isinstance(X, dict):
        X[key] = values
    else:
        X[:, key] = values


def _get_column(X: Any, key: Any) -> np.ndarray:
    return X[key] if isinstance(X, dict) else X[:, key]


def permutation_importance(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    scoring: str | Scorer | None = None,
    n_repeats: int = 5,
    random_state: int | np.random.Generator | None = None,
    callback: ProgressCallback | None = None,
) -> _Bunch:
    """Permutation importance of each feature of X for a fitted estimator.

    Parameters
    ----------
    estimator : fitted estimator
        Anything with ``predict`` (and ``score`` when ``scoring`` is None).
    X : 2-D array or dict of equal-length columns
        The rows to score on (a held-out set, ideally). A dict is what a Pipeline whose
        first step selects columns by name takes; each key is then one feature.
    y : array
        The targets of X's rows.
    scoring : None, str or callable, default=None
        None uses ``estimator.score``; a name from accuracy, f1_macro, r2,
        neg_mean_squared_error, neg_root_mean_squared_error, neg_mean_absolute_error; or a
        callable ``scorer(estimator, X, y)`` where greater is better.
    n_repeats : int, default=5
        How many times each feature is shuffled.
    random_state : int, numpy Generator or None, default=None
        Seeds the shuffles. As in scikit-learn, one seed is drawn from it and every feature
        is shuffled with the same sequence of row permutations.
    callback : callable, default=None
        Called as each part is done (numpyml.progress.ProgressCallback, with no loss): the
        baseline score, then each shuffle of each feature.

    Returns
    -------
    Bunch with ``importances_mean`` and ``importances_std`` (n_features,) and
    ``importances`` (n_features, n_repeats): the baseline score minus the shuffled scores.
    """
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)):
        raise TypeError(f"n_repeats must be an int, got {type(n_repeats).__name__}.")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be >= 1, got {n_repeats}.")
    if not isinstance(X, dict):
        X = np.asarray(X)
    scorer = _scorer(estimator, scoring)
    seed = int(check_random_state(random_state).integers(np.iinfo(np.int32).max))
    keys, n_rows = _columns(X)
    progress = Progress(callback, 1 + len(keys) * n_repeats)
    baseline = scorer(estimator, X, y)
    progress.part(1)
    importances = np.empty((len(keys), n_repeats))
    for index, key in enumerate(keys):
        rng = np.random.default_rng(seed)
        shuffled = _copy(X)
        original = _get_column(X, key)
        for repeat in range(n_repeats):
            _set_column(shuffled, key, original[rng.permutation(n_rows)])
            importances[index, repeat] = baseline - scorer(estimator, shuffled, y)
            progress.part(2 + index * n_repeats + repeat)
    return _Bunch(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances=importances,
    )
