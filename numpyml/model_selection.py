"""Splitting data into training and test parts (scikit-learn's train_test_split), and into
cross-validation folds (its KFold and StratifiedKFold)."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from numpyml.validation import check_random_state, column_or_1d, is_table, table_columns

__all__ = ["KFold", "StratifiedKFold", "train_test_split"]


def _n_samples(array: Any) -> int:
    if is_table(array):
        names = table_columns(array)
        if not names:
            raise ValueError("A table passed to train_test_split has no columns.")
        lengths = {len(array[name]) for name in names}
        if len(lengths) != 1:
            raise ValueError(f"Columns of a table have different lengths: {sorted(lengths)}.")
        return lengths.pop()
    if hasattr(array, "shape") and len(array.shape) > 0:
        return int(array.shape[0])
    if isinstance(array, (str, bytes)) or not hasattr(array, "__len__"):
        raise TypeError(
            f"train_test_split expects arrays, lists or tables, got {type(array).__name__}."
        )
    return len(array)


def _take(array: Any, indices: np.ndarray) -> Any:
    """Rows `indices` of an array, list or table, keeping its type."""
    if isinstance(array, Mapping):
        return {name: _take_column(array[name], indices) for name in array}
    if is_table(array):  # a DataFrame-like object
        return array.iloc[indices]
    if isinstance(array, (list, tuple)):
        return [array[i] for i in indices.tolist()]
    return np.asarray(array)[indices]


def _take_column(column: Any, indices: np.ndarray) -> Any:
    if isinstance(column, list):
        return [column[i] for i in indices.tolist()]
    if hasattr(column, "iloc"):
        return column.iloc[indices]
    return np.asarray(column)[indices]


def _check_size(value: Any, name: str, n_samples: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an int, a float or None, got {value!r}.")
    if isinstance(value, numbers.Integral):
        if not 0 < value < n_samples:
            raise ValueError(
                f"{name}={value} should be either positive and smaller than the number of "
                f"samples {n_samples} or a float in the (0, 1) range."
            )
    elif not 0 < value < 1:
        raise ValueError(
            f"{name}={value} should be a float in the (0, 1) range or an int smaller than "
            f"the number of samples {n_samples}."
        )


def _split_sizes(n_samples: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    """(n_train, n_test) exactly as scikit-learn computes them."""
    if test_size is None and train_size is None:
        test_size = 0.25
    _check_size(test_size, "test_size", n_samples)
    _check_size(train_size, "train_size", n_samples)
    fractions = [s for s in (test_size, train_size) if isinstance(s, float)]
    if len(fractions) == 2 and sum(fractions) > 1:
        raise ValueError(
            f"The sum of test_size and train_size = {sum(fractions)}, should be in the "
            "(0, 1) range. Reduce test_size and/or train_size."
        )
    if isinstance(test_size, float):
        n_test = math.ceil(test_size * n_samples)
    elif test_size is not None:
        n_test = int(test_size)
    if isinstance(train_size, float):
        n_train = math.floor(train_size * n_samples)
    elif train_size is not None:
        n_train = int(train_size)
    if train_size is None:
        n_train = n_samples - n_test
    elif test_size is None:
        n_test = n_samples - n_train
    if n_train + n_test > n_samples:
        raise ValueError(
            f"The sum of train_size and test_size = {n_train + n_test}, should be smaller "
            f"than the number of samples {n_samples}. Reduce test_size and/or train_size."
        )
    if n_train == 0 or n_test == 0:
        part = "train" if n_train == 0 else "test"
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size={train_size}, "
            f"the resulting {part} set will be empty. Adjust any of the aforementioned "
            "parameters."
        )
    return n_train, n_test


def _allocate(counts: np.ndarray, total: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Split `total` draws across classes proportionally to `counts`, within [low, high]."""
    ideal = counts * (total / counts.sum())
    alloc = np.clip(np.floor(ideal).astype(np.int64), low, high)
    # Hand out (or take back) one draw at a time where the shortfall is largest.
    while alloc.sum() < total:
        gap = np.where(alloc < high, ideal - alloc, -np.inf)
        alloc[np.argmax(gap)] += 1
    while alloc.sum() > total:
        gap = np.where(alloc > low, ideal - alloc, np.inf)
        alloc[np.argmin(gap)] -= 1
    return alloc


def _stratified_indices(
    stratify: Any, n_samples: int, n_train: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    labels = column_or_1d(stratify, what="stratify")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"stratify has {labels.shape[0]} labels but the arrays have {n_samples} samples."
        )
    try:
        classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError:
        raise ValueError("stratify mixes label types that cannot be ordered.") from None
    codes = codes.reshape(-1)
    if counts.min() < 2:
        lonely = classes[counts < 2].tolist()[:5]
        raise ValueError(
            f"The least populated class in y has only 1 member (class {lonely}), which is "
            "too few: every class needs at least 2 members to appear in both the train and "
            "the test part. Drop or merge such classes, or split without stratify."
        )
    n_classes = classes.shape[0]
    for size, part in ((n_test, "test"), (n_train, "train")):
        if size < n_classes:
            raise ValueError(
                f"The {part}_size = {size} should be greater or equal to the number of "
                f"classes = {n_classes}."
            )
    ones = np.ones(n_classes, dtype=np.int64)
    test_counts = _allocate(counts, n_test, ones, counts - 1)
    train_counts = _allocate(counts, n_train, ones, counts - test_counts)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    train, test = [], []
    for k in range(n_classes):
        members = rng.permutation(order[starts[k] : starts[k] + counts[k]])
        test.append(members[: test_counts[k]])
        train.append(members[test_counts[k] : test_counts[k] + train_counts[k]])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def train_test_split(
    *arrays: Any,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    random_state: Any = None,
    shuffle: bool = True,
    stratify: Any = None,
) -> list[Any]:
    """Split arrays, lists or tables into random train and test parts.

    Parameters
    ----------
    *arrays : sequence of arrays, lists or tables
        Same number of rows each; a table (mapping of column -> values) is split
        column by column and returned as a dict.
    test_size : float or int, default=None
        Fraction (0, 1) or number of test samples; None means 0.25 when train_size is
        also None, else the complement of train_size.
    train_size : float or int, default=None
        Fraction or number of training samples; None means the complement of test_size.
    random_state : None, int or numpy Generator, default=None
        Seed of the shuffle.
    shuffle : bool, default=True
        Shuffle before splitting; False takes the first rows for training.
    stratify : array-like of shape (n_samples,), default=None
        Class labels whose proportions both parts keep; every class then appears in
        both parts (a class with a single member is refused).

    Returns
    -------
    list
        ``[a_train, a_test, b_train, b_test, ...]``, each of its input's type.

    Notes
    -----
    Sizes follow scikit-learn: n_test = ceil(test_size n), n_train = floor(train_size
    n). Stratified counts per class are proportional to the class sizes (largest
    remainders first), kept within [1, count - 1] for the test part. The random
    permutation comes from numpy's Generator, so the rows chosen differ from
    scikit-learn's for the same seed.
    """
    if not arrays:
        raise ValueError("At least one array required as input.")
    lengths = [_n_samples(array) for array in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}.")
    n_samples = lengths[0]
    n_train, n_test = _split_sizes(n_samples, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ValueError("Stratified train/test split is not implemented for shuffle=False.")
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        rng = check_random_state(random_state)
        if stratify is not None:
            train, test = _stratified_indices(stratify, n_samples, n_train, n_test, rng)
        else:
            permutation = rng.permutation(n_samples)
            test, train = permutation[:n_test], permutation[n_test : n_test + n_train]
    out: list[Any] = []
    for array in arrays:
        out.extend((_take(array, train), _take(array, test)))
    return out


class KFold:
    """K consecutive folds, each the test part once (scikit-learn's KFold).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Shuffle the rows before cutting them into folds.
    random_state : None, int or numpy Generator, default=None
        Seed of the shuffle; only with shuffle=True.

    Notes
    -----
    The first ``n_samples % n_splits`` folds have ``n_samples // n_splits + 1`` rows, the
    others ``n_samples // n_splits``. Both parts of a split are in ascending row order.
    Unshuffled folds are scikit-learn's; shuffled ones come from numpy's Generator, so
    the rows differ from scikit-learn's for the same seed.
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def _check(self) -> None:
        if isinstance(self.n_splits, bool) or not isinstance(self.n_splits, numbers.Integral):
            raise TypeError(f"n_splits must be an integer, got {self.n_splits!r}.")
        if self.n_splits < 2:
            raise ValueError(
                f"k-fold cross-validation requires at least 2 folds (n_splits={self.n_splits})."
            )
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {self.shuffle!r}.")
        if not self.shuffle and self.random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False: leave it None, "
                "or set shuffle=True."
            )

    def _test_folds(self, n_samples: int, y: Any) -> np.ndarray:
        """The fold of each row."""
        order = np.arange(n_samples)
        if self.shuffle:
            check_random_state(self.random_state).shuffle(order)
        sizes = np.full(self.n_splits, n_samples // self.n_splits, dtype=np.int64)
        sizes[: n_samples % self.n_splits] += 1
        folds = np.empty(n_samples, dtype=np.int64)
        folds[order] = np.repeat(np.arange(self.n_splits), sizes)
        return folds

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Any, Any]]:
        """Yield (train rows, test rows) for each fold, as index arrays."""
        self._check()
        n_samples = _n_samples(X)
        if self.n_splits > n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of samples: n_samples={n_samples}."
            )
        folds = self._test_folds(n_samples, y)
        rows = np.arange(n_samples)
        for fold in range(self.n_splits):
            test = folds == fold
            yield rows[~test], rows[test]


class StratifiedKFold(KFold):
    """K folds keeping each class's share of rows in every fold (scikit-learn's
    StratifiedKFold).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2, and at most the size of the largest class.
    shuffle : bool, default=False
        Shuffle each class's rows before giving them their folds.
    random_state : None, int or numpy Generator, default=None
        Seed of the shuffle; only with shuffle=True.

    Notes
    -----
    As scikit-learn's: classes are numbered in order of first appearance, the rows sorted
    by class are dealt to the folds in turn (so each fold's count of a class differs from
    another's by at most one), and each class's share of fold numbers is assigned to its
    rows in order, or shuffled. A class with fewer rows than folds is missing from some test
    parts (a UserWarning says so).
    """

    def _test_folds(self, n_samples: int, y: Any) -> np.ndarray:
        if y is None:
            raise ValueError("StratifiedKFold needs the class labels y to split by.")
        labels = column_or_1d(y)
        if labels.shape[0] != n_samples:
            raise ValueError(f"y has {labels.shape[0]} labels but X has {n_samples} samples.")
        try:
            _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
        except TypeError:
            raise ValueError("y mixes label types that cannot be ordered.") from None
        _, by_appearance = np.unique(first, return_inverse=True)
        codes = by_appearance[inverse.reshape(-1)]
        n_classes = first.size
        counts = np.bincount(codes, minlength=n_classes)
        if np.all(self.n_splits > counts):
            raise ValueError(
                f"n_splits={self.n_splits} cannot be greater than the number of members in "
                "each class."
            )
        if self.n_splits > counts.min():
            warnings.warn(
                f"The least populated class in y has only {counts.min()} members, which is "
                f"less than n_splits={self.n_splits}.",
                UserWarning,
                stacklevel=3,
            )
        dealt = np.sort(codes)
        allocation = np.asarray(
            [
                np.bincount(dealt[i :: self.n_splits], minlength=n_classes)
                for i in range(self.n_splits)
            ]
        )
        rng = check_random_state(self.random_state) if self.shuffle else None
        folds = np.empty(n_samples, dtype=np.int64)
        for k in range(n_classes):
            of_class = np.repeat(np.arange(self.n_splits), allocation[:, k])
            if rng is not None:
                rng.shuffle(of_class)
            folds[codes == k] = of_class
        return folds
