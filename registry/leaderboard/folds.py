"""The folds of a leaderboard: stratified for a classifier (each fold keeps the classes'
shares), plain k-fold for a regressor, both shuffled with the board's seed, so the same
seed and data give the same folds on any worker."""

from __future__ import annotations

import warnings

import numpy as np

from numpyml.model_selection import KFold, StratifiedKFold
from registry.algorithms import CLASSIFIER
from registry.jsonsafe import label
from registry.training.data import TrainingError

Folds = list[tuple[np.ndarray, np.ndarray]]


def _codes(y: np.ndarray) -> np.ndarray:
    """Labels numpy can sort: mixed Python values (an object column) compared as text."""
    return y.astype(str) if y.dtype == object else y


def make_folds(y: np.ndarray, task: str, n_folds: int, seed: int) -> Folds:
    """[(training rows, held-out rows), ...], each in ascending row order."""
    if y.size < n_folds:
        raise TrainingError(f"Only {y.size} rows have a target value: too few for {n_folds} folds.")
    rows = np.zeros((y.size, 1))
    if task == CLASSIFIER:
        codes = _codes(y)
        counts = np.unique(codes, return_counts=True)[1]
        if counts.max() >= n_folds:
            splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
            with warnings.catch_warnings():
                # A class with fewer rows than folds: missing_classes says what follows.
                warnings.simplefilter("ignore", UserWarning)
                return list(splitter.split(rows, codes))
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(rows))


def missing_classes(y: np.ndarray, folds: Folds) -> str:
    """A sentence about a class that some fold's training part lacks entirely (a model
    could never predict it there), or "". Of several, the one with the fewest rows: the
    cause (a class too small for the folds can also push others' rows into one fold)."""
    codes = _codes(y)
    absent = set()
    for train, _ in folds:
        absent.update(np.setdiff1d(codes, codes[train]).tolist())
    if not absent:
        return ""
    counts = {code: int((codes == code).sum()) for code in absent}
    code = min(sorted(absent), key=counts.__getitem__)
    value, count = y[np.flatnonzero(codes == code)[0]], counts[code]
    rows = "row" if count == 1 else "rows"
    return (
        f"The class {label(value)!r} has only {count} {rows}: too few for "
        f"{len(folds)}-fold cross-validation (a fold would have to learn it from "
        "none); drop or merge its rows, or use fewer folds."
    )
