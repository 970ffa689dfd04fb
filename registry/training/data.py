"""The training data: the version's dataset read once, its target cleaned, and the
holdout split."""

from __future__ import annotations

from typing import Any

import numpy as np

from numpyml.model_selection import train_test_split
from registry import csvio
from registry.algorithms import ALGORITHMS, CLASSIFIER
from registry.models import Dataset, ModelVersion


class TrainingError(Exception):
    """A failure explained in words a person can act on."""


def _target(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == CLASSIFIER and values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)  # whole-number class labels stay integers
    return values


def _present(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    return np.array([v is not None for v in values], dtype=bool)


def load_training_data(
    version: ModelVersion,
) -> tuple[dict[str, np.ndarray], np.ndarray | None, int, list[dict[str, Any]]]:
    """The feature table and target of the version's dataset (rows without a target
    dropped), how many rows were dropped, and the dataset's schema.

    Everything the training needs from the dataset is read here, once: the dataset may be
    deleted while the model fits, and the training then finishes from this copy.
    """
    when = "during training" if version.attempts > 1 else "before training started"
    return load_data(
        version,
        ALGORITHMS[version.algorithm].kind,
        deleted=f"The dataset was deleted {when}; train a new version on another dataset.",
    )


def load_data(
    source: Any, kind: str, *, deleted: str
) -> tuple[dict[str, np.ndarray], np.ndarray | None, int, list[dict[str, Any]]]:
    """load_training_data for anything that names a dataset, its sha256, features and
    target as a version does (a leaderboard too); `deleted` is the message for a dataset
    gone meanwhile."""
    dataset = (
        Dataset.objects.filter(pk=source.dataset_id)
        .only("csv", "sha256", "schema", "options")
        .first()
    )
    if dataset is None:
        raise TrainingError(deleted)
    schema = dataset.schema
    data = bytes(dataset.csv)
    if csvio.sha256_hex(data) != source.dataset_sha256:
        raise TrainingError("The dataset changed since this training was queued.")
    try:
        table = csvio.parse_csv(data, max_rows=10**9, options=dataset.options)
    except csvio.CSVError as exc:
        raise TrainingError(f"The dataset can no longer be read: {exc}") from None
    X = {f["name"]: table.data[f["name"]] for f in source.features}
    if not source.target:
        return X, None, 0, schema
    y = table.data[source.target]
    keep = _present(y)
    dropped = int((~keep).sum())
    if dropped:
        X = {name: column[keep] for name, column in X.items()}
        y = y[keep]
    if y.size < 4:
        raise TrainingError(f"Only {y.size} rows have a value for the target {source.target!r}.")
    return X, _target(y, kind), dropped, schema


def split(
    X: dict[str, np.ndarray], y: np.ndarray | None, kind: str, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    n = len(next(iter(X.values())))
    index = np.arange(n)
    stratify = None
    if kind == CLASSIFIER:
        _, counts = np.unique(y.astype(str) if y.dtype == object else y, return_counts=True)
        if counts.min() >= 2 and round(n * test_size) >= counts.size:
            stratify = y
    train, test = train_test_split(index, test_size=test_size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test), stratify is not None


def take(X: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[rows] for name, column in X.items()}
