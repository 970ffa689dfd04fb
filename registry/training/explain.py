"""numpyml's errors in the user's words. numpyml speaks to programmers (`n_samples=3 should
be >= n_clusters=8`, `column 2 has -1.0`); a failed version's page speaks to the person who
trained it, so each error a training can meet is rewritten here, the raw text going to the
log. An error not known here gets a general sentence, never numpyml's own."""

from __future__ import annotations

import re
from collections.abc import Callable

from registry.algorithms import Algorithm

Rewrite = Callable[[re.Match[str], list[str]], str]


def _column(labels: list[str], index: str) -> str:
    """The user's name of the estimator's column `index` (as numpyml counts them)."""
    position = int(index)
    return repr(labels[position]) if 0 <= position < len(labels) else "a feature"


_RULES: list[tuple[re.Pattern[str], Rewrite]] = [
    (
        re.compile(r"n_samples=(\d+) should be >= n_clusters=(\d+)"),
        lambda m, _: (
            f"The training part of the data has {m[1]} rows, fewer than the {m[2]} clusters "
            f"asked for: set n_clusters to at most {m[1]}, or use more rows."
        ),
    ),
    (
        re.compile(r"n_neighbors=(\d+) is larger than the (\d+) training samples"),
        lambda m, _: (
            f"n_neighbors is {m[1]}, but the training part of the data has only {m[2]} rows: "
            f"set n_neighbors to at most {m[2]}, or use more rows."
        ),
    ),
    (
        re.compile(r"n_components=(\S+) must be between 0 and min\(n_samples, n_features\)=(\d+)"),
        lambda m, _: (
            f"n_components is {m[1]}, but this data has room for at most {m[2]} components "
            "(the fewer of its training rows and its feature columns, each category counting "
            "as a column): lower n_components."
        ),
    ),
    (
        re.compile(r"got n_samples=(\d+) < n_components=(\d+)"),
        lambda m, _: (
            f"The training part of the data has {m[1]} rows, fewer than the {m[2]} "
            "components asked for: lower n_components, or use more rows."
        ),
    ),
    (
        re.compile(r"ill-defined empirical covariance"),
        lambda m, _: (
            "Some mixture components collapsed onto a few identical rows, so their spread "
            "cannot be measured: use fewer components (n_components), a larger reg_covar, "
            "or drop duplicated rows."
        ),
    ),
    (
        re.compile(r"needs at least 2 classes in y, got only 1 class: \[(.*)\]"),
        lambda m, _: (
            f"The training rows hold one class of the target only ({m[1]}): a classifier "
            "needs at least two. Pick another target, or use more rows."
        ),
    ),
    (
        re.compile(r"non-negative counts; column (\d+) has (\S+) "),
        lambda m, labels: (
            f"Multinomial naive Bayes learns from counts, but {_column(labels, m[1])} has a "
            f"negative value ({m[2].rstrip('.')}): leave that feature out, or use Gaussian "
            "naive Bayes for signed numbers."
        ),
    ),
    (
        re.compile(r"Feature (\d+) is constant within class (.+?) and var_smoothing"),
        lambda m, labels: (
            f"{_column(labels, m[1]).capitalize()} has the same value in every row of class "
            f"{m[2]}, and var_smoothing 0 adds no spread: set var_smoothing above 0."
        ),
    ),
    (
        re.compile(r"feature (\d+) never occurs in class (.+?): "),
        lambda m, labels: (
            f"{_column(labels, m[1]).capitalize()} is never present in class {m[2]}, and "
            "alpha 0 gives that a probability of zero: set alpha above 0."
        ),
    ),
    (
        re.compile(r"overflow|too large for float64"),
        lambda m, _: (
            "Some values are too large to compute with: rescale the large numeric columns "
            "(for example to thousands) or leave them out."
        ),
    ),
]


def plain_words(exc: BaseException, algorithm: Algorithm, labels: list[str]) -> str:
    """What to tell the person whose training failed with `exc` inside numpyml.

    `labels` names the estimator's columns (pipeline.encoded_labels), for errors that
    count them by position.
    """
    text = str(exc)
    for pattern, rewrite in _RULES:
        match = pattern.search(text)
        if match:
            return rewrite(match, labels)
    return (
        f"{algorithm.label} could not be trained on this data. Try other hyperparameters or "
        "another algorithm; the server log has the details."
    )
