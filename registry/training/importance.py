"""Permutation importance of a supervised version, by the user's own columns: each column
is shuffled among the holdout rows before the preprocessing, so a category's one-hot parts
move together and count as that one column. Computed once at training, with the version's
seed, on a bounded number of rows and repeats: its cost stays a few dozen predictions of a
few thousand rows per column."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from numpyml.inspection import permutation_importance
from numpyml.pipeline import Pipeline
from numpyml.progress import ProgressCallback
from registry.algorithms import CLASSIFIER, REGRESSOR
from registry.training.data import take

logger = logging.getLogger(__name__)

MAX_ROWS = 2000  # holdout rows shuffled at most (a sample of them beyond this)
REPEATS = 5  # shuffles per column
MIN_ROWS = 200  # fewer make the estimate too coarse to rank columns
SCORING = {CLASSIFIER: "accuracy", REGRESSOR: "r2"}
SCORE_WORDS = {"accuracy": "accuracy", "r2": "R²"}


def measure(
    kind: str,
    pipeline: Pipeline,
    X_test: dict,
    y_test: np.ndarray | None,
    seed: int,
    *,
    keeps_every_row: bool = False,
    callback: ProgressCallback | None = None,
) -> dict[str, Any] | None:
    """The metrics entry `permutation_importance` (columns sorted, most important first), or
    None for a kind without a target or a holdout too small to shuffle. A version without
    it still serves: a failure here is logged, not fatal.

    A model that `keeps_every_row` (k-NN) compares each scored row with every training row:
    its rows are bounded further, so that the shuffles cost about twice the holdout's own
    scoring, which it paid already. `callback` hears of each shuffle scored (numpyml's
    ProgressCallback: the training child beats on it)."""
    if kind not in SCORING or y_test is None or len(y_test) < 2:
        return None
    n = len(y_test)
    limit = MAX_ROWS
    if keeps_every_row:
        limit = min(limit, max(MIN_ROWS, 2 * n // (len(X_test) * REPEATS)))
    rows = np.arange(n)
    if n > limit:
        rows = np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
    try:
        found = permutation_importance(
            pipeline,
            take(X_test, rows),
            y_test[rows],
            scoring=SCORING[kind],
            n_repeats=REPEATS,
            random_state=seed,
            callback=callback,
        )
    except Exception:
        logger.exception("the permutation importance could not be computed")
        return None
    features = [
        {"name": str(name), "mean": float(mean), "std": float(std)}
        for name, mean, std in zip(
            X_test, found.importances_mean, found.importances_std, strict=True
        )
    ]
    features.sort(key=lambda f: -f["mean"])  # stable: ties keep the columns' order
    return {
        "scoring": SCORING[kind],
        "n_repeats": REPEATS,
        "n_rows": int(rows.size),
        "features": features,
    }


def plot(found: dict[str, Any]) -> str:
    from registry.training import plots

    names = [f["name"] for f in found["features"]]
    means = np.array([f["mean"] for f in found["features"]])
    return plots.feature_importances(
        names,
        means,
        title="Permutation importance (test rows)",
        xlabel=f"drop in {SCORE_WORDS.get(found['scoring'], found['scoring'])} when shuffled",
    )
